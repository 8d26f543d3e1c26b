import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import{EXIT_FAILURE,EXIT_OK,EXIT_USAGE,UsageError}from"./chunk-U5QDS6LM.js";import"./chunk-6R3TP3BM.js";export{EXIT_FAILURE,EXIT_OK,EXIT_USAGE,UsageError};
