import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import{intFlag}from"./chunk-OIDY2O6Y.js";import{connect,serviceOptions}from"./chunk-QSLRM6WY.js";import"./chunk-TRVICAHW.js";import{UsageError}from"./chunk-U5QDS6LM.js";import"./chunk-6R3TP3BM.js";function register(program){serviceOptions(program.command("runs").description("List pipeline runs of a running `kitfed webhooks` (newest first), or show one run per cluster").argument("[run]","a run id: that run, cluster by cluster")).option("-o, --output <format>","table or json","table").option("--limit <n>","at most this many runs","20").addHelpText("after",`
Examples:
  kitfed runs --config webhooks.yaml
  kitfed runs 2 --config webhooks.yaml
  kitfed runs --url http://127.0.0.1:8090 --token-file .kitfed/webhooks-token -o json
`).action(async(run,opts)=>{if(opts.output!=="table"&&opts.output!=="json")throw new UsageError(`--output must be table or json, got ${opts.output}`);let limit=intFlag("--limit",opts.limit,1);if(run!==void 0&&!/^\d+$/.test(run))throw new UsageError(`run must be a run id (got ${JSON.stringify(run)})`);let client=await connect(opts),{formatRuns}=await import("./chunk-L7L34PAI.js");if(run===void 0){let runs=await client.listRuns(limit);process.stdout.write(opts.output==="json"?`${JSON.stringify(runs,null,2)}
`:`${formatRuns(runs)}
`);return}let record=await client.getRun(Number(run));if(opts.output==="json")return void process.stdout.write(`${JSON.stringify(record,null,2)}
`);let{printTable}=await import("./chunk-ERH6ICZR.js");process.stdout.write(`${formatRuns([record])}

`),printTable(["CLUSTER","RENDER","DEPLOY","FILES","CHANGED","DURATION","ERROR"],record.clusters.map(c=>[c.cluster,c.render,c.deploy,c.files===void 0?"-":String(c.files),c.changed===void 0?"-":c.changed?"yes":"no",c.durationMs===void 0?"-":`${(c.durationMs/1e3).toFixed(2)}s`,(c.error??"").split(`
`)[0]??""]))})}export{register};
