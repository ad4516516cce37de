/**
 * HMAC (RFC 2104) over `crypto.hash`, Node's one-shot digest (Node >= 20.12), for short inputs.
 *
 *   HMAC(K, m) = H((K' xor opad) || H((K' xor ipad) || m)),  K' = K padded to the block size
 *                                                            (H(K) first if K is longer)
 *
 * MLS derives a handful of HMACs per message (sender-data key and nonce, each ratchet step's key,
 * nonce and next secret) and HPKE a few more per seal; each `createHmac` builds a stream object
 * of about a kilobyte. Here one HMAC is two one-shot digests over a reused scratch buffer: ~20%
 * faster and almost nothing for the garbage collector. The scratch buffer holds key-derived
 * bytes only during the call and is zeroed before returning. Inputs longer than
 * {@link MAX_ONE_SHOT} go through `createHmac` (no copy of large data).
 * @module
 */
import * as nodeCrypto from "node:crypto";
import { createHmac } from "node:crypto";
import { u8 } from "./keys.js";

type OneShot = (alg: string, data: Uint8Array, encoding: "buffer") => Buffer;
const oneShot = (nodeCrypto as { hash?: OneShot }).hash;

/** Message bytes up to which the one-shot path is used. */
const MAX_ONE_SHOT = 1024;

const BLOCK: Readonly<Record<string, number>> = { sha256: 64, sha384: 128, sha512: 128 };

/** Sized for the largest block, the largest message and the largest digest. */
const scratch = new Uint8Array(128 + MAX_ONE_SHOT + 64);

/** HMAC-`alg`(key, parts[0] || parts[1] || ...), as a fresh array. */
export function hmac(alg: "sha256" | "sha384" | "sha512", key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const B = BLOCK[alg]!;
  if (oneShot === undefined || n > MAX_ONE_SHOT) {
    const h = createHmac(alg, key);
    for (const p of parts) h.update(p);
    return u8(h.digest());
  }
  // RFC 2104 §2: keys longer than B bytes are hashed first.
  const k = key.length > B ? u8(oneShot(alg, key, "buffer")) : key;
  const s = scratch;
  try {
    for (let i = 0; i < B; i++) s[i] = (i < k.length ? k[i]! : 0) ^ 0x36;
    let o = B;
    for (const p of parts) {
      s.set(p, o);
      o += p.length;
    }
    const inner = oneShot(alg, s.subarray(0, o), "buffer");
    for (let i = 0; i < B; i++) s[i] = (i < k.length ? k[i]! : 0) ^ 0x5c;
    s.set(inner, B);
    const end = B + inner.length;
    inner.fill(0);
    return u8(oneShot(alg, s.subarray(0, end), "buffer"));
  } finally {
    s.fill(0, 0, B + n + 64);
    if (k !== key) k.fill(0);
  }
}
