/**
 * A memo of values derived from large public byte strings, keyed by the array object, for the
 * HPKE key schedule (RFC 9180 §5.1: `info_hash = LabeledExtract("", "info_hash", info)`).
 *
 * MLS seals many messages under one `info`: a Welcome encrypts GroupSecrets to every new member
 * with `EncryptWithLabel(init_key, "Welcome", encrypted_group_info, .)` (RFC 9420 §12.4.3.1), whose
 * EncryptContext holds the whole encrypted GroupInfo (megabytes with a ratchet tree of thousands
 * of members), and an UpdatePath seals each path secret to every node of a resolution under the
 * same GroupContext (§7.6). Hashing `info` once per seal makes a Welcome to n members O(n²).
 *
 * Each entry keeps a copy of the bytes and is used only while the array still holds exactly those
 * bytes (a caller may reuse or overwrite its buffer), so the result is always that of hashing the
 * current contents. Comparing is a plain byte comparison, far cheaper than hashing; entries go away
 * with the caller's array (WeakMap). No Node-specific code: both providers use it.
 * @module
 */

/** Byte equality; providers pass their fastest (e.g. `Buffer.compare` on Node). */
export type BytesEqual = (a: Uint8Array, b: Uint8Array) => boolean;

/** Plain-JavaScript equality, compared 4 bytes at a time where alignment allows. */
export function jsBytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  let i = 0;
  if (n >= 64 && a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const a32 = new Uint32Array(a.buffer, a.byteOffset, n >>> 2);
    const b32 = new Uint32Array(b.buffer, b.byteOffset, n >>> 2);
    for (let k = 0; k < a32.length; k++) if (a32[k] !== b32[k]) return false;
    i = a32.length * 4;
  }
  for (; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface Entry {
  readonly bytes: Uint8Array;
  readonly value: Uint8Array;
}

export class InfoHashCache {
  readonly #map = new WeakMap<Uint8Array, Entry>();

  constructor(private readonly equal: BytesEqual = jsBytesEqual) {}

  /** `derive(info)`, memoised per array object and validated against its current contents. */
  get(info: Uint8Array, derive: (info: Uint8Array) => Uint8Array): Uint8Array {
    const hit = this.#map.get(info);
    if (hit !== undefined && this.equal(hit.bytes, info)) return hit.value;
    const value = derive(info);
    this.#map.set(info, { bytes: info.slice(), value });
    return value;
  }
}
