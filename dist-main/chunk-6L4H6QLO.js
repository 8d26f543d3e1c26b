import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import{require_cli_table3}from"./chunk-FIAJT3IO.js";import"./chunk-4AOE3EHB.js";import"./chunk-6R3TP3BM.js";export default require_cli_table3();
