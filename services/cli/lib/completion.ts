/**
 * Shell completion: `kitfed __complete WORD…` (what the scripts of `kitfed completion bash|zsh|fish`
 * call on every TAB) prints the candidates for the last word, one per line, `value<TAB>description`,
 * and a last line `:files` when the shell should offer file names too.
 *
 * Subcommands come from the program's command list (the table's placeholders: no command is loaded);
 * flags and arguments come from the one command's commander definition, plus the global flags.
 * Values are completed, in this order, by a completer a command attached (`completeWith`), by the
 * argument's or option's name (`cluster`, `context`, `namespace`, `run`: see BY_NAME), by its
 * `.choices()`, or as file names when its placeholder says `<file>` or `<dir>`. Dynamic values are
 * fetched within 5 s (KITFED_COMPLETION_TIMEOUT_MS for slow links); a failure completes nothing.
 */
import type { Argument, Command, Option } from 'commander';
import { globalOptions } from './log-flags.js';

export interface CompletionContext {
  /** The (sub)command whose argument or option value is being completed. */
  command: Command;
  /** Its positional arguments before the current word. */
  args: string[];
  /** Its options given before the current word, by attribute name (`--kubeconfig x` → kubeconfig: x). */
  flags: Record<string, string>;
}

export type Completer = (ctx: CompletionContext) => Promise<readonly string[]> | readonly string[];

const attached = new WeakMap<Argument | Option, Completer>();

/** Completes this argument's or option's values with `completer` (e.g. the kinds `kitfed get` knows). */
export function completeWith<T extends Argument | Option>(target: T, completer: Completer): T {
  attached.set(target, completer);
  return target;
}

const timeoutMs = (): number => Number(process.env.KITFED_COMPLETION_TIMEOUT_MS) || 5000;

/** Names of the federation's objects of a kind (kubeconfig and context from the command line). */
async function federationList(ctx: CompletionContext, apiVersion: string, kind: string): Promise<string[]> {
  const { federationClient } = await import('./federation.js');
  const client = await federationClient(
    {
      ...(ctx.flags.kubeconfig ? { kubeconfig: ctx.flags.kubeconfig } : {}),
      ...(ctx.flags.context ? { context: ctx.flags.context } : {}),
    },
    timeoutMs(),
  );
  try {
    const list = await client.list(apiVersion, kind, ctx.flags.namespace || undefined);
    return list.items.map((o) => o.metadata.name ?? '').filter(Boolean);
  } finally {
    client.close();
  }
}

/** The federation's kinds by plural, singular and short names, from the API server's table (loaded on first use). */
async function kindTable(): Promise<Map<string, { apiVersion: string; kind: string }>> {
  const { RESOURCES } = await import('../../apiserver/index.js');
  const table = new Map<string, { apiVersion: string; kind: string }>();
  for (const r of RESOURCES) {
    const gvk = { apiVersion: r.group ? `${r.group}/${r.version}` : r.version, kind: r.kind };
    for (const name of [r.plural, r.singular, ...(r.shortNames ?? [])]) if (!table.has(name)) table.set(name, gvk);
  }
  return table;
}

/** Completes the kinds the federation's table serves (plural, singular and short names). */
export const kindNames: Completer = async () => [...(await kindTable()).keys()];

/** Completes names of the federation's objects of the kind the command's first argument names. */
export const namesOfKind: Completer = async (ctx) => {
  const gvk = (await kindTable()).get(ctx.args[0] ?? '');
  return gvk ? federationList(ctx, gvk.apiVersion, gvk.kind) : [];
};

/** Values by the name of the argument or option, for every command. */
const BY_NAME: Record<string, Completer> = {
  cluster: (ctx) => federationList(ctx, 'federation.kitfed.io/v1beta1', 'Cluster'),
  namespace: (ctx) => federationList({ ...ctx, flags: { ...ctx.flags, namespace: '' } }, 'v1', 'Namespace'),
  context: async (ctx) => {
    const { resolveKubeconfig } = await import('./federation.js');
    const { Kubeconfig } = await import('../../core/kubeconfig.js');
    return Kubeconfig.read({ file: resolveKubeconfig(ctx.flags.kubeconfig) }).contexts;
  },
  run: async (ctx) => {
    const { existsSync } = await import('node:fs');
    const { connect } = await import('./webhooks.js');
    const config = ctx.flags.config ?? (existsSync('.kitfed/webhooks.yaml') ? '.kitfed/webhooks.yaml' : undefined);
    const { url, token, tokenFile } = ctx.flags;
    const client = await connect({ url, config, token, tokenFile });
    return (await client.listRuns(50)).map((r) => String(r.id));
  },
};

