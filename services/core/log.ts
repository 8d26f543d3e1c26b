import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Logs on stderr, one line per event: JSON (for machines, and whenever stderr is not a terminal) or
 * readable text lines on a terminal (time, level, component, message, key fields). Fields that may
 * carry credentials or Secret data are redacted wherever they appear, in both formats.
 *
 * Settings come from the environment so that worker threads and child processes follow the parent:
 * `KITFED_LOG_FORMAT` (`json`, `text`, `auto` — the default: text on a terminal) and `KITFED_LOG_LEVEL`
 * (`trace` … `fatal`, `silent`). The CLI's `--log-format` and `--log-level` set them.
 */
const REDACT = [
  'token',
  'password',
  'secret',
  'authorization',
  'data',
  'stringData',
  '*.token',
  '*.password',
  '*.secret',
  '*.authorization',
  '*.data',
  '*.stringData',
  'headers.authorization',
  'req.headers.authorization',
];

export { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './log-settings.js';

/** The format in effect: `auto` resolves to text when stderr is a terminal. */
export function logFormat(
  env: NodeJS.ProcessEnv = process.env,
  isTty = process.stderr.isTTY === true,
): 'json' | 'text' {
  const f = env.KITFED_LOG_FORMAT ?? 'auto';
  if (f === 'json' || f === 'text') return f;
  return isTty ? 'text' : 'json';
}

let root: Logger | undefined;

function textDestination(): DestinationStream {
  // pino-pretty is loaded only for terminals, so JSON logging (services, tests, pipes) never pays for it.
  const require = createRequire(import.meta.url);
  const pretty = require('pino-pretty') as (opts: Record<string, unknown>) => DestinationStream;
  return pretty({
    destination: 2,
    sync: true, // in order with what the CLI writes to stdout (the `kitfed up` banner)
    colorize: process.stderr.isTTY === true && !process.env.NO_COLOR,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname',
    hideObject: true,
    messageFormat: textLine,
  });
}

const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'component', 'msg']);

/** `component  message  key=value …` (values that are not plain words are JSON-quoted). */
export function textLine(log: Record<string, unknown>): string {
  const fields = Object.entries(log)
    .filter(([k, v]) => !HIDDEN.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' && /^[\w./:@+-]+$/.test(v) ? v : JSON.stringify(v)}`);
  const component = typeof log.component === 'string' ? `${log.component}  ` : '';
  return `${component}${String(log.msg ?? '')}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}`;
}

export function rootLogger(): Logger {
  root ??= pino(
    {
      level: process.env.KITFED_LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'warn' : 'info'),
      base: { pid: process.pid },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    logFormat() === 'text' ? textDestination() : pino.destination({ dest: 2, sync: false }),
  );
  return root;
}

/** A logger for one component: `createLogger('apiserver')` adds `component: "apiserver"` to every line. */
export function createLogger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger().child({ component, ...bindings });
}

/** Writes out buffered log lines (before printing something that must not be interleaved with them). */
export function flushLogs(): Promise<void> {
  if (!root) return Promise.resolve();
  const r = root;
  return new Promise((resolve) => r.flush(() => resolve()));
}
