/**
 * Kubernetes resource quantities (`500m`, `1Gi`, `2`, `1e3`) with exact arithmetic and kube's
 * canonical text, as `resource.Quantity` prints them in ResourceQuota status and admission
 * messages (`128Mi` + `128Mi` is `256Mi`, 1.5 CPU is `1500m`, `1024Mi` is `1Gi`). Values are held
 * in nano-units as bigints; finer values round up to 1n, as kube's parser does.
 * (client-node's `quantityToScalar` is floating point and has no formatter.)
 */

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export interface Quantity {
  /** The value × 10⁹. */
  nano: bigint;
  format: QuantityFormat;
}

const NANO = 1_000_000_000n;
const BINARY: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const DECIMAL_SUFFIX = new Map(Object.entries(DECIMAL).map(([s, e]) => [e, s]));
const BINARY_SUFFIX = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
const PATTERN = /^([+-]?)(\d*)(?:\.(\d*))?(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;

export class QuantityError extends Error {}

/** `value × 10^exp` in nano units, rounding away from zero like kube (a positive 0.1n is 1n). */
function scaled(digits: bigint, exp: number): bigint {
  const shift = exp + 9;
  if (shift >= 0) return digits * 10n ** BigInt(shift);
  const div = 10n ** BigInt(-shift);
  const q = digits / div;
  return digits % div === 0n ? q : q + (digits > 0n ? 1n : -1n);
}

export function parseQuantity(text: string | number): Quantity {
  const s = String(text).trim();
  const m = PATTERN.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === ''))
    throw new QuantityError(
      `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
    );
  const sign = m[1] === '-' ? -1n : 1n;
  const whole = m[2] ?? '';
  const frac = m[3] ?? '';
  const digits = sign * BigInt(`${whole}${frac}` || '0');
  const fracExp = -frac.length;
  if (m[4]) return { nano: scaled(digits, fracExp + Number(m[4].slice(1))), format: 'DecimalExponent' };
  const suffix = m[5] ?? '';
  if (suffix in BINARY) {
    const factor = 1024n ** BigInt(BINARY[suffix]!);
    return { nano: scaled(digits * factor, fracExp), format: 'BinarySI' };
  }
  return { nano: scaled(digits, fracExp + DECIMAL[suffix]!), format: 'DecimalSI' };
}

/** Parses, or returns undefined for anything that is not a quantity. */
export function tryQuantity(v: unknown): Quantity | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  try {
    return parseQuantity(v);
  } catch {
    return undefined;
  }
}

export function zero(format: QuantityFormat = 'DecimalSI'): Quantity {
  return { nano: 0n, format };
}

/** `a + b`, in `a`'s format unless `a` is zero (kube's Quantity.Add). */
export function add(a: Quantity, b: Quantity): Quantity {
  return { nano: a.nano + b.nano, format: a.nano === 0n ? b.format : a.format };
}

export function sub(a: Quantity, b: Quantity): Quantity {
  return { nano: a.nano - b.nano, format: a.nano === 0n ? b.format : a.format };
}

export function cmp(a: Quantity, b: Quantity): number {
  return a.nano < b.nano ? -1 : a.nano > b.nano ? 1 : 0;
}

/** The value in milli-units, rounded up (kube's MilliValue). */
export function milliValue(q: Quantity): number {
  const div = 1_000_000n;
  const m = q.nano / div + (q.nano % div > 0n ? 1n : 0n);
  return Number(m);
}

/** The value as a float (for ratios and utilisation figures). */
export function toNumber(q: Quantity): number {
  return Number(q.nano) / 1e9;
}

function removeFactors(v: bigint, base: bigint, max = Infinity): [bigint, number] {
  let n = 0;
  while (v !== 0n && v % base === 0n && n < max) {
    v /= base;
    n++;
  }
  return [v, n];
}

/** kube's canonical text for a quantity (what `Quantity.String()` prints). */
export function formatQuantity(q: Quantity): string {
  let format = q.format;
  const abs = q.nano < 0n ? -q.nano : q.nano;
  if (format === 'BinarySI' && (abs < 1024n * NANO || q.nano % NANO !== 0n)) format = 'DecimalSI';
  if (format === 'BinarySI') {
    const [amount, exp] = removeFactors(q.nano / NANO, 1024n, BINARY_SUFFIX.length - 1);
    return `${amount}${BINARY_SUFFIX[exp]!}`;
  }
  if (q.nano === 0n) return '0';
  let [amount, exp] = removeFactors(q.nano, 10n);
  exp -= 9;
  const r = ((exp % 3) + 3) % 3;
  if (r !== 0) {
    amount *= 10n ** BigInt(r);
    exp -= r;
  }
  if (format === 'DecimalExponent') return exp === 0 ? `${amount}` : `${amount}e${exp}`;
  const suffix = DECIMAL_SUFFIX.get(exp);
  return suffix === undefined ? `${amount}e${exp}` : `${amount}${suffix}`;
}

/** Re-prints a quantity string canonically (unparseable text is returned unchanged). */
export function canonical(text: string): string {
  const q = tryQuantity(text);
  return q ? formatQuantity(q) : text;
}

export type ResourceList = Record<string, Quantity>;

/** Parses a `ResourceList` (`{cpu: "500m", memory: "1Gi"}`), skipping what does not parse. */
export function resourceList(v: unknown): ResourceList {
  const out: ResourceList = {};
  if (typeof v !== 'object' || v === null) return out;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const q = tryQuantity(x);
    if (q) out[k] = q;
  }
  return out;
}

/** `a + b` key by key (keys of either). */
export function addLists(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = out[k] ? add(out[k], v) : v;
  return out;
}

/** Sorted `k=v,k=v` (kube's prettyPrint of a ResourceList in quota messages). */
export function prettyList(list: ResourceList): string {
  return Object.keys(list)
    .sort()
    .map((k) => `${k}=${formatQuantity(list[k]!)}`)
    .join(',');
}

export function formatList(list: ResourceList): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(list).sort()) out[k] = formatQuantity(list[k]!);
  return out;
}
