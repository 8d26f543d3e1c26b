import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Structured JSON logs on stderr, one line per event. Fields that may carry credentials
 * or Secret data are redacted wherever they appear.
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

let root: Logger | undefined;

export function rootLogger(): Logger {
  root ??= pino(
    {
      level: process.env.KITFED_LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'warn' : 'info'),
      base: { pid: process.pid },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ dest: 2, sync: false }),
  );
  return root;
}

/** A logger for one component: `createLogger('apiserver')` adds `component: "apiserver"` to every line. */
export function createLogger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger().child({ component, ...bindings });
}
