import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import{UsageError}from"./chunk-U5QDS6LM.js";import"./chunk-6R3TP3BM.js";function register(program){program.command("webhooks").description("Run the webhook service: CI image webhooks (commit new images to git) and GitHub push webhooks (render and deploy)").requiredOption("--config <file>","YAML configuration (listen, dataDir, secrets, repos, deploy)").addHelpText("after",`
Examples:
  GITHUB_WEBHOOK_SECRET=\u2026 IMAGE_WEBHOOK_SECRET=\u2026 kitfed webhooks --config webhooks.yaml

See docs/gitops.md for the configuration reference.
`).action(async opts=>{let{runWebhooks,ConfigError}=await import("./chunk-L7L34PAI.js");try{await runWebhooks(opts)}catch(err){throw err instanceof ConfigError?new UsageError(err.message):err}})}export{register};
