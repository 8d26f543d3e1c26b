import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import{ALL_NAMESPACES,KubeClient,resourcePath}from"./chunk-4JQXE5R2.js";import"./chunk-RHKSQUXG.js";import"./chunk-W4RTB5ZM.js";import"./chunk-Y7LSE2AB.js";import"./chunk-77YBMRB4.js";import"./chunk-6R3TP3BM.js";export{ALL_NAMESPACES,KubeClient,resourcePath};
