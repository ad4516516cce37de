/**
 * Signature schemes of the portable provider (RFC 9420 §5.1.2), on @noble/curves.
 *
 * - Ed25519 / Ed448: pure EdDSA (RFC 8032), private key = 32/57-byte seed, strict RFC 8032
 *   decoding (no ZIP-215 leniency).
 * - ECDSA P-256/P-384/P-521 with SHA-256/384/512: private key = big-endian scalar, public key =
 *   uncompressed SEC1 point, signatures DER-encoded (RFC 8446 §4.2.3).
 *
 * `verify` returns false on any malformed input; it never throws on hostile bytes.
 * @module
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { ed448 } from "@noble/curves/ed448.js";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { UsageError } from "../../errors.js";
import type { KeyPair, SignatureName } from "../cipher-suite.js";

export interface SignatureOps {
  signatureKeyPair(): KeyPair;
  signaturePublicKey(privateKey: Uint8Array): Uint8Array;
  sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

/**
 * Left-pads a big-endian scalar to the curve's length. Some implementations (and the mlswg
 * vectors for P-521) drop leading zero bytes of ECDSA/DHKEM private scalars.
 */
export function padScalar(what: string, key: Uint8Array, length: number): Uint8Array {
  if (key.length === length) return key;
  if (key.length === 0 || key.length > length) {
    throw new UsageError("usage.invalid_key_length", `${what} private key must be at most ${length} bytes, got ${key.length}`);
  }
  const out = new Uint8Array(length);
  out.set(key, length - key.length);
  return out;
}

function eddsa(name: SignatureName, curve: typeof ed25519, Nsk: number, Npk: number, Nsig: number): SignatureOps {
  const checkPriv = (k: Uint8Array): void => {
    if (k.length !== Nsk) throw new UsageError("usage.invalid_key_length", `${name} private key must be ${Nsk} bytes, got ${k.length}`);
  };
  return Object.freeze({
    signatureKeyPair(): KeyPair {
      const { secretKey, publicKey } = curve.keygen();
      return { privateKey: secretKey, publicKey };
    },
    signaturePublicKey(privateKey: Uint8Array): Uint8Array {
      checkPriv(privateKey);
      return curve.getPublicKey(privateKey);
    },
    sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
      checkPriv(privateKey);
      return curve.sign(message, privateKey);
    },
    verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
      if (publicKey.length !== Npk || signature.length !== Nsig) return false;
      try {
        return curve.verify(signature, message, publicKey, { zip215: false });
      } catch {
        return false;
      }
    },
  });
}

function ecdsa(name: SignatureName, curve: typeof p256): SignatureOps {
  const Nsk = curve.lengths.secretKey ?? 0;
  const Npk = curve.lengths.publicKeyUncompressed ?? 0;
  const priv = (k: Uint8Array): Uint8Array => {
    const sk = padScalar(name, k, Nsk);
    if (!curve.utils.isValidSecretKey(sk)) throw new UsageError("usage.invalid_private_key", `${name} private key is not a valid scalar`);
    return sk;
  };
  return Object.freeze({
    signatureKeyPair(): KeyPair {
      const privateKey = curve.utils.randomSecretKey();
      return { privateKey, publicKey: curve.getPublicKey(privateKey, false) };
    },
    signaturePublicKey(privateKey: Uint8Array): Uint8Array {
      return curve.getPublicKey(priv(privateKey), false);
    },
    sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
      // `prehash` applies the curve's own hash (SHA-256/384/512). Low-S output is a valid DER
      // ECDSA signature for every verifier.
      return curve.sign(message, priv(privateKey), { prehash: true, lowS: true, format: "der" });
    },
    verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
      // RFC 9420 §5.1.1 / RFC 8446 §4.2.3: uncompressed points only.
      if (publicKey.length !== Npk || publicKey[0] !== 0x04) return false;
      try {
        // lowS: false — other implementations (OpenSSL) emit high-S signatures, which are valid.
        return curve.verify(signature, message, publicKey, { prehash: true, lowS: false, format: "der" });
      } catch {
        return false;
      }
    },
  });
}

const cache = new Map<SignatureName, SignatureOps>();

export function signatureOps(name: SignatureName): SignatureOps {
  let ops = cache.get(name);
  if (ops === undefined) {
    switch (name) {
      case "Ed25519":
        ops = eddsa(name, ed25519, 32, 32, 64);
        break;
      case "Ed448":
        ops = eddsa(name, ed448, 57, 57, 114);
        break;
      case "ECDSA-P256-SHA256":
        ops = ecdsa(name, p256);
        break;
      case "ECDSA-P384-SHA384":
        ops = ecdsa(name, p384);
        break;
      case "ECDSA-P521-SHA512":
        ops = ecdsa(name, p521);
        break;
    }
    cache.set(name, ops);
  }
  return ops;
}
