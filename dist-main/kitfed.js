#!/usr/bin/env node
import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import module from"node:module";module.enableCompileCache?.();var[{EXIT_FAILURE},{main}]=await Promise.all([import("./chunk-E35HJBD2.js"),import("./chunk-Z73AXPZW.js")]);process.stdout.on("error",err=>{throw err.code==="EPIPE"&&process.exit(process.exitCode??0),err});main(process.argv.slice(2)).then(code=>{process.exitCode=code},err=>{process.stderr.write(`error: ${err instanceof Error?err.message:String(err)}
`),process.exitCode=EXIT_FAILURE});
