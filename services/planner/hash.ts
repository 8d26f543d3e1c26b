/**
 * FNV-1 32-bit (Go `hash/fnv.New32()`, not FNV-1a): multiply by the prime, then XOR the byte,
 * over the UTF-8 bytes of the input. The planner hashes `clusterName + key` with no separator.
 */
export const FNV32_OFFSET = 0x811c9dc5;
export const FNV32_PRIME = 0x01000193;

/**
 * Continues an FNV-1 state over the UTF-8 encoding of `s` (lone surrogates encode as U+FFFD). Returns a signed int32
 * state.
 */
export function fnv1Update(state: number, s: string): number {
  let h = state | 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h, FNV32_PRIME) ^ c;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x800) {
      h = Math.imul(h, FNV32_PRIME) ^ (0xc0 | (c >> 6));
    } else if (c < 0x10000) {
      h = Math.imul(h, FNV32_PRIME) ^ (0xe0 | (c >> 12));
      h = Math.imul(h, FNV32_PRIME) ^ (0x80 | ((c >> 6) & 0x3f));
    } else {
      h = Math.imul(h, FNV32_PRIME) ^ (0xf0 | (c >> 18));
      h = Math.imul(h, FNV32_PRIME) ^ (0x80 | ((c >> 12) & 0x3f));
      h = Math.imul(h, FNV32_PRIME) ^ (0x80 | ((c >> 6) & 0x3f));
    }
    h = Math.imul(h, FNV32_PRIME) ^ (0x80 | (c & 0x3f));
  }
  return h;
}

/** FNV-1 32-bit of the UTF-8 bytes of `s`, as an unsigned number. */
export function fnv32(s: string): number {
  return fnv1Update(FNV32_OFFSET, s) >>> 0;
}

/** The planner's tie-break hash: FNV-1 32-bit of `clusterName + key`. */
export function clusterHash(clusterName: string, key: string): number {
  return fnv1Update(fnv1Update(FNV32_OFFSET, clusterName), key) >>> 0;
}
