import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import{kitfedVersion,readBuildInfo}from"./chunk-KHRLZ5Q6.js";import"./chunk-6R3TP3BM.js";export{kitfedVersion,readBuildInfo};
