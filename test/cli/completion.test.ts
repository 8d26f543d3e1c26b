/**
 * `kitfed completion bash|zsh|fish` driven in the real shells against a running federation: the
 * scripts call the real `kitfed` (from source, through a `kitfed` on a temporary PATH).
 */
import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEmbedded, type Embedded } from '../../services/cli/embedded.js';

function which(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let dir: string;
let env: NodeJS.ProcessEnv;
let embedded: Embedded | undefined;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kitfed-completion-'));
  await mkdir(join(dir, 'bin'));
  const tsx = import.meta.resolve('tsx');
  await writeFile(
    join(dir, 'bin', 'kitfed'),
    `#!/bin/sh\nexec ${[process.execPath, '--import', tsx, resolve('services/cli/kitfed.ts')]
      .map((a) => JSON.stringify(a))
      .join(' ')} "$@"\n`,
  );
  await chmod(join(dir, 'bin', 'kitfed'), 0o755);
  // A loaded CI machine may take longer than the 5 s a TAB waits for the federation.
  env = {
    ...process.env,
    PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`,
    HOME: dir,
    KITFED_COMPLETION_TIMEOUT_MS: '120000',
  };
  delete env.KUBECONFIG;
  // The embedded default in the shell's working directory: .kitfed/kubeconfig is the default kubeconfig.
  embedded = await startEmbedded({
    dataDir: join(dir, '.kitfed'),
    portBase: 0,
    clusters: 2,
    skipInitialDeploy: true,
  });
});

test.after.always(async () => {
  await embedded?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function shell(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: dir, env, timeout: 120_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd}: ${err.message}\n${stderr}`)) : resolve(String(stdout)),
    );
  });
}

/**
 * What bash offers on TAB at the end of `line`: COMP_WORDS as bash splits them (also at `=`, as
 * COMP_WORDBREAKS says), the completion function, then COMPREPLY.
 */
async function bash(line: string): Promise<string[]> {
  const script = `
source <(kitfed completion bash)
COMP_LINE="$1"; COMP_POINT=\${#COMP_LINE}
COMP_WORDS=(); for w in $COMP_LINE; do
  if [[ $w == *=* ]]; then
    COMP_WORDS+=("\${w%%=*}" "=" ); [[ -n \${w#*=} ]] && COMP_WORDS+=("\${w#*=}")
  else COMP_WORDS+=("$w"); fi
done
[[ $COMP_LINE == *" " || $COMP_LINE == *"=" ]] && COMP_WORDS+=("")
COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
$(complete -p kitfed | sed -E 's/.*-F ([^ ]+).*/\\1/')
printf '%s\\n' "\${COMPREPLY[@]}"
`;
  return (await shell('bash', ['-c', script, 'bash', line])).split('\n').filter(Boolean);
}

test('bash: subcommands, flags, kinds; cluster names, namespaces, contexts from the running federation', async (t) => {
  t.timeout(20 * 60_000); // each TAB runs kitfed from source (tsx)
  t.deepEqual(await bash('kitfed ge'), ['get']);
  t.deepEqual(await bash('kitfed get clusters --o'), ['--output']);
  t.true((await bash('kitfed get ')).includes('clusters'));
  t.deepEqual((await bash('kitfed get clusters ')).sort(), ['eu-west', 'us-east']);
  t.deepEqual(await bash('kitfed describe rs nginx -n kitfed-sys'), ['kitfed-system']);
  t.deepEqual((await bash('kitfed get clusters --context ')).sort(), ['eu-west', 'federation', 'us-east']);
  t.deepEqual(await bash('kitfed unjoin us'), ['us-east']);
  t.deepEqual(await bash('kitfed completion '), ['bash', 'zsh', 'fish']);
  t.deepEqual(await bash('kitfed version --output=js'), ['json'], 'after =, bash replaces only the value');
  t.true((await bash('kitfed deploy --kubeconfig .kitfed/kube')).includes('.kitfed/kubeconfig'), 'file names');
  t.deepEqual(await bash('kitfed get clusters --kubeconfig /nonexistent '), [], 'nothing rather than an error');
});

test('fish: the same candidates, with descriptions', async (t) => {
  t.timeout(10 * 60_000);
  if (!which('fish')) {
    if (process.env.CI) t.fail('fish is not installed but CI is set (apt-get install -y fish)');
    else t.log('fish is not installed: not tested here (CI installs it)');
    return t.pass();
  }
  const fish = async (line: string) =>
    (await shell('fish', ['-c', `kitfed completion fish | source; complete -C ${JSON.stringify(line)}`]))
      .split('\n')
      .filter(Boolean);
  t.deepEqual(await fish('kitfed ge'), ['get\tList federated objects of any kind and their propagation']);
  t.deepEqual((await fish('kitfed get clusters ')).sort(), ['eu-west', 'us-east']);
  t.true((await fish('kitfed deploy --kubeconfig .kitfed/kube')).some((l) => l.startsWith('.kitfed/kubeconfig')));
});

test('zsh: the completion function hands the candidates to zsh (_describe, compadd, _files)', async (t) => {
  t.timeout(10 * 60_000);
  if (!which('zsh')) {
    if (process.env.CI) t.fail('zsh is not installed but CI is set (apt-get install -y zsh)');
    else t.log('zsh is not installed: not tested here (CI installs it)');
    return t.pass();
  }
  // zsh completes only inside its line editor: the test calls _kitfed as a completion widget would,
  // with zsh's completion builtins replaced by functions that print what they were given.
  const zsh = async (...words: string[]) =>
    (
      await shell('zsh', [
        '-c',
        `source <(kitfed completion zsh)
_describe() { print -rl -- "\${(@P)4}" }
compadd() { shift; print -rl -- "$@" }
_files() { print -r -- FILES }
words=(kitfed "\${@}"); CURRENT=\${#words}
_kitfed`,
        'zsh',
        ...words,
      ])
    )
      .split('\n')
      .filter(Boolean);
  t.deepEqual(await zsh('ge'), ['get:List federated objects of any kind and their propagation']);
  t.deepEqual((await zsh('get', 'clusters', '')).sort(), ['eu-west', 'us-east']);
  t.deepEqual(await zsh('deploy', '--kubeconfig', ''), ['FILES']);
});
