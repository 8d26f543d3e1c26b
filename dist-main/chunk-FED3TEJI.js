import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import{connect,serviceOptions}from"./chunk-QSLRM6WY.js";import"./chunk-U5QDS6LM.js";import"./chunk-6R3TP3BM.js";export{connect,serviceOptions};
