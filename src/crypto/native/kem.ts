/**
 * DHKEM (RFC 9180 §4.1) over X25519, X448, P-256, P-384 and P-521 on `node:crypto`.
 *
 * Keys are in the serialized forms of RFC 9180 §7.1.1: raw 32/56-byte strings for X25519/X448,
 * big-endian scalars and uncompressed SEC1 points for the NIST curves.
 *
 * Errors: a malformed *own* private key is a {@link UsageError}; anything wrong with a peer's
 * public key or encapsulation (bad length, off the curve, low order, all-zero DH output) is a
 * {@link CryptoError} `crypto.hpke`, never a raw Node exception.
 * @module
 */
import { createECDH, diffieHellman, type ECDH, type KeyObject } from "node:crypto";
import { CryptoError } from "../../errors.js";
import { wipe } from "../../util/bytes.js";
import type { HashName, KemName, KeyPair } from "../cipher-suite.js";
import { i2osp, labeledKdf, type LabeledKdf } from "./hpke-kdf.js";
import {
  ecdhFromPrivate,
  ecdhPublicRaw,
  importNistPrivate,
  importNistPublic,
  importOkpPrivate,
  importOkpPublic,
  NIST,
  ObjectCache,
  padScalar,
  u8,
  type NistCurve,
} from "./keys.js";
import { randomBytes } from "./random.js";

/** A private key ready for DH, with its serialized public key. */
interface DhPrivate {
  readonly publicKey: Uint8Array;
  /** DH(sk, pk) with the peer's serialized public key; throws CryptoError on a bad key. */
  dh(peer: Uint8Array): Uint8Array;
}

/** The curve-specific half of a DHKEM. */
interface DhGroup {
  readonly Nsk: number;
  readonly Npk: number;
  /** Imports a serialized private key (cached by array identity). */
  importPrivate(sk: Uint8Array): DhPrivate;
  /** A fresh ephemeral key (never serialized). */
  ephemeral(): DhPrivate;
  /** A fresh serialized private key. */
  randomPrivate(): Uint8Array;
  /** RFC 9180 §7.1.3 DeriveKeyPair, the private half. */
  derivePrivate(kdf: LabeledKdf, dkpPrk: Uint8Array): Uint8Array;
}

const badPublicKey = (cause?: unknown): CryptoError =>
  new CryptoError("crypto.hpke", "invalid HPKE public key or KEM output", cause === undefined ? undefined : { cause });

function isAllZero(b: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < b.length; i++) acc |= b[i]!;
  return acc === 0;
}

/** X25519 / X448 (RFC 7748). */
function okpGroup(crv: "X25519" | "X448", Nsk: number): DhGroup {
  const cache = new ObjectCache<DhPrivate>();
  const wrap = (key: KeyObject, publicKey: Uint8Array): DhPrivate => ({
    publicKey,
    dh(peer: Uint8Array): Uint8Array {
      let out: Uint8Array;
      try {
        out = u8(diffieHellman({ privateKey: key, publicKey: importOkpPublic(crv, peer) }));
      } catch (e) {
        // OpenSSL refuses low-order points itself (all-zero output); other failures are bad input.
        throw badPublicKey(e);
      }
      // RFC 9180 §7.1.4: the all-zero DH output MUST be rejected.
      if (isAllZero(out)) throw badPublicKey();
      return out;
    },
  });
  return {
    Nsk,
    Npk: Nsk,
    importPrivate: (sk) =>
      cache.get(sk, (raw) => {
        const { key, publicKey } = importOkpPrivate(crv, raw);
        return wrap(key, publicKey);
      }),
    ephemeral(): DhPrivate {
      // Random bytes imported as a key, not generateKeyPairSync: on Node 20, a JWK export can
      // deadlock when a GC during it finalizes the KeyGenJob that made the same key (seen as a
      // hang in ~1 of 10^5 seals; main thread blocked in ExportJWKEdKey → ~KeyGenJob → mutex).
      const sk = randomBytes(Nsk);
      const { key, publicKey } = importOkpPrivate(crv, sk);
      sk.fill(0);
      return wrap(key, publicKey);
    },
    randomPrivate: () => randomBytes(Nsk),
    // RFC 9180 §7.1.3: sk = LabeledExpand(dkp_prk, "sk", "", Nsk)
    derivePrivate: (kdf, dkpPrk) => kdf.expand(dkpPrk, "sk", new Uint8Array(0), Nsk),
  };
}

