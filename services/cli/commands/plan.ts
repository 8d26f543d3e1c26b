import { readSync } from 'node:fs';
import type { Command } from 'commander';

/**
 * All of stdin. Read from fd 0 with blocking reads: constructing `process.stdin` (a net.Socket
 * for a pipe) loads the stream and socket machinery, ~8 ms of a ~50 ms command. Should stdin be
 * non-blocking (a parent that set O_NONBLOCK on a shared pipe; libuv's spawn clears it, so node
 * parents never do), a read answers EAGAIN: what was read so far is kept, the rest comes from the stream.
 */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  const buf = Buffer.allocUnsafe(64 * 1024);
  try {
    for (let n; (n = readSync(0, buf)) > 0;) chunks.push(Buffer.from(buf.subarray(0, n)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function register(program: Command): void {
  program
    .command('plan')
    .description(
      'Spread replicas over clusters exactly as Federation v1 does: JSON request(s) on stdin, plan(s) on stdout',
    )
    .addHelpText(
      'after',
      `
Input (stdin): one object, or an array of them:
  {"preferences": {"rebalance": false, "clusters": {"*": {"weight": 1}}},
   "totalReplicas": 50, "clusters": ["eu-1", "us-1"],
   "currentReplicas": {"eu-1": 10}, "estimatedCapacity": {"us-1": 20}, "key": "ns/name"}
  currentReplicas, estimatedCapacity and key are optional; preferences may also be the annotation text.
Output (stdout): {"plan": {...}, "overflow": {...}} (or an array, in input order).

Examples:
  echo '{"preferences":{"clusters":{"*":{"weight":1}}},"totalReplicas":5,"clusters":["a","b"],"key":"ns/web"}' | kitfed plan
`,
    )
    .action(async () => {
      const [{ UsageError }, { KitfedError, hasCode }, { decodePlanRequests, plan }] = await Promise.all([
        import('../lib/usage.js'),
        import('../../core/errors.js'),
        import('../../planner/index.js'),
      ]);
      try {
        const { single, inputs } = decodePlanRequests(await readStdin());
        const results = inputs.map((input, i) => {
          try {
            return plan(input);
          } catch (err) {
            if (err instanceof KitfedError && !single)
              throw new KitfedError(`[${i}].${err.message}`, err.code, err.reason, err.details);
            throw err;
          }
        });
        process.stdout.write(`${JSON.stringify(single ? results[0] : results)}\n`);
      } catch (err) {
        if (hasCode(err, 400)) throw new UsageError(err.message);
        throw err;
      }
    });
}
