import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import{openStore,parseStoreUrl}from"./chunk-K5PW6YGL.js";import"./chunk-FRWBZZ7N.js";import"./chunk-XEMIE2NK.js";import"./chunk-OPCGMIUS.js";import"./chunk-CIJYVZPI.js";import"./chunk-2T6HRMGJ.js";import"./chunk-6R3TP3BM.js";export{openStore,parseStoreUrl};
