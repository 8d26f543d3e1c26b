import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import{Kubeconfig,buildKubeconfig,mergeKubeconfigs}from"./chunk-RHKSQUXG.js";import"./chunk-W4RTB5ZM.js";import"./chunk-77YBMRB4.js";import"./chunk-6R3TP3BM.js";export{Kubeconfig,buildKubeconfig,mergeKubeconfigs};
