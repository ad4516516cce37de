/**
 * AEAD of the portable provider (RFC 9420 §5.1, RFC 5116): AES-GCM and ChaCha20-Poly1305 on
 * @noble/ciphers. Ciphertexts are `ct || tag` with a 16-byte tag, as RFC 9180 §7.3 lists.
 *
 * Key and nonce lengths are checked here, at the boundary, so a caller bug surfaces as a
 * {@link UsageError} naming the parameter rather than a library exception.
 * @module
 */
import { gcm } from "@noble/ciphers/aes.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { CryptoError, UsageError } from "../../errors.js";
import type { AeadName } from "../cipher-suite.js";

const TAG_LENGTH = 16;

type NobleAead = (key: Uint8Array, nonce: Uint8Array, aad?: Uint8Array) => {
  encrypt(plaintext: Uint8Array): Uint8Array;
  decrypt(ciphertext: Uint8Array): Uint8Array;
};

const CIPHERS: Readonly<Record<AeadName, NobleAead>> = {
  "AES-128-GCM": gcm,
  "AES-256-GCM": gcm,
  ChaCha20Poly1305: chacha20poly1305,
};

export interface AeadOps {
  aeadSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  aeadOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array;
}

/** `Nk`/`Nn` come from the suite parameters (RFC 9180 §7.3). */
export function aeadOps(name: AeadName, Nk: number, Nn: number): AeadOps {
  const cipher = CIPHERS[name];
  const check = (key: Uint8Array, nonce: Uint8Array): void => {
    if (key.length !== Nk) throw new UsageError("usage.invalid_key_length", `${name} key must be ${Nk} bytes, got ${key.length}`);
    if (nonce.length !== Nn) throw new UsageError("usage.invalid_nonce_length", `${name} nonce must be ${Nn} bytes, got ${nonce.length}`);
  };
  return Object.freeze({
    aeadSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
      check(key, nonce);
      return cipher(key, nonce, aad).encrypt(plaintext);
    },
    aeadOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
      check(key, nonce);
      // One uniform failure for a short input and a bad tag: no oracle on which check failed.
      if (ciphertext.length < TAG_LENGTH) throw new CryptoError("crypto.aead", "AEAD authentication failed");
      try {
        return cipher(key, nonce, aad).decrypt(ciphertext);
      } catch {
        throw new CryptoError("crypto.aead", "AEAD authentication failed");
      }
    },
  });
}
