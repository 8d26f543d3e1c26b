/**
 * A TCP port for a server that a test must start (or restart) on a port it chose itself — etcd members,
 * whose peer URLs are fixed at start. Ports come from below Linux's ephemeral range (32768–60999 by
 * default), so a port a test frees and binds again cannot meanwhile be taken as the source port of
 * one of the many outbound connections the suite makes; collisions between concurrent tests are
 * caught by the bind check. Servers that can report their own address listen on port 0 instead.
 */
import { createServer } from 'node:net';

const LOW = 20_000;
const HIGH = 32_000;
const handedOut = new Set<number>();

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function reservePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (handedOut.has(port)) continue;
    if (await canBind(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port in ${LOW}-${HIGH} after 200 attempts`);
}
