import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
var EXIT_OK=0,EXIT_FAILURE=1,EXIT_USAGE=2,UsageError=class extends Error{name="UsageError"};export{EXIT_OK,EXIT_FAILURE,EXIT_USAGE,UsageError};