export interface Candidate {
  value: string;
  description?: string;
}

export interface Completion {
  candidates: Candidate[];
  files: boolean;
}

function optionFor(command: Command, word: string): Option | undefined {
  const flag = word.split('=')[0];
  return [...command.options, ...globalOptions(command)].find((o) => o.long === flag || o.short === flag);
}

function takesValue(o: Option): boolean {
  return o.required || o.optional;
}

function optionCandidates(command: Command): Candidate[] {
  const out: Candidate[] = [];
  for (const o of [...command.options, ...globalOptions(command)]) {
    if (o.hidden) continue;
    const flag = o.long ?? o.short;
    if (flag) out.push({ value: flag, description: o.description });
  }
  out.push({ value: '--help', description: 'display help for command' });
  return out;
}

async function values(target: Argument | Option, name: string, placeholder: string, ctx: CompletionContext) {
  const completer = attached.get(target) ?? BY_NAME[name];
  if (completer) {
    try {
      return { candidates: (await completer(ctx)).map((value) => ({ value })), files: false };
    } catch {
      return { candidates: [], files: false };
    }
  }
  if (target.argChoices) return { candidates: target.argChoices.map((value) => ({ value })), files: false };
  return { candidates: [], files: /file|dir|path/i.test(placeholder) };
}

/**
 * Candidates for the last of `words` (the words after `kitfed`, the last being the one under the
 * cursor, possibly empty). `program` has every command listed and the named one registered.
 */
export async function complete(program: Command, words: readonly string[]): Promise<Completion> {
  const current = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  let command = program;
  const ctx: CompletionContext = { command, args: [], flags: {} };
  let pending: Option | undefined;
  for (const word of before) {
    if (pending) {
      ctx.flags[pending.attributeName()] = word;
      pending = undefined;
      continue;
    }
    if (word.startsWith('-') && word !== '-') {
      const o = optionFor(command, word);
      if (o && takesValue(o)) {
        if (word.includes('=')) ctx.flags[o.attributeName()] = word.slice(word.indexOf('=') + 1);
        else pending = o;
      }
      continue;
    }
    const sub =
      ctx.args.length === 0 ? command.commands.find((c) => c.name() === word || c.aliases().includes(word)) : undefined;
    if (sub && word !== 'help') {
      command = sub;
      ctx.command = sub;
      continue;
    }
    if (command === program && word === 'help') continue;
    ctx.args.push(word);
  }
  const result = await (async (): Promise<Completion> => {
    if (pending) return values(pending, pending.attributeName(), pending.flags, ctx);
    if (current.startsWith('-')) {
      const eq = current.indexOf('=');
      const o = eq > 0 ? optionFor(command, current) : undefined;
      if (o && takesValue(o)) {
        const r = await values(o, o.attributeName(), o.flags, { ...ctx, command });
        const prefix = current.slice(0, eq + 1);
        return { candidates: r.candidates.map((c) => ({ ...c, value: prefix + c.value })), files: false };
      }
      return { candidates: optionCandidates(command), files: false };
    }
    if (command === program)
      return {
        candidates:
          ctx.args.length > 0
            ? []
            : [
                ...program.commands.map((c) => ({ value: c.name(), description: c.summary() })),
                { value: 'help', description: 'display help for command' },
              ],
        files: false,
      };
    if (command.commands.length > 0 && ctx.args.length === 0)
      return {
        candidates: command.commands.map((c) => ({ value: c.name(), description: c.summary() || c.description() })),
        files: false,
      };
    const declared = command.registeredArguments;
    const arg = declared[Math.min(ctx.args.length, declared.length - 1)];
    if (!arg || (ctx.args.length >= declared.length && !arg.variadic)) return { candidates: [], files: false };
    return values(arg, arg.name(), arg.name(), ctx);
  })();
  const prefix = current.includes('=') && !current.startsWith('-') ? '' : current;
  return { candidates: result.candidates.filter((c) => c.value.startsWith(prefix)), files: result.files };
}

/** `kitfed __complete WORD…`: the candidates, one per line (`value<TAB>description`), then `:files` if wanted. */
export async function printCompletion(program: Command, words: readonly string[]): Promise<void> {
  const { candidates, files } = await complete(program, words.length > 0 ? words : ['']);
  const lines = candidates.map((c) => (c.description ? `${c.value}\t${c.description.replace(/\s+/g, ' ')}` : c.value));
  if (files) lines.push(':files');
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
}
