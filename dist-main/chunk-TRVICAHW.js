import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
var UNITS={ms:1,s:1e3,m:6e4,h:36e5};function parseDuration(text,bareUnit){let m=/^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());if(m)return Math.round(Number(m[1])*UNITS[m[2]??bareUnit])}export{parseDuration};
