import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import{KitfedError,errors,hasCode,messageOf}from"./chunk-77YBMRB4.js";import"./chunk-6R3TP3BM.js";export{KitfedError,errors,hasCode,messageOf};
