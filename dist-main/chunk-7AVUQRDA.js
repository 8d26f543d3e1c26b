import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import{runUntilSignal}from"./chunk-Z2ELXE7I.js";import"./chunk-6R3TP3BM.js";export{runUntilSignal};
