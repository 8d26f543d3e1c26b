import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import"./chunk-6R3TP3BM.js";function register(program){program.command("unjoin").description("Remove a member cluster from the federation").argument("<cluster>","cluster name").requiredOption("--kubeconfig <file>","kubeconfig of the federation").option("--context <name>","context of the federation","federation").option("--cleanup","first delete in the member what kitfed created there").addHelpText("after",`
Examples:
  kitfed unjoin us-east --kubeconfig .kitfed/kubeconfig
  kitfed unjoin us-east --kubeconfig .kitfed/kubeconfig --cleanup
`).action(async(name,opts)=>{let{KubeClient}=await import("./chunk-UMMGGB5H.js"),{unjoinCluster}=await import("./chunk-5KEDY7SZ.js"),federation=await KubeClient.fromKubeconfig({file:opts.kubeconfig},opts.context);try{let deleted=await unjoinCluster(federation,name,{cleanup:opts.cleanup});for(let d of deleted)process.stdout.write(`deleted ${d} in ${name}
`);process.stdout.write(`cluster.federation.kitfed.io/${name} unjoined
`)}finally{federation.close()}})}export{register};
