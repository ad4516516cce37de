/**
 * AEAD of the native provider (RFC 9420 §5.1, RFC 5116): AES-128-GCM, AES-256-GCM and
 * ChaCha20-Poly1305 (RFC 8439) on `node:crypto`. Ciphertexts are `ct || tag` with a 16-byte tag
 * (RFC 9180 §7.3).
 *
 * Key and nonce lengths are checked at the boundary, so a caller bug surfaces as a
 * {@link UsageError} naming the parameter rather than an OpenSSL message.
 * @module
 */
import { createCipheriv, createDecipheriv, type CipherGCMTypes, type CipherChaCha20Poly1305Types } from "node:crypto";
import { CryptoError, UsageError } from "../../errors.js";
import type { AeadName } from "../cipher-suite.js";
import { u8 } from "./keys.js";

const TAG_LENGTH = 16;
/** Plaintext bytes per `update()` when sealing (see aeadSeal). */
const SEAL_CHUNK = 64 * 1024;

type NodeAead = CipherGCMTypes | CipherChaCha20Poly1305Types;

const NODE_NAMES: Readonly<Record<AeadName, NodeAead>> = {
  "AES-128-GCM": "aes-128-gcm",
  "AES-256-GCM": "aes-256-gcm",
  ChaCha20Poly1305: "chacha20-poly1305",
};

export interface AeadOps {
  aeadSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  aeadOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array;
}

const authFailed = (): CryptoError => new CryptoError("crypto.aead", "AEAD authentication failed");

/** `Nk`/`Nn` come from the suite parameters (RFC 9180 §7.3). */
export function aeadOps(name: AeadName, Nk: number, Nn: number): AeadOps {
  const alg = NODE_NAMES[name];
  // Two branches only so the overloads of createCipheriv/createDecipheriv type-check.
  const cipher = (key: Uint8Array, nonce: Uint8Array) =>
    alg === "chacha20-poly1305"
      ? createCipheriv(alg, key, nonce, { authTagLength: TAG_LENGTH })
      : createCipheriv(alg, key, nonce, { authTagLength: TAG_LENGTH });
  const decipher = (key: Uint8Array, nonce: Uint8Array) =>
    alg === "chacha20-poly1305"
      ? createDecipheriv(alg, key, nonce, { authTagLength: TAG_LENGTH })
      : createDecipheriv(alg, key, nonce, { authTagLength: TAG_LENGTH });
  const check = (key: Uint8Array, nonce: Uint8Array): void => {
    if (key.length !== Nk) throw new UsageError("usage.invalid_key_length", `${name} key must be ${Nk} bytes, got ${key.length}`);
    if (nonce.length !== Nn) throw new UsageError("usage.invalid_nonce_length", `${name} nonce must be ${Nn} bytes, got ${nonce.length}`);
  };
  return Object.freeze({
    aeadSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
      check(key, nonce);
      const c = cipher(key, nonce);
      c.setAAD(aad, { plaintextLength: plaintext.length }); // the length matters to CCM only
      const out = new Uint8Array(plaintext.length + TAG_LENGTH);
      // Node returns a new Buffer from every update(): a large plaintext (the ~1 MB Commit of a
      // 10,000-member group) goes through in chunks, so that this is not a second full copy.
      let o = 0;
      for (let i = 0; i < plaintext.length; i += SEAL_CHUNK) {
        const body = c.update(plaintext.subarray(i, i + SEAL_CHUNK));
        out.set(body, o);
        o += body.length;
      }
      const rest = c.final(); // empty for stream modes, kept for completeness
      out.set(rest, o);
      out.set(c.getAuthTag(), o + rest.length);
      return out;
    },
    aeadOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
      check(key, nonce);
      // One uniform failure for a short input and a bad tag: no oracle on which check failed.
      if (ciphertext.length < TAG_LENGTH) throw authFailed();
      const split = ciphertext.length - TAG_LENGTH;
      const d = decipher(key, nonce);
      d.setAAD(aad, { plaintextLength: split });
      d.setAuthTag(ciphertext.subarray(split));
      const body = d.update(ciphertext.subarray(0, split));
      let rest: Buffer;
      try {
        rest = d.final(); // throws when the tag does not verify
      } catch {
        body.fill(0); // unauthenticated plaintext never leaves this function
        throw authFailed();
      }
      // GCM and ChaCha20-Poly1305 are stream modes: update() returned the whole plaintext.
      if (rest.length === 0 && body.length === split) return u8(body);
      const out = new Uint8Array(split);
      out.set(body, 0);
      out.set(rest, body.length);
      body.fill(0);
      return out;
    },
  });
}
