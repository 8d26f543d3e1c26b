import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import{complete,completeWith,kindNames,namesOfKind,printCompletion}from"./chunk-LVLPT5AR.js";import"./chunk-OXQST6AY.js";import"./chunk-U5QDS6LM.js";import"./chunk-2T6HRMGJ.js";import"./chunk-6R3TP3BM.js";export{complete,completeWith,kindNames,namesOfKind,printCompletion};
