import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import{intFlag}from"./chunk-OIDY2O6Y.js";import"./chunk-TRVICAHW.js";import"./chunk-U5QDS6LM.js";import"./chunk-6R3TP3BM.js";function register(program){program.command("up").description("Bring up the embedded default: federation API server, controllers, sandbox member clusters, webhooks, a local manifests repo, then an initial render + deploy").option("--data-dir <dir>","state directory (SQLite, PKI, kubeconfig, manifests repo, webhook queue)",".kitfed").option("--port-base <port>","federation API port; members use the next ports, webhooks +90 (0: free ports)","6443").option("--clusters <n>","number of sandbox member clusters","3").option("--ready-delay <ms>","simulated pod start-up time","500").addHelpText("after",`
Examples:
  kitfed up
  kitfed up --clusters 5 --data-dir /tmp/kf --port-base 17000
`).action(async flags=>{let opts={dataDir:flags.dataDir,portBase:intFlag("--port-base",flags.portBase,0,65e3),clusters:intFlag("--clusters",flags.clusters,1,100),readyDelayMs:intFlag("--ready-delay",flags.readyDelay,0,6e5)},{startEmbedded,summary}=await import("./chunk-ULAMH4L6.js"),embedded=await startEmbedded(opts);process.stdout.write(`${summary(embedded)}
`);let{runUntilSignal}=await import("./chunk-7AVUQRDA.js"),{createLogger}=await import("./chunk-7QC6BGXP.js");await runUntilSignal(async()=>{process.stdout.write(`stopping\u2026
`),await embedded.stop()},createLogger("up"))})}export{register};
