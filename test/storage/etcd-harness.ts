/**
 * Real etcd processes for tests: single members or clusters on 127.0.0.1 with free random
 * ports and temp data dirs. Import from any test:
 *
 *   const etcd = await startEtcd();            // { endpoints, stop(), kill() }
 *   t.teardown(() => etcd.stop());
 *   const cluster = await startEtcdCluster(3); // members[i].kill() / .start()
 *
 * When the `etcd` binary is missing, `etcdBinary` is undefined and every `etcdTest` from
 * `./etcd-test.js` fails saying how to install it; under CI (the `CI` env is set) importing
 * this module throws, so the suite fails loudly instead of silently skipping.
 * This module does not import ava, so benchmarks can use it too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from './pki.js';
import { reservePort } from '../helpers/ports.js';

function findEtcd(): string | undefined {
  const candidates = [process.env.ETCD_BIN, '/usr/bin/etcd', '/usr/local/bin/etcd'].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (found) return found;
  const which = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : undefined;
}

/** Path of the etcd binary, or undefined when it is not installed (never undefined under CI). */
export const etcdBinary = findEtcd();
if (!etcdBinary && process.env.CI) {
  throw new Error('etcd is not installed but CI is set: etcd tests must not skip (apt-get install -y etcd-server)');
}
if (!etcdBinary) console.warn('etcd-harness: etcd not found: the etcd tests will fail (install etcd-server)');

export interface EtcdMember {
  readonly name: string;
  /** Client URL, e.g. `http://127.0.0.1:40123`. */
  readonly endpoint: string;
  readonly dataDir: string;
  readonly running: boolean;
  /** The etcd process's pid while it runs (for CPU accounting). */
  readonly pid: number | undefined;
  /**
   * Starts (or restarts, keeping its data) this member; resolves once it answers /health or, for a cluster member,
   * once it listens.
   */
  start(): Promise<void>;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit (a crash). */
  kill(): Promise<void>;
}

export interface EtcdClientTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface EtcdOptions {
  /** Serve clients over TLS and require client certificates signed by a generated CA. */
  tls?: boolean;
}

export interface EtcdHandle {
  /** `host:port` client endpoints (the form `etcd://` URLs and the etcd3 client take). */
  readonly endpoints: string[];
  /** With `tls: true`: the CA and a client certificate accepted by this etcd. */
  readonly tls?: EtcdClientTls;
  readonly members: EtcdMember[];
  /** Stops every member and removes the data dirs. */
  stop(): Promise<void>;
  /** SIGKILLs every member (data dirs stay until stop()). */
  kill(): Promise<void>;
  /** Resolves once the cluster has a leader and serves requests (bounded by `timeoutMs`). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Lets this process exit while etcd runs (it is still killed, and its data removed, at exit). */
  unref(): void;
}

/** Pids of running etcd processes, SIGKILLed when this process exits. */
const live = new Set<number>();
process.on('exit', () => {
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

interface MemberSpec {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
}

class Member implements EtcdMember {
  private child: ChildProcess | undefined;
  /** Pid of etcd itself (the child is its watchdog shell). */
  private pidOf: number | undefined;

  get pid(): number | undefined {
    return this.pidOf;
  }
  private exited: Promise<void> = Promise.resolve();
  private readonly logTail: string[] = [];
  private unrefd = false;

  constructor(
    private readonly spec: MemberSpec,
    private readonly initialCluster: string,
    private readonly token: string,
    private readonly pki: TestPki | undefined,
  ) {}

  get name(): string {
    return this.spec.name;
  }
  get endpoint(): string {
    return `${this.pki ? 'https' : 'http'}://127.0.0.1:${this.spec.clientPort}`;
  }
  get dataDir(): string {
    return this.spec.dataDir;
  }
  get running(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const { name, clientPort, peerPort, dataDir } = this.spec;
    const peer = `http://127.0.0.1:${peerPort}`;
    // etcd runs under a small sh watchdog holding a pipe from this process: when this process
    // dies, even by SIGKILL, the pipe closes and the watchdog SIGKILLs etcd (no stray etcds).
    const child = spawn(
      'sh',
      [
        '-c',
        'exec 3<&0; "$0" "$@" 3<&- </dev/null & pid=$!; echo "kitfed-etcd-pid $pid" >&2; (read _ <&3; kill -9 $pid 2>/dev/null) & wait $pid',
        etcdBinary!,
        `--name=${name}`,
        `--data-dir=${dataDir}`,
        `--listen-client-urls=${this.endpoint}`,
        `--advertise-client-urls=${this.endpoint}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=${this.initialCluster}`,
        '--initial-cluster-state=new',
        `--initial-cluster-token=${this.token}`,
        '--heartbeat-interval=50',
        '--election-timeout=500',
        '--logger=zap',
        '--log-level=error',
        ...(this.pki
          ? [
              `--cert-file=${this.pki.serverCertFile}`,
              `--key-file=${this.pki.serverKeyFile}`,
              `--trusted-ca-file=${this.pki.caFile}`,
              '--client-cert-auth',
            ]
          : []),
      ],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    this.child = child;
    this.pidOf = undefined;
    if (this.unrefd) this.unref();
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n').filter(Boolean)) {
        const pid = /^kitfed-etcd-pid (\d+)$/.exec(line);
        if (pid && this.child === child) {
          this.pidOf = Number(pid[1]);
          live.add(this.pidOf);
        } else this.logTail.push(line);
      }
      this.logTail.splice(0, Math.max(0, this.logTail.length - 30));
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        if (this.pidOf !== undefined) live.delete(this.pidOf);
        child.stdin.destroy();
        if (this.child === child) {
          this.child = undefined;
          this.pidOf = undefined;
        }
        resolve();
      }),
    );
    await waitUntil(
      () => portOpen(clientPort),
      15_000,
      () => `etcd ${name} did not listen on ${clientPort}: ${this.logTail.join('\n')}`,
      () => !this.child,
    );
  }

  async stop(): Promise<void> {
    this.signal('SIGTERM');
    await this.exited;
  }

  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }

  /** Signals etcd itself (not its watchdog); before its pid is known, closing the pipe kills it. */
  private signal(signal: NodeJS.Signals): void {
    if (!this.child) return;
    if (this.pidOf === undefined) this.child.stdin!.end();
    else {
      try {
        process.kill(this.pidOf, signal);
      } catch {
        this.child.stdin!.end();
      }
    }
  }

  unref(): void {
    this.unrefd = true;
    this.child?.unref();
    for (const stream of [this.child?.stderr, this.child?.stdin])
      (stream as { unref?: () => void } | null | undefined)?.unref?.();
  }

  /** Last lines etcd wrote to stderr, for failure messages. */
  log(): string {
    return this.logTail.join('\n');
  }
}

