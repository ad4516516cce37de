/**
 * The labeled KDF of HPKE (RFC 9180 §4), shared by the DHKEM (suite_id "KEM"||kem_id) and the key
 * schedule (suite_id "HPKE"||kem_id||kdf_id||aead_id).
 * @module
 */
import type { HashName } from "../cipher-suite.js";
import { hashOps, type HashOps } from "./hash.js";
import { hmac } from "./hmac.js";

const HPKE_V1 = new TextEncoder().encode("HPKE-v1");

const HMAC_ALG: Readonly<Record<HashName, "sha256" | "sha384" | "sha512">> = { "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512" };
const HASH_LEN: Readonly<Record<HashName, number>> = { "SHA-256": 32, "SHA-384": 48, "SHA-512": 64 };

/** Labels are ASCII constants; encode each once. */
const labelCache = new Map<string, Uint8Array>();
function label(s: string): Uint8Array {
  let b = labelCache.get(s);
  if (b === undefined) {
    b = new TextEncoder().encode(s);
    labelCache.set(s, b);
  }
  return b;
}

/** I2OSP(n, w), big-endian (RFC 8017 §4.1). */
export function i2osp(n: number, w: number): Uint8Array {
  const out = new Uint8Array(w);
  for (let i = w - 1, v = n; i >= 0; i--, v = Math.floor(v / 256)) out[i] = v & 0xff;
  return out;
}

export interface LabeledKdf {
  readonly Nh: number;
  readonly hash: HashOps;
  /** LabeledExtract(salt, label, ikm); `ikm` parts are concatenated (saves a copy). */
  extract(salt: Uint8Array, label: string, ...ikm: Uint8Array[]): Uint8Array;
  /** LabeledExpand(prk, label, info, L). */
  expand(prk: Uint8Array, label: string, info: Uint8Array, length: number): Uint8Array;
}

/**
 * RFC 9180 §4:
 *   def LabeledExtract(salt, label, ikm):
 *     labeled_ikm = concat("HPKE-v1", suite_id, label, ikm)
 *     return Extract(salt, labeled_ikm)
 *   def LabeledExpand(prk, label, info, L):
 *     labeled_info = concat(I2OSP(L, 2), "HPKE-v1", suite_id, label, info)
 *     return Expand(prk, labeled_info, L)
 */
export function labeledKdf(hashName: HashName, suiteId: Uint8Array): LabeledKdf {
  const alg = HMAC_ALG[hashName];
  const Nh = HASH_LEN[hashName];
  const zeroSalt = new Uint8Array(Nh);
  const hash = hashOps(hashName);
  return Object.freeze({
    Nh,
    hash,
    extract(salt: Uint8Array, lbl: string, ...ikm: Uint8Array[]): Uint8Array {
      // Extract = HMAC(salt, labeled_ikm), an empty salt being Nh zero bytes (RFC 5869 §2.2).
      return hmac(alg, salt.length === 0 ? zeroSalt : salt, HPKE_V1, suiteId, label(lbl), ...ikm);
    },
    expand(prk: Uint8Array, lbl: string, info: Uint8Array, length: number): Uint8Array {
      const l = label(lbl);
      const labeledInfo = new Uint8Array(2 + HPKE_V1.length + suiteId.length + l.length + info.length);
      let o = 0;
      for (const part of [i2osp(length, 2), HPKE_V1, suiteId, l, info]) {
        labeledInfo.set(part, o);
        o += part.length;
      }
      return hash.kdfExpand(prk, labeledInfo, length);
    },
  });
}
