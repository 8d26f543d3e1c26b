import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import{require_dist}from"./chunk-OPCGMIUS.js";import"./chunk-6R3TP3BM.js";export default require_dist();
