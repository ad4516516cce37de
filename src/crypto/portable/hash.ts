/**
 * Hash, MAC and KDF of the portable provider (RFC 9420 §5.1), on @noble/hashes.
 *
 * The KDF is HKDF (RFC 5869) over the suite's hash, as every RFC 9420 suite specifies.
 * @module
 */
import { expand, extract } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import type { CHash } from "@noble/hashes/utils.js";
import { UsageError } from "../../errors.js";
import type { HashName } from "../cipher-suite.js";

const HASHES: Readonly<Record<HashName, CHash>> = { "SHA-256": sha256, "SHA-384": sha384, "SHA-512": sha512 };

/** The symmetric primitives bound to one hash function. */
export interface HashOps {
  hash(data: Uint8Array): Uint8Array;
  mac(key: Uint8Array, data: Uint8Array): Uint8Array;
  kdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array;
  kdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array;
}

export function hashOps(name: HashName): HashOps {
  const H = HASHES[name];
  const Nh = H.outputLen;
  return Object.freeze({
    hash: (data: Uint8Array): Uint8Array => H(data),
    mac: (key: Uint8Array, data: Uint8Array): Uint8Array => hmac(H, key, data),
    // RFC 5869 §2.2: an empty salt is treated as HashLen zero bytes (noble does this itself).
    kdfExtract: (salt: Uint8Array, ikm: Uint8Array): Uint8Array => extract(H, ikm, salt),
    kdfExpand: (prk: Uint8Array, info: Uint8Array, length: number): Uint8Array => {
      // RFC 5869 §2.3: L <= 255*HashLen.
      if (!Number.isInteger(length) || length < 0 || length > 255 * Nh) {
        throw new UsageError("usage.invalid_length", `KDF.Expand length must be an integer in 0..${255 * Nh}, got ${length}`);
      }
      if (length === 0) return new Uint8Array(0);
      return expand(H, prk, info, length);
    },
  });
}
