/**
 * The log settings' values, in a module of their own so that the CLI can offer them as flag choices
 * without loading pino (services/core/log.ts reads the settings from the environment).
 */
export const LOG_FORMATS = ['auto', 'json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
