import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import{deployerStep,loadDeployStep,resultsOf}from"./chunk-HZD6INSX.js";import"./chunk-FIY3FLLB.js";import"./chunk-SASP4MD2.js";import"./chunk-6X4KRHG5.js";import"./chunk-K4HYDCGT.js";import"./chunk-6R3TP3BM.js";export{deployerStep,loadDeployStep,resultsOf};
