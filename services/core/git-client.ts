/** simple-git configured for unattended use: no prompts, a per-command timeout, any non-zero exit is an error. */
import { simpleGit, type SimpleGit } from 'simple-git';

/**
 * The environment git runs with: what it needs to find itself, credentials agents and proxies; never editors or
 * pagers.
 */
const PASS = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'TMPDIR',
  'SSH_AUTH_SOCK',
  'GIT_SSH_COMMAND',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'XDG_CONFIG_HOME',
];

function gitEnv(): Record<string, string> {
  const env: Record<string, string> = { GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
  for (const k of PASS) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  return env;
}

export function gitClient(baseDir: string | undefined, timeoutMs: number): SimpleGit {
  return simpleGit({
    ...(baseDir ? { baseDir } : {}),
    timeout: { block: timeoutMs },
    // Output is complete only at `close`; treating `exit` as the end can drop stdout under load.
    completion: { onClose: true, onExit: false },
    unsafe: { allowUnsafeSshCommand: true },
    allowEnvironment: ['GIT_TERMINAL_PROMPT', 'GIT_SSH_COMMAND'],
    errors(error, result) {
      if (error) return error;
      if (result.exitCode === 0) return undefined;
      return Buffer.concat([...result.stdOut, ...result.stdErr]);
    },
  }).env(gitEnv());
}
