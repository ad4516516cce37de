/**
 * Signature schemes of the native provider (RFC 9420 §5.1.2) on `node:crypto`.
 *
 * - Ed25519 / Ed448: pure EdDSA (RFC 8032), private key = 32/57-byte seed, public key raw.
 * - ECDSA P-256/P-384/P-521 with SHA-256/384/512: private key = big-endian scalar, public key =
 *   uncompressed SEC1 point, signatures DER-encoded (RFC 8446 §4.2.3).
 *
 * Imported key objects are cached (see ./keys.ts): private keys by array identity, public keys
 * by value in a bounded LRU. `verify` returns false on any malformed input; it never throws on
 * hostile bytes.
 * @module
 */
import { sign as nodeSign, verify as nodeVerify, createECDH, randomFillSync, type KeyObject } from "node:crypto";
import type { KeyPair, SignatureName } from "../cipher-suite.js";
import {
  BytesLru,
  importNistPrivate,
  importNistPublic,
  importOkpPrivate,
  importOkpPublic,
  NIST,
  ObjectCache,
  OKP_LENGTHS,
  padScalar,
  u8,
  type NistCurve,
  type NistPrivate,
  type OkpPrivate,
} from "./keys.js";

export interface SignatureOps {
  signatureKeyPair(): KeyPair;
  signaturePublicKey(privateKey: Uint8Array): Uint8Array;
  sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

/** Public keys seen recently per scheme (group members' keys recur across messages). */
const PUBLIC_CACHE_SIZE = 512;

function eddsa(crv: "Ed25519" | "Ed448", Nsig: number): SignatureOps {
  const { sk: Nsk, pk: Npk } = OKP_LENGTHS[crv];
  const privCache = new ObjectCache<OkpPrivate>();
  const pubCache = new BytesLru<KeyObject>(PUBLIC_CACHE_SIZE);
  const priv = (k: Uint8Array): OkpPrivate => privCache.get(k, (raw) => importOkpPrivate(crv, raw));
  return Object.freeze({
    signatureKeyPair(): KeyPair {
      // RFC 8032 §5.1.5 / §5.2.5: the private key is b random bits (the seed).
      const privateKey = randomFillSync(new Uint8Array(Nsk));
      return { privateKey, publicKey: priv(privateKey).publicKey.slice() };
    },
    signaturePublicKey(privateKey: Uint8Array): Uint8Array {
      return priv(privateKey).publicKey.slice();
    },
    sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
      // Pure EdDSA: no pre-hash, hence the null digest.
      return u8(nodeSign(null, message, priv(privateKey).key));
    },
    verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
      if (publicKey.length !== Npk || signature.length !== Nsig) return false;
      try {
        return nodeVerify(null, message, pubCache.get(publicKey, (raw) => importOkpPublic(crv, raw)), signature);
      } catch {
        return false;
      }
    },
  });
}

function ecdsa(crv: NistCurve, digest: "sha256" | "sha384" | "sha512"): SignatureOps {
  const { ossl, n } = NIST[crv];
  const privCache = new ObjectCache<NistPrivate>();
  const pubCache = new BytesLru<KeyObject>(PUBLIC_CACHE_SIZE);
  const priv = (k: Uint8Array): NistPrivate => privCache.get(k, (raw) => importNistPrivate(crv, raw));
  return Object.freeze({
    signatureKeyPair(): KeyPair {
      const ecdh = createECDH(ossl);
      ecdh.generateKeys();
      // getPrivateKey() may drop leading zero bytes; the wire format is the full-length scalar.
      const privateKey = padScalar(crv, u8(ecdh.getPrivateKey())).slice();
      return { privateKey, publicKey: priv(privateKey).publicKey.slice() };
    },
    signaturePublicKey(privateKey: Uint8Array): Uint8Array {
      return priv(privateKey).publicKey.slice();
    },
    sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
      return u8(nodeSign(digest, message, { key: priv(privateKey).key, dsaEncoding: "der" }));
    },
    verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
      // RFC 9420 §5.1.1 / RFC 8446 §4.2.3: uncompressed points only.
      if (publicKey.length !== 1 + 2 * n || publicKey[0] !== 0x04 || signature.length === 0) return false;
      try {
        const key = pubCache.get(publicKey, (raw) => importNistPublic(crv, raw));
        return nodeVerify(digest, message, { key, dsaEncoding: "der" }, signature);
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
        ops = eddsa("Ed25519", 64);
        break;
      case "Ed448":
        ops = eddsa("Ed448", 114);
        break;
      case "ECDSA-P256-SHA256":
        ops = ecdsa("P-256", "sha256");
        break;
      case "ECDSA-P384-SHA384":
        ops = ecdsa("P-384", "sha384");
        break;
      case "ECDSA-P521-SHA512":
        ops = ecdsa("P-521", "sha512");
        break;
    }
    cache.set(name, ops);
  }
  return ops;
}
