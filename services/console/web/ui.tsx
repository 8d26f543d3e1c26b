/** Small shared pieces of the views: status badges, relative times, routes. */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { age } from './model.js';

/** The current time, refreshed every `ms` (for "3s ago" columns). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

export type Tone = 'good' | 'bad' | 'warn' | 'info' | 'muted';

const TONES: Record<string, Tone> = {
  Ready: 'good',
  InSync: 'good',
  succeeded: 'good',
  Succeeded: 'good',
  applied: 'good',
  ok: 'good',
  rendered: 'info',
  Normal: 'muted',
  Offline: 'bad',
  Failed: 'bad',
  failed: 'bad',
  Warning: 'warn',
  NotReady: 'warn',
  ClusterNotReady: 'warn',
  Pending: 'info',
  pending: 'info',
  passing: 'info',
  passed: 'good',
  running: 'info',
  Progressing: 'info',
  Baking: 'info',
  Paused: 'warn',
  WaitingForApproval: 'warn',
  interrupted: 'warn',
  Aborted: 'bad',
  aborted: 'bad',
  superseded: 'muted',
  Superseded: 'muted',
  skipped: 'muted',
  NotPlaced: 'muted',
  'not-configured': 'muted',
  'not-started': 'muted',
  Unknown: 'muted',
  // Pod states, as kubectl prints them.
  Running: 'good',
  Completed: 'good',
  ContainerCreating: 'info',
  Terminating: 'muted',
  CrashLoopBackOff: 'bad',
  ErrImagePull: 'bad',
  ImagePullBackOff: 'bad',
  Error: 'bad',
};

const LABELS: Record<string, string> = {
  NotReady: 'Not ready',
  ClusterNotReady: 'Cluster not ready',
  InSync: 'In sync',
  NotPlaced: 'Not placed',
  WaitingForApproval: 'Waiting for approval',
};

/** A status word with its colour; the word itself carries the meaning (colour is only a hint). */
export function Badge(props: { value: string; label?: string; tone?: Tone }) {
  const tone = props.tone ?? TONES[props.value] ?? 'muted';
  return (
    <span class={`badge badge-${tone}`} data-status={props.value}>
      {props.label ?? LABELS[props.value] ?? props.value}
    </span>
  );
}

export function Age(props: { iso: string | undefined; now: number }) {
  if (!props.iso) return <span>—</span>;
  return (
    <time dateTime={props.iso} title={props.iso}>
      {age(props.iso, props.now)}
    </time>
  );
}

export function Empty(props: { children: ComponentChildren }) {
  return <p class="empty">{props.children}</p>;
}

/** `denied` notice for a kind the user's token may not read. */
export function Denied(props: { what: string; message: string }) {
  return (
    <p class="notice notice-warn" role="status">
      You cannot see {props.what}: {props.message}
    </p>
  );
}

// ---- routes (hash based: the console is static files under any path) -----------------

export type Route =
  | { view: 'fleet' }
  | { view: 'objects'; ns: string; kind: string; label: string; q: string }
  | { view: 'object'; resource: string; namespace: string; name: string }
  | { view: 'runs' }
  | { view: 'run'; id: number }
  | { view: 'rollouts' }
  | { view: 'events' };

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const q = new URLSearchParams(query);
  switch (parts[0]) {
    case 'objects':
      return {
        view: 'objects',
        ns: q.get('ns') ?? '',
        kind: q.get('kind') ?? '',
        label: q.get('label') ?? '',
        q: q.get('q') ?? '',
      };
    case 'object':
      return {
        view: 'object',
        resource: parts[1] ?? '',
        namespace: parts[2] === '_' ? '' : (parts[2] ?? ''),
        name: parts[3] ?? '',
      };
    case 'runs':
      return parts[1] ? { view: 'run', id: Number(parts[1]) } : { view: 'runs' };
    case 'rollouts':
      return { view: 'rollouts' };
    case 'events':
      return { view: 'events' };
    default:
      return { view: 'fleet' };
  }
}

export function objectHref(resource: string, namespace: string | undefined, name: string): string {
  return `#/object/${encodeURIComponent(resource)}/${encodeURIComponent(namespace || '_')}/${encodeURIComponent(name)}`;
}

export function objectsHref(f: { ns?: string; kind?: string; label?: string; q?: string }): string {
  const q = new URLSearchParams();
  // Only the filters: callers may pass a whole route, whose `view` is the path itself.
  for (const k of ['ns', 'kind', 'label', 'q'] as const) if (f[k]) q.set(k, f[k]);
  const s = q.toString();
  return `#/objects${s ? `?${s}` : ''}`;
}
