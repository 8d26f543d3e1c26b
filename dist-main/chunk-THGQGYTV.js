import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import{connect,serviceOptions}from"./chunk-QSLRM6WY.js";import{UsageError}from"./chunk-U5QDS6LM.js";import"./chunk-6R3TP3BM.js";function register(program){serviceOptions(program.command("rollback").description("Put the manifests repo back to COMMIT: the webhook service pushes a revert commit (git stays the source of truth) and deploys it like any push")).requiredOption("--to <commit>","a commit of the branch history whose content to restore").option("--repo <name>","repos[].name (default: the first configured repo)").option("--reason <text>","recorded in the commit message").option("--by <name>","who asks (default: your user name)").option("-o, --output <format>","text or json","text").addHelpText("after",`
Examples:
  kitfed rollback --to 1a2b3c4d --config webhooks.yaml --reason "bad release"
  kitfed runs --config webhooks.yaml     # the revert commit is deployed like any push
`).action(async opts=>{if(opts.output!=="text"&&opts.output!=="json")throw new UsageError(`--output must be text or json, got ${opts.output}`);if(!/^[0-9a-f]{4,64}$/i.test(opts.to))throw new UsageError(`--to must be a commit SHA, got ${opts.to}`);let client=await connect(opts),by=opts.by;if(!by){let{userInfo}=await import("node:os");by=userInfo().username}let r=await client.rollback({to:opts.to,by,...opts.repo?{repo:opts.repo}:{},...opts.reason?{reason:opts.reason}:{}});process.stdout.write(opts.output==="json"?`${JSON.stringify(r,null,2)}
`:`pushed ${r.commit.slice(0,12)} to ${r.repo} ${r.branch}: content of ${r.to.slice(0,12)}, reverting ${r.reverted.length} commit(s)
queued as event ${r.eventId}: kitfed runs shows its run
`)})}export{register};
