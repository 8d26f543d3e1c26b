import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import"./chunk-6R3TP3BM.js";import{readSync}from"node:fs";async function readStdin(){let chunks=[],buf=Buffer.allocUnsafe(65536);try{for(let n;(n=readSync(0,buf))>0;)chunks.push(Buffer.from(buf.subarray(0,n)))}catch(err){if(err.code!=="EAGAIN")throw err;for await(let chunk of process.stdin)chunks.push(chunk)}return Buffer.concat(chunks).toString("utf8")}function register(program){program.command("plan").description("Spread replicas over clusters exactly as Federation v1 does: JSON request(s) on stdin, plan(s) on stdout").addHelpText("after",`
Input (stdin): one object, or an array of them:
  {"preferences": {"rebalance": false, "clusters": {"*": {"weight": 1}}},
   "totalReplicas": 50, "clusters": ["eu-1", "us-1"],
   "currentReplicas": {"eu-1": 10}, "estimatedCapacity": {"us-1": 20}, "key": "ns/name"}
  currentReplicas, estimatedCapacity and key are optional; preferences may also be the annotation text.
Output (stdout): {"plan": {...}, "overflow": {...}} (or an array, in input order).

Examples:
  echo '{"preferences":{"clusters":{"*":{"weight":1}}},"totalReplicas":5,"clusters":["a","b"],"key":"ns/web"}' | kitfed plan
`).action(async()=>{let[{UsageError},{KitfedError,hasCode},{decodePlanRequests,plan}]=await Promise.all([import("./chunk-E35HJBD2.js"),import("./chunk-MFB2QUKP.js"),import("./chunk-RKJBVHCQ.js")]);try{let{single,inputs}=decodePlanRequests(await readStdin()),results=inputs.map((input,i)=>{try{return plan(input)}catch(err){throw err instanceof KitfedError&&!single?new KitfedError(`[${i}].${err.message}`,err.code,err.reason,err.details):err}});process.stdout.write(`${JSON.stringify(single?results[0]:results)}
`)}catch(err){throw hasCode(err,400)?new UsageError(err.message):err}})}export{register};
