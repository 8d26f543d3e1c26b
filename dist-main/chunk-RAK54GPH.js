import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import{loadConfig}from"./chunk-RKUQBDEQ.js";import"./chunk-AA63CUFP.js";import{loadDeployStep}from"./chunk-HZD6INSX.js";import{startWebhookService}from"./chunk-BR4U3ZHC.js";import"./chunk-HZ5XLQ3B.js";import"./chunk-7RQDHQA5.js";import"./chunk-FS4BFIQC.js";import"./chunk-A54UWFWH.js";import"./chunk-FRWBZZ7N.js";import"./chunk-FIY3FLLB.js";import"./chunk-SASP4MD2.js";import"./chunk-6X4KRHG5.js";import"./chunk-ML6WTTQ2.js";import{runUntilSignal}from"./chunk-Z2ELXE7I.js";import"./chunk-KJNVZ3P6.js";import"./chunk-VZZKSUKD.js";import"./chunk-TRVICAHW.js";import"./chunk-HJHHHR7S.js";import"./chunk-K4HYDCGT.js";import"./chunk-W4RTB5ZM.js";import"./chunk-Y7LSE2AB.js";import"./chunk-OPCGMIUS.js";import"./chunk-77YBMRB4.js";import{createLogger}from"./chunk-CIJYVZPI.js";import"./chunk-2T6HRMGJ.js";import"./chunk-6R3TP3BM.js";async function runWebhooks(opts){let config=loadConfig(opts.config),log=createLogger("webhooks"),deploy=await loadDeployStep(config.deploy,log,config.timeouts.deployMs),service=await startWebhookService({config,log,processMetrics:!0,...deploy?{deploy}:{}}),w=service.wiring;process.stdout.write(`kitfed webhooks listening on ${service.url}
  POST /hooks/image   ${w.image}
  POST /hooks/github  ${w.github}
  render: ${w.render}
  deploy: ${w.deploy}
  notify: ${w.notify}
  poll:   ${w.poll}
  api:    ${w.api}
  data:   ${config.dataDir}
`),log.info({url:service.url,...w,dataDir:config.dataDir},"Webhook service started"),await runUntilSignal(()=>service.close(),log,{message:"Stopping: finishing image bumps and the runs in flight"})}export{runWebhooks};
