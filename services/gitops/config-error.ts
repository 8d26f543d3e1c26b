import { KitfedError } from '../core/errors.js';

/** A webhook service config that does not parse or validate: names the file and every problem (HTTP 400). */
export class ConfigError extends KitfedError {
  override readonly name = 'ConfigError';
  constructor(file: string, problems: string[]) {
    super(`invalid configuration ${file}:\n  ${problems.join('\n  ')}`, 400, 'BadRequest');
  }
}
