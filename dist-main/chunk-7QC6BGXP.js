import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import{createLogger,flushLogs,logFormat,rootLogger,textLine}from"./chunk-CIJYVZPI.js";import{LOG_FORMATS,LOG_LEVELS}from"./chunk-2T6HRMGJ.js";import"./chunk-6R3TP3BM.js";export{LOG_FORMATS,LOG_LEVELS,createLogger,flushLogs,logFormat,rootLogger,textLine};
