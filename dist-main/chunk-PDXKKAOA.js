import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
function kubeTime(d=new Date){return d.toISOString().replace(/\.\d+Z$/,"Z")}function microTime(d=new Date){return d.toISOString().replace(/\.(\d{3})Z$/,".$1000Z")}export{kubeTime,microTime};
