import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import{loadConfig,parseConfig}from"./chunk-RKUQBDEQ.js";import{ConfigError}from"./chunk-AA63CUFP.js";import"./chunk-VZZKSUKD.js";import"./chunk-OPCGMIUS.js";import"./chunk-77YBMRB4.js";import"./chunk-6R3TP3BM.js";export{ConfigError,loadConfig,parseConfig};
