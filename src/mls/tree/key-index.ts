/**
 * A set of public keys with cheap inserts and lookups, for the uniqueness checks of RFC 9420 §7.3
 * and §12.4.2 over whole trees. Keys are bucketed by a 30-bit tag taken from their last four
 * bytes (uniformly distributed for every KEM and signature public-key format; 30 bits keep the
 * tag a small integer for the Map) and compared in full only within a bucket, so no string is
 * built per key.
 * @internal
 * @module
 */
import { bytesEqual } from "../../util/bytes.js";

/** A 30-bit non-negative tag of a public key (its last four bytes, top two bits dropped). */
export function keyTag(k: Uint8Array): number {
  const n = k.length;
  if (n < 4) return n;
  return k[n - 1]! | (k[n - 2]! << 8) | (k[n - 3]! << 16) | ((k[n - 4]! & 0x3f) << 24);
}

interface Entry<T> {
  readonly key: Uint8Array;
  readonly value: T;
  readonly next: Entry<T> | undefined;
}

export class KeyIndex<T> {
  readonly #buckets = new Map<number, Entry<T>>();

  /** The value stored with an equal key, or undefined. */
  get(key: Uint8Array): T | undefined {
    for (let e = this.#buckets.get(keyTag(key)); e !== undefined; e = e.next) if (bytesEqual(e.key, key)) return e.value;
    return undefined;
  }

  /** Add `key` with `value` unless an equal key is present; returns the value already stored, if any. */
  add(key: Uint8Array, value: T): T | undefined {
    const t = keyTag(key);
    const head = this.#buckets.get(t);
    for (let e = head; e !== undefined; e = e.next) if (bytesEqual(e.key, key)) return e.value;
    this.#buckets.set(t, { key, value, next: head });
    return undefined;
  }
}
