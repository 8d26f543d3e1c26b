import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import{UsageError}from"./chunk-U5QDS6LM.js";import"./chunk-6R3TP3BM.js";async function config(file){let{loadConfig,ConfigError}=await import("./chunk-L7L34PAI.js");try{return await loadConfig(file)}catch(err){throw err instanceof ConfigError?new UsageError(err.message):err}}function report(res){process.stdout.write(`${res.status}${res.delivery?` (delivery ${res.delivery})`:""}
${JSON.stringify(res.body,null,2)}
`),res.status>=400&&(process.exitCode=1)}function register(program){let sim=program.command("simulate").description("Send correctly signed webhooks to a running `kitfed webhooks` (secrets from its config)").addHelpText("after",`
Examples:
  kitfed simulate push --config .kitfed/webhooks.yaml
  kitfed simulate image ghcr.io/kitfed-demo/hello:master-9f8e7d6 --config .kitfed/webhooks.yaml
`);sim.command("push").description("Send a GitHub push event for a configured repo (default: the first) at its branch head or --commit").requiredOption("--config <file>","the webhook service config").option("--url <url>","service URL (default: from the config listen address)").option("--repo <name>","repos[].name to push for").option("--commit <sha>","the pushed commit (default: the branch head, read with git ls-remote)").addHelpText("after",`
Examples:
  kitfed simulate push --config webhooks.yaml
  kitfed simulate push --config webhooks.yaml --commit 9ce261f04bcec09831cb966200c0c40f8130054c
`).action(async opts=>{let cfg=await config(opts.config),{simulatePush}=await import("./chunk-L7L34PAI.js");report(await simulatePush(cfg,opts))}),sim.command("image").description('Send a CI "image built" webhook for NAME:TAG (repository, branch and commit derived from it unless given)').argument("<image>","full image reference, e.g. registry.example/acme/web:master-1a2b3c4").requiredOption("--config <file>","the webhook service config").option("--url <url>","service URL (default: from the config listen address)").option("--repository <org/name>","image repository (default: the image name without registry)").option("--branch <branch>","service branch (default: from a <branch>-<sha> tag, else master)").option("--commit <sha>","service commit (default: from a <branch>-<sha> tag)").option("--message <text>","added to the manifests commit message").addHelpText("after",`
Examples:
  kitfed simulate image registry.example/acme/web:master-1a2b3c4 --config webhooks.yaml
`).action(async(image,opts)=>{if(!/^[^\s:@/][^\s]*:[^\s/]+$/.test(image))throw new UsageError(`image ${image}: expected NAME:TAG`);let cfg=await config(opts.config),{simulateImage}=await import("./chunk-L7L34PAI.js");report(await simulateImage(cfg,image,opts))})}export{register};
