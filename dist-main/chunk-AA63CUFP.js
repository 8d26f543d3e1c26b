import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import{KitfedError}from"./chunk-77YBMRB4.js";var ConfigError=class extends KitfedError{name="ConfigError";constructor(file,problems){super(`invalid configuration ${file}:
  ${problems.join(`
  `)}`,400,"BadRequest")}};export{ConfigError};
