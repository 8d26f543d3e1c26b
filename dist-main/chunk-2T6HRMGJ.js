import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
var LOG_FORMATS=["auto","json","text"],LOG_LEVELS=["trace","debug","info","warn","error","fatal","silent"];export{LOG_FORMATS,LOG_LEVELS};