/**
 * P-256 / P-384 / P-521 (SEC 1 ECDH, the x-coordinate as the shared secret, RFC 9180 §7.1.1).
 *
 * Two routes to OpenSSL, picked by measurement (Node 20 / OpenSSL 3.0): for P-256 the `ECDH`
 * object is fastest (~85 µs per DH); for P-384 and P-521 `ECDH.computeSecret` costs 1.6-1.7x
 * more than SPKI import + `crypto.diffieHellman` on key objects (P-521: ~3.3 ms vs ~2.0 ms).
 * Both routes reject points that are not on the curve.
 */
function nistGroup(crv: NistCurve, bitmask: number): DhGroup {
  const { ossl, n, order } = NIST[crv];
  const Npk = 1 + 2 * n;
  const cache = new ObjectCache<DhPrivate>();

  const checkPoint = (peer: Uint8Array): void => {
    // RFC 9180 §7.1.1: uncompressed points only.
    if (peer.length !== Npk || peer[0] !== 0x04) throw badPublicKey();
  };
  const checkOutput = (out: Uint8Array): Uint8Array => {
    if (out.length !== n || isAllZero(out)) throw badPublicKey();
    return out;
  };

  const viaEcdh = (ecdh: ECDH): DhPrivate => ({
    publicKey: ecdhPublicRaw(ecdh),
    dh(peer: Uint8Array): Uint8Array {
      checkPoint(peer);
      let out: Uint8Array;
      try {
        out = u8(ecdh.computeSecret(peer));
      } catch (e) {
        throw badPublicKey(e);
      }
      return checkOutput(out);
    },
  });
  const viaKeyObject = (key: KeyObject, publicKey: Uint8Array): DhPrivate => ({
    publicKey,
    dh(peer: Uint8Array): Uint8Array {
      checkPoint(peer);
      let out: Uint8Array;
      try {
        out = u8(diffieHellman({ privateKey: key, publicKey: importNistPublic(crv, peer) }));
      } catch (e) {
        throw badPublicKey(e);
      }
      return checkOutput(out);
    },
  });
  const useEcdh = crv === "P-256";

  return {
    Nsk: n,
    Npk,
    importPrivate: (sk) =>
      cache.get(sk, (raw) => {
        if (useEcdh) return viaEcdh(ecdhFromPrivate(crv, raw));
        const { key, publicKey } = importNistPrivate(crv, raw);
        return viaKeyObject(key, publicKey);
      }),
    ephemeral(): DhPrivate {
      // An ECDH object for every curve here (used for one DH only): no generateKeyPairSync, whose
      // KeyGenJob can deadlock a later JWK export of the key on Node 20 (see okpGroup.ephemeral).
      const ecdh = createECDH(ossl);
      ecdh.generateKeys();
      return viaEcdh(ecdh);
    },
    randomPrivate(): Uint8Array {
      const ecdh = createECDH(ossl);
      ecdh.generateKeys();
      return padScalar(crv, u8(ecdh.getPrivateKey())).slice();
    },
    derivePrivate(kdf, dkpPrk): Uint8Array {
      // RFC 9180 §7.1.3:
      //   while sk == 0 or sk >= order:
      //     if counter > 255: raise DeriveKeyPairError
      //     bytes = LabeledExpand(dkp_prk, "candidate", I2OSP(counter, 1), Nsk)
      //     bytes[0] = bytes[0] & bitmask
      //     sk = OS2IP(bytes)
      for (let counter = 0; counter <= 255; counter++) {
        const bytes = kdf.expand(dkpPrk, "candidate", i2osp(counter, 1), n);
        bytes[0] = bytes[0]! & bitmask;
        let sk = 0n;
        for (const b of bytes) sk = (sk << 8n) | BigInt(b);
        if (sk !== 0n && sk < order) return bytes;
        wipe(bytes);
      }
      throw new CryptoError("crypto.hpke", "DeriveKeyPair: no valid candidate after 256 attempts");
    },
  };
}

