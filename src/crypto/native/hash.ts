/**
 * Hash, MAC and KDF of the native provider (RFC 9420 §5.1) on `node:crypto`.
 *
 * The KDF is HKDF (RFC 5869) over the suite's hash. `crypto.hkdfSync` only offers Extract and
 * Expand fused, while MLS needs them apart (the key schedule extracts and expands separately), so
 * both steps are written out with HMAC here.
 * @module
 */
import * as nodeCrypto from "node:crypto";
import { createHash } from "node:crypto";
import { UsageError } from "../../errors.js";
import type { HashName } from "../cipher-suite.js";
import { hmac } from "./hmac.js";
import { u8 } from "./keys.js";

/** The symmetric primitives bound to one hash function. */
export interface HashOps {
  hash(data: Uint8Array): Uint8Array;
  mac(key: Uint8Array, data: Uint8Array): Uint8Array;
  kdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array;
  kdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array;
}

const NODE_NAMES: Readonly<Record<HashName, { readonly alg: "sha256" | "sha384" | "sha512"; readonly Nh: number }>> = {
  "SHA-256": { alg: "sha256", Nh: 32 },
  "SHA-384": { alg: "sha384", Nh: 48 },
  "SHA-512": { alg: "sha512", Nh: 64 },
};

const cache = new Map<HashName, HashOps>();

/** `crypto.hash` (one-shot, Node >= 20.12) when present: no Hash object per call. */
const oneShot = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, encoding: "buffer") => Buffer }).hash;

/** Expand's counter byte 0x01: outputs of at most Nh bytes are one HMAC (RFC 5869 §2.3, T(1)). */
const ONE = new Uint8Array([1]);

export function hashOps(name: HashName): HashOps {
  const cached = cache.get(name);
  if (cached !== undefined) return cached;
  const { alg, Nh } = NODE_NAMES[name];
  const zeroSalt = new Uint8Array(Nh);

  const mac = (key: Uint8Array, data: Uint8Array): Uint8Array => hmac(alg, key, data);

  const ops: HashOps = Object.freeze({
    hash: oneShot !== undefined ? (data: Uint8Array): Uint8Array => u8(oneShot(alg, data, "buffer")) : (data: Uint8Array): Uint8Array => u8(createHash(alg).update(data).digest()),
    mac,
    // RFC 5869 §2.2: PRK = HMAC-Hash(salt, IKM); "if not provided, [salt] is set to a string of
    // HashLen zeros". An empty salt is the "not provided" case of RFC 9420/9180.
    kdfExtract: (salt: Uint8Array, ikm: Uint8Array): Uint8Array => mac(salt.length === 0 ? zeroSalt : salt, ikm),
    kdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
      // RFC 5869 §2.3: L <= 255*HashLen.
      if (!Number.isInteger(length) || length < 0 || length > 255 * Nh) {
        throw new UsageError("usage.invalid_length", `KDF.Expand length must be an integer in 0..${255 * Nh}, got ${length}`);
      }
      // RFC 5869 §2.3: T(0) = "", T(i) = HMAC-Hash(PRK, T(i-1) | info | i), OKM = first L octets.
      if (length <= Nh) {
        const t = hmac(alg, prk, info, ONE);
        if (length === Nh) return t;
        const out = new Uint8Array(length);
        out.set(t.subarray(0, length));
        t.fill(0);
        return out;
      }
      const out = new Uint8Array(length);
      const counter = new Uint8Array(1);
      let prev: Uint8Array | undefined;
      for (let i = 1, off = 0; off < length; i++, off += Nh) {
        counter[0] = i;
        const t = prev === undefined ? hmac(alg, prk, info, counter) : hmac(alg, prk, prev, info, counter);
        prev?.fill(0);
        prev = t;
        out.set(off + Nh <= length ? t : t.subarray(0, length - off), off);
      }
      prev?.fill(0);
      return out;
    },
  });
  cache.set(name, ops);
  return ops;
}
