/**
 * The browser's copy of what the console server streams: every watched kind keyed by
 * `namespace/name`, the runs, the sandbox details, and the state of the connection. One stream
 * (`api/stream`, server-sent events read with fetch so the bearer token travels in a header),
 * reconnected with backoff whenever it ends: after a server restart the page catches up by itself.
 */
import type {
  KubeObject,
  MemberPods,
  RolloutAction,
  RolloutActionBody,
  RunRecord,
  SandboxClusterView,
  SessionInfo,
  StreamMessage,
  WatchedResource,
} from '../api.js';

export type Connection = 'connecting' | 'live' | 'reconnecting' | 'unauthorized';

export interface State {
  connection: Connection;
  /** Why the last connection attempt failed (shown while reconnecting / on the login page). */
  problem?: string;
  session?: SessionInfo;
  resources: WatchedResource[];
  /** resource key → object key (`namespace/name` or `name`) → object. */
  objects: Map<string, Map<string, KubeObject>>;
  /** Kinds this user may not read (403) or the federation does not serve. */
  denied: Map<string, { code: number; message: string }>;
  runs?: RunRecord[];
  runsError?: { code: number; message: string };
  sandbox: Map<string, SandboxClusterView>;
  /** Bumped on every change: views memoize derived data on it. */
  version: number;
}

export function objectKey(o: KubeObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : (o.metadata.name ?? '');
}

export function emptyState(): State {
  return {
    connection: 'connecting',
    resources: [],
    objects: new Map(),
    denied: new Map(),
    sandbox: new Map(),
    version: 0,
  };
}

/** Applies one stream message to the state (in place). Pure apart from that: no I/O. */
export function apply(state: State, msg: StreamMessage): void {
  switch (msg.type) {
    case 'hello':
      state.session = msg.session;
      state.resources = msg.resources;
      break;
    case 'reset':
      state.objects.set(msg.resource, new Map(msg.items.map((o) => [objectKey(o), o])));
      state.denied.delete(msg.resource);
      break;
    case 'denied':
      state.objects.delete(msg.resource);
      state.denied.set(msg.resource, { code: msg.code, message: msg.message });
      break;
    case 'changes':
      for (const c of msg.changes) {
        let m = state.objects.get(c.resource);
        if (!m) state.objects.set(c.resource, (m = new Map()));
        if (c.op === 'delete') m.delete(objectKey(c.object));
        else m.set(objectKey(c.object), c.object);
      }
      break;
    case 'runs':
      state.runs = msg.runs;
      state.runsError = undefined;
      break;
    case 'runs-error':
      state.runsError = { code: msg.code, message: msg.message };
      break;
    case 'sandbox':
      state.sandbox = new Map(msg.clusters.map((c) => [c.name, c]));
      break;
  }
  state.version++;
}

type Listener = () => void;

export class Store {
  state: State = emptyState();
  private readonly listeners = new Set<Listener>();
  private frame = 0;
  private stop: (() => void) | undefined;
  private token: string | undefined;

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Listeners run once per animation frame, however many messages arrived. */
  private changed(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      for (const fn of this.listeners) fn();
    });
  }

  private setConnection(connection: Connection, problem?: string): void {
    this.state.connection = connection;
    this.state.problem = problem;
    this.state.version++;
    this.changed();
  }

  connect(token: string): void {
    this.disconnect();
    this.state = emptyState();
    this.token = token;
    let stopped = false;
    let abort: AbortController | undefined;
    this.stop = () => {
      stopped = true;
      abort?.abort();
    };
    const run = async () => {
      let backoff = 250;
      while (!stopped) {
        abort = new AbortController();
        const ctrl = abort;
        let watchdog = 0;
        const arm = () => {
          clearTimeout(watchdog);
          // The server writes a keep-alive every 15 s: silence means a dead connection.
          watchdog = window.setTimeout(() => ctrl.abort(), 40_000);
        };
        try {
          arm();
          const res = await fetch('api/stream', {
            headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' },
            cache: 'no-store',
            signal: ctrl.signal,
          });
          if (res.status === 401) {
            clearTimeout(watchdog);
            this.setConnection('unauthorized', await errorText(res));
            return;
          }
          if (!res.ok || !res.body) throw new Error(await errorText(res));
          this.setConnection('live');
          backoff = 250;
          await readEvents(res.body, arm, (msg) => {
            apply(this.state, msg);
            this.changed();
          });
          if (!stopped) this.setConnection('reconnecting', 'the console server closed the stream');
        } catch (err) {
          if (stopped) return;
          this.setConnection('reconnecting', err instanceof Error ? err.message : String(err));
        } finally {
          clearTimeout(watchdog);
        }
        if (stopped) return;
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 4000);
      }
    };
    void run();
  }

  disconnect(): void {
    this.stop?.();
    this.stop = undefined;
    this.token = undefined;
  }

  /**
   * A workload's pods in every Ready member (`api/pods`), read with the signed-in token; the
   * error's text when the console server refused.
   */
  async memberPods(namespace: string, selector: string): Promise<MemberPods | string> {
    if (!this.token) return 'not signed in';
    let res: Response;
    try {
      res = await fetch(`api/pods?${new URLSearchParams({ namespace, selector }).toString()}`, {
        headers: { Authorization: `Bearer ${this.token}` },
        cache: 'no-store',
      });
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
    if (!res.ok) return errorText(res);
    return (await res.json()) as MemberPods;
  }

  /**
   * Steers a rollout with the signed-in token. On success the run as the webhook service answered
   * replaces the streamed copy at once (the stream catches up on its own); else the error's text.
   */
  async rolloutAction(run: number, action: RolloutAction, body: RolloutActionBody = {}): Promise<string | undefined> {
    if (!this.token) return 'not signed in';
    let res: Response;
    try {
      res = await fetch(`api/runs/${run}/rollout/${action}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        cache: 'no-store',
      });
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
    if (!res.ok) return errorText(res);
    const record = (await res.json()) as RunRecord;
    if (this.state.runs) {
      this.state.runs = this.state.runs.map((r) => (r.id === record.id ? record : r));
      this.state.version++;
      this.changed();
    }
    return undefined;
  }
}

async function errorText(res: Response): Promise<string> {
  try {
    const s = (await res.json()) as { message?: string };
    return s.message ?? `HTTP ${res.status}`;
  } catch {
    return `HTTP ${res.status}`;
  }
}

/** Reads `data:` lines of a text/event-stream body until it ends. */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  onData: () => void,
  onMessage: (msg: StreamMessage) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    onData();
    buf += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      if (data) onMessage(JSON.parse(data) as StreamMessage);
    }
  }
}