async function portOpen(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

async function healthy(endpoint: string, tls: EtcdClientTls | undefined): Promise<boolean> {
  if (!tls) {
    try {
      const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(2000) });
      return ((await res.json()) as { health?: string }).health === 'true';
    } catch {
      return false;
    }
  }
  return new Promise((resolve) => {
    const req = request(
      `${endpoint}/health`,
      { ca: readFileSync(tls.caFile), cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), timeout: 2000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body.includes('"health":"true"')));
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => (req.destroy(), resolve(false)));
    req.end();
  });
}

/** Polls `check` every 50 ms until true; throws `describe()` after `timeoutMs` or when `abort()` says so. */
async function waitUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
  describe: () => string,
  abort: () => boolean = () => false,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    if (abort()) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(describe());
}

/** Starts an n-member etcd cluster on loopback; resolves once it has a leader. */
export async function startEtcdCluster(size: number, options: EtcdOptions = {}): Promise<EtcdHandle> {
  if (!etcdBinary) throw new Error('etcd is not installed');
  const root = mkdtempSync(join(tmpdir(), 'kitfed-etcd-'));
  const pki = options.tls ? makeTestPki(root) : undefined;
  const tls = pki && { caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile };
  const specs: MemberSpec[] = [];
  for (let i = 0; i < size; i++) {
    specs.push({
      name: `m${i}`,
      clientPort: await reservePort(),
      peerPort: await reservePort(),
      dataDir: join(root, `m${i}`),
    });
  }
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');
  const token = `kitfed-test-${specs[0]!.peerPort}`;
  const members = specs.map((s) => new Member(s, initialCluster, token, pki));
  const handle: EtcdHandle = {
    endpoints: members.map((m) => m.endpoint.replace(/^https?:\/\//, '')),
    members,
    ...(tls ? { tls } : {}),
    async stop() {
      await Promise.all(members.map((m) => m.kill()));
      rmSync(root, { recursive: true, force: true });
    },
    async kill() {
      await Promise.all(members.map((m) => m.kill()));
    },
    unref() {
      for (const m of members) m.unref();
      process.on('exit', () => rmSync(root, { recursive: true, force: true }));
    },
    async waitHealthy(timeoutMs = 15_000) {
      const up = members.filter((m) => m.running);
      await waitUntil(
        async () => (await Promise.all(up.map((m) => healthy(m.endpoint, tls)))).some(Boolean),
        timeoutMs,
        () =>
          `etcd cluster not healthy after ${timeoutMs} ms:\n${members.map((m) => `${m.name}: ${m.log()}`).join('\n')}`,
      );
    },
  };
  try {
    await Promise.all(members.map((m) => m.start()));
    await handle.waitHealthy();
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}

/** Starts one etcd member on loopback with a temp data dir. */
export async function startEtcd(options: EtcdOptions = {}): Promise<EtcdHandle> {
  return startEtcdCluster(1, options);
}

/** The member currently leading the cluster, asked of each running member (undefined: no leader). */
export async function findLeader(handle: EtcdHandle): Promise<EtcdMember | undefined> {
  const { Etcd3 } = await import('etcd3');
  const ids = await Promise.all(
    handle.members.map(async (m) => {
      if (!m.running) return undefined;
      const t = handle.tls;
      const credentials = t && {
        rootCertificate: readFileSync(t.caFile),
        certChain: readFileSync(t.certFile),
        privateKey: readFileSync(t.keyFile),
      };
      const client = new Etcd3({ hosts: m.endpoint, ...(credentials ? { credentials } : {}) });
      try {
        const status = await client.maintenance.status({ deadline: Date.now() + 2000 });
        return { member: m, id: status.header.member_id, leader: status.leader };
      } catch {
        return undefined;
      } finally {
        client.close();
      }
    }),
  );
  const leaderId = ids.find((s) => s && s.leader !== '0')?.leader;
  return ids.find((s) => s && s.id === leaderId)?.member;
}