/** The KDF each DHKEM is defined with (RFC 9180 §7.1). */
const KEM_HASH: Readonly<Record<KemName, HashName>> = {
  "P-256": "SHA-256",
  "P-384": "SHA-384",
  "P-521": "SHA-512",
  X25519: "SHA-256",
  X448: "SHA-512",
};

export interface Dhkem {
  readonly Nenc: number;
  readonly Npk: number;
  readonly Nsk: number;
  readonly Nsecret: number;
  generateKeyPair(): KeyPair;
  deriveKeyPair(ikm: Uint8Array): KeyPair;
  /** pk(skR), serialized. */
  publicKey(sk: Uint8Array): Uint8Array;
  /** Encap(pkR) → (shared_secret, enc). */
  encap(pkR: Uint8Array): { readonly sharedSecret: Uint8Array; readonly enc: Uint8Array };
  /** Decap(enc, skR) → shared_secret. */
  decap(enc: Uint8Array, skR: Uint8Array): Uint8Array;
}

export function dhkem(kem: KemName, kemId: number, Nsecret: number): Dhkem {
  const group =
    kem === "X25519" ? okpGroup("X25519", 32)
    : kem === "X448" ? okpGroup("X448", 56)
    : nistGroup(kem, kem === "P-521" ? 0x01 : 0xff);
  // RFC 9180 §4.1: suite_id = concat("KEM", I2OSP(kem_id, 2))
  const kdf = labeledKdf(KEM_HASH[kem], new Uint8Array([0x4b, 0x45, 0x4d, ...i2osp(kemId, 2)]));
  const EMPTY = new Uint8Array(0);

  // RFC 9180 §4.1:
  //   def ExtractAndExpand(dh, kem_context):
  //     eae_prk = LabeledExtract("", "eae_prk", dh)
  //     shared_secret = LabeledExpand(eae_prk, "shared_secret", kem_context, Nsecret)
  const extractAndExpand = (dh: Uint8Array, enc: Uint8Array, pkRm: Uint8Array): Uint8Array => {
    const eaePrk = kdf.extract(EMPTY, "eae_prk", dh);
    const kemContext = new Uint8Array(enc.length + pkRm.length);
    kemContext.set(enc, 0);
    kemContext.set(pkRm, enc.length);
    const sharedSecret = kdf.expand(eaePrk, "shared_secret", kemContext, Nsecret);
    wipe(eaePrk, dh);
    return sharedSecret;
  };

  return Object.freeze({
    Nenc: group.Npk,
    Npk: group.Npk,
    Nsk: group.Nsk,
    Nsecret,
    generateKeyPair(): KeyPair {
      const privateKey = group.randomPrivate();
      return { privateKey, publicKey: group.importPrivate(privateKey).publicKey.slice() };
    },
    deriveKeyPair(ikm: Uint8Array): KeyPair {
      // RFC 9180 §7.1.3: dkp_prk = LabeledExtract("", "dkp_prk", ikm)
      const dkpPrk = kdf.extract(EMPTY, "dkp_prk", ikm);
      const privateKey = group.derivePrivate(kdf, dkpPrk);
      wipe(dkpPrk);
      return { privateKey, publicKey: group.importPrivate(privateKey).publicKey.slice() };
    },
    publicKey: (sk: Uint8Array) => group.importPrivate(sk).publicKey.slice(),
    encap(pkR: Uint8Array) {
      // RFC 9180 §4.1: skE, pkE = GenerateKeyPair(); dh = DH(skE, pkR); enc = SerializePublicKey(pkE)
      if (pkR.length !== group.Npk) throw badPublicKey();
      const eph = group.ephemeral();
      const dh = eph.dh(pkR);
      const enc = eph.publicKey;
      return { sharedSecret: extractAndExpand(dh, enc, pkR), enc };
    },
    decap(enc: Uint8Array, skR: Uint8Array): Uint8Array {
      // RFC 9180 §4.1: pkE = DeserializePublicKey(enc); dh = DH(skR, pkE);
      //                kem_context = concat(enc, SerializePublicKey(pk(skR)))
      if (enc.length !== group.Npk) throw badPublicKey();
      const sk = group.importPrivate(skR);
      return extractAndExpand(sk.dh(enc), enc, sk.publicKey);
    },
  });
}
