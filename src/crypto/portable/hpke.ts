/**
 * HPKE base mode (RFC 9180) of the portable provider, on hpke-js, as used by RFC 9420 §5.1.3
 * (EncryptWithLabel) and §8.3 (external init export).
 *
 * hpke-js works on `CryptoKey` objects, so each suite keeps a small cache from key bytes to the
 * imported key (see {@link KeyCache}). Key generation and `hpkePublicKey` use @noble/curves
 * directly: they are plain scalar multiplications and need no CryptoKey round trip.
 *
 * Failures of open/export-receiver are reported as one uniform {@link CryptoError} `crypto.hpke`.
 * @module
 */
import { hmac } from "@noble/hashes/hmac.js";
import { expand } from "@noble/hashes/hkdf.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { x448 } from "@noble/curves/ed448.js";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { AeadId, CipherSuite as HpkeSuite, KdfId, KemId } from "hpke-js";
import { CryptoError, UsageError } from "../../errors.js";
import { bytesEqual, constantTimeEqual } from "../../util/bytes.js";
import type { HpkeExported, HpkeSealed, KeyPair, SuiteParams } from "../cipher-suite.js";
import { InfoHashCache } from "../info-hash-cache.js";
import { aeadOps } from "./aead.js";
import { padScalar } from "./signature.js";

export interface HpkeOps {
  hpkeKeyPair(): Promise<KeyPair>;
  hpkeDeriveKeyPair(ikm: Uint8Array): Promise<KeyPair>;
  hpkePublicKey(privateKey: Uint8Array): Promise<Uint8Array>;
  hpkeSeal(publicKey: Uint8Array, info: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<HpkeSealed>;
  hpkeOpen(privateKey: Uint8Array, kemOutput: Uint8Array, info: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
  hpkeExportSender(publicKey: Uint8Array, info: Uint8Array, exporterContext: Uint8Array, length: number): Promise<HpkeExported>;
  hpkeExportReceiver(privateKey: Uint8Array, kemOutput: Uint8Array, info: Uint8Array, exporterContext: Uint8Array, length: number): Promise<Uint8Array>;
}

/** The raw DH group of a DHKEM: secret-key generation and public-key derivation. */
interface DhGroup {
  randomSecretKey(): Uint8Array;
  publicKey(sk: Uint8Array): Uint8Array;
  /** NIST scalars may arrive without their leading zero bytes; X25519/X448 keys may not. */
  readonly scalar: boolean;
}

const DH_GROUPS: Readonly<Record<SuiteParams["kem"], DhGroup>> = {
  X25519: { randomSecretKey: () => x25519.utils.randomSecretKey(), publicKey: (sk) => x25519.getPublicKey(sk), scalar: false },
  X448: { randomSecretKey: () => x448.utils.randomSecretKey(), publicKey: (sk) => x448.getPublicKey(sk), scalar: false },
  // RFC 9180 §7.1.1: SerializePublicKey for NIST curves is the uncompressed point.
  "P-256": { randomSecretKey: () => p256.utils.randomSecretKey(), publicKey: (sk) => p256.getPublicKey(sk, false), scalar: true },
  "P-384": { randomSecretKey: () => p384.utils.randomSecretKey(), publicKey: (sk) => p384.getPublicKey(sk, false), scalar: true },
  "P-521": { randomSecretKey: () => p521.utils.randomSecretKey(), publicKey: (sk) => p521.getPublicKey(sk, false), scalar: true },
};

const KEM_IDS = {
  X25519: KemId.DhkemX25519HkdfSha256,
  X448: KemId.DhkemX448HkdfSha512,
  "P-256": KemId.DhkemP256HkdfSha256,
  "P-384": KemId.DhkemP384HkdfSha384,
  "P-521": KemId.DhkemP521HkdfSha512,
} as const;
const KDF_IDS = { "SHA-256": KdfId.HkdfSha256, "SHA-384": KdfId.HkdfSha384, "SHA-512": KdfId.HkdfSha512 } as const;
const AEAD_IDS = { "AES-128-GCM": AeadId.Aes128Gcm, "AES-256-GCM": AeadId.Aes256Gcm, ChaCha20Poly1305: AeadId.Chacha20Poly1305 } as const;

/**
 * Byte-string → CryptoKey memo, keyed by the caller's array object. A copy of the bytes is kept
 * and compared on every hit, so a caller that reuses or wipes its buffer gets a fresh import,
 * never a stale key. Entries go away with the caller's array (WeakMap).
 */
class KeyCache {
  private readonly map = new WeakMap<Uint8Array, { readonly bytes: Uint8Array; readonly key: CryptoKey }>();
  constructor(private readonly secret: boolean) {}

  async get(bytes: Uint8Array, load: (b: Uint8Array) => Promise<CryptoKey>): Promise<CryptoKey> {
    const hit = this.map.get(bytes);
    if (hit !== undefined && (this.secret ? constantTimeEqual(hit.bytes, bytes) : bytesEqual(hit.bytes, bytes))) return hit.key;
    const copy = bytes.slice();
    const key = await load(copy.slice());
    this.map.set(bytes, { bytes: copy, key });
    return key;
  }

  put(bytes: Uint8Array, key: CryptoKey): void {
    this.map.set(bytes, { bytes: bytes.slice(), key });
  }
}

const toBytes = (b: ArrayBuffer): Uint8Array => new Uint8Array(b);

const HASHES = { "SHA-256": sha256, "SHA-384": sha384, "SHA-512": sha512 } as const;
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const HPKE_V1 = ascii("HPKE-v1");
const LABELS = {
  pskIdHash: ascii("psk_id_hash"),
  infoHash: ascii("info_hash"),
  secret: ascii("secret"),
  key: ascii("key"),
  baseNonce: ascii("base_nonce"),
} as const;

/**
 * The sender half of the RFC 9180 §5.1 key schedule in base mode on @noble/hashes, so that
 * `info_hash` can be memoised per `info` array (../info-hash-cache.ts): a Welcome seals under
 * one EncryptContext of megabytes for every new member (RFC 9420 §12.4.3.1). The KEM stays hpke-js's.
 *
 *   LabeledExtract(salt, label, ikm) = Extract(salt, concat("HPKE-v1", suite_id, label, ikm))
 *   LabeledExpand(prk, label, info, L) = Expand(prk, concat(I2OSP(L, 2), "HPKE-v1", suite_id, label, info), L)
 */
function sealKeySchedule(params: SuiteParams) {
  const H = HASHES[params.hash];
  const Nh = H.outputLen;
  // RFC 9180 §5.1: suite_id = concat("HPKE", I2OSP(kem_id, 2), I2OSP(kdf_id, 2), I2OSP(aead_id, 2))
  const suiteId = new Uint8Array([0x48, 0x50, 0x4b, 0x45, params.kemId >> 8, params.kemId & 0xff, params.kdfId >> 8, params.kdfId & 0xff, params.aeadId >> 8, params.aeadId & 0xff]);
  const zeroSalt = new Uint8Array(Nh);
  const labeledExtract = (salt: Uint8Array, label: Uint8Array, ikm: Uint8Array): Uint8Array =>
    hmac.create(H, salt.length === 0 ? zeroSalt : salt).update(HPKE_V1).update(suiteId).update(label).update(ikm).digest();
  const labeledExpand = (prk: Uint8Array, label: Uint8Array, info: Uint8Array, length: number): Uint8Array => {
    const labeled = new Uint8Array(2 + HPKE_V1.length + suiteId.length + label.length + info.length);
    labeled[0] = length >> 8;
    labeled[1] = length & 0xff;
    let o = 2;
    for (const part of [HPKE_V1, suiteId, label, info]) {
      labeled.set(part, o);
      o += part.length;
    }
    return expand(H, prk, labeled, length);
  };
  const EMPTY = new Uint8Array(0);
  const pskIdHash = labeledExtract(EMPTY, LABELS.pskIdHash, EMPTY);
  const infoHashes = new InfoHashCache();
  return {
    /** key and base_nonce (= the nonce of sequence number 0) from shared_secret and info. */
    aeadKeys(sharedSecret: Uint8Array, info: Uint8Array): { key: Uint8Array; nonce: Uint8Array } {
      const infoHash = infoHashes.get(info, (i) => labeledExtract(EMPTY, LABELS.infoHash, i));
      const context = new Uint8Array(1 + 2 * Nh); // mode_base = 0x00, psk_id_hash, info_hash
      context.set(pskIdHash, 1);
      context.set(infoHash, 1 + Nh);
      const secret = labeledExtract(sharedSecret, LABELS.secret, EMPTY);
      const key = labeledExpand(secret, LABELS.key, context, params.Nk);
      const nonce = labeledExpand(secret, LABELS.baseNonce, context, params.Nn);
      secret.fill(0);
      return { key, nonce };
    },
  };
}

export function hpkeOps(params: SuiteParams): HpkeOps {
  const suite = new HpkeSuite({ kem: KEM_IDS[params.kem], kdf: KDF_IDS[params.hash], aead: AEAD_IDS[params.aead] });
  const kem = suite.kem;
  const group = DH_GROUPS[params.kem];
  const schedule = sealKeySchedule(params);
  const aead = aeadOps(params.aead, params.Nk, params.Nn);
  const privateKeys = new KeyCache(true);
  const publicKeys = new KeyCache(false);
  const hpkeFail = (message: string, cause?: unknown): CryptoError => new CryptoError("crypto.hpke", message, { cause });

  /** SerializePrivateKey bytes of the right length, or a UsageError naming the problem. */
  const privBytes = (sk: Uint8Array): Uint8Array => {
    if (group.scalar) return padScalar(`HPKE ${params.kem}`, sk, params.Nsk);
    if (sk.length !== params.Nsk) {
      throw new UsageError("usage.invalid_key_length", `HPKE ${params.kem} private key must be ${params.Nsk} bytes, got ${sk.length}`);
    }
    return sk;
  };

  /** Import for open/export-receiver: every failure is `crypto.hpke`. */
  const importPrivate = async (sk: Uint8Array): Promise<CryptoKey> => {
    try {
      return await privateKeys.get(sk, (b) => kem.deserializePrivateKey(privBytes(b)));
    } catch (e) {
      throw hpkeFail(`HPKE private key is invalid${e instanceof UsageError ? `: ${e.message}` : ""}`, e);
    }
  };

  const importPublic = async (pk: Uint8Array): Promise<CryptoKey> => {
    if (pk.length !== params.Npk) throw hpkeFail(`HPKE ${params.kem} public key must be ${params.Npk} bytes, got ${pk.length}`);
    try {
      return await publicKeys.get(pk, (b) => kem.deserializePublicKey(b));
    } catch (e) {
      throw hpkeFail("HPKE public key is invalid", e);
    }
  };

  const checkEnc = (enc: Uint8Array): void => {
    if (enc.length !== params.Nenc) throw hpkeFail(`HPKE ${params.kem} kem_output must be ${params.Nenc} bytes, got ${enc.length}`);
  };

  return Object.freeze({
    async hpkeKeyPair(): Promise<KeyPair> {
      const privateKey = group.randomSecretKey();
      return { privateKey, publicKey: group.publicKey(privateKey) };
    },

    // RFC 9180 §7.1.3 DeriveKeyPair, as RFC 9420 §7.4 uses it for node keys.
    async hpkeDeriveKeyPair(ikm: Uint8Array): Promise<KeyPair> {
      let pair: CryptoKeyPair;
      try {
        pair = await kem.deriveKeyPair(ikm);
      } catch (e) {
        throw new UsageError("usage.invalid_ikm", `HPKE DeriveKeyPair rejected the input keying material (${ikm.length} bytes)`, { cause: e });
      }
      const privateKey = toBytes(await kem.serializePrivateKey(pair.privateKey));
      const publicKey = toBytes(await kem.serializePublicKey(pair.publicKey));
      privateKeys.put(privateKey, pair.privateKey);
      publicKeys.put(publicKey, pair.publicKey);
      return { privateKey, publicKey };
    },

    async hpkePublicKey(privateKey: Uint8Array): Promise<Uint8Array> {
      const sk = privBytes(privateKey);
      try {
        return group.publicKey(sk);
      } catch {
        throw new UsageError("usage.invalid_private_key", `HPKE ${params.kem} private key is not a valid scalar`);
      }
    },

    // RFC 9180 §6.1 SealBase = SetupBaseS (hpke-js's Encap, our key schedule) + Seal with seq 0.
    async hpkeSeal(publicKey: Uint8Array, info: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<HpkeSealed> {
      const recipientPublicKey = await importPublic(publicKey);
      try {
        const { sharedSecret, enc } = await kem.encap({ recipientPublicKey });
        const ss = toBytes(sharedSecret);
        const { key, nonce } = schedule.aeadKeys(ss, info);
        ss.fill(0);
        const ciphertext = aead.aeadSeal(key, nonce, aad, plaintext);
        key.fill(0);
        nonce.fill(0);
        return { kemOutput: toBytes(enc), ciphertext };
      } catch (e) {
        throw hpkeFail("HPKE encryption failed", e);
      }
    },

    // RFC 9180 §6.1 OpenBase.
    async hpkeOpen(privateKey: Uint8Array, kemOutput: Uint8Array, info: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array> {
      checkEnc(kemOutput);
      const recipientKey = await importPrivate(privateKey);
      try {
        return toBytes(await suite.open({ recipientKey, enc: kemOutput, info }, ciphertext, aad));
      } catch (e) {
        throw hpkeFail("HPKE decryption failed", e);
      }
    },

    // RFC 9180 §5.1.1 SetupBaseS + §5.3 Context.Export.
    async hpkeExportSender(publicKey: Uint8Array, info: Uint8Array, exporterContext: Uint8Array, length: number): Promise<HpkeExported> {
      const recipientPublicKey = await importPublic(publicKey);
      try {
        const ctx = await suite.createSenderContext({ recipientPublicKey, info });
        const secret = toBytes(await ctx.export(exporterContext, length));
        return { kemOutput: toBytes(ctx.enc), secret };
      } catch (e) {
        throw hpkeFail("HPKE export failed", e);
      }
    },

    // RFC 9180 §5.1.1 SetupBaseR + §5.3 Context.Export.
    async hpkeExportReceiver(
      privateKey: Uint8Array,
      kemOutput: Uint8Array,
      info: Uint8Array,
      exporterContext: Uint8Array,
      length: number,
    ): Promise<Uint8Array> {
      checkEnc(kemOutput);
      const recipientKey = await importPrivate(privateKey);
      try {
        const ctx = await suite.createRecipientContext({ recipientKey, enc: kemOutput, info });
        return toBytes(await ctx.export(exporterContext, length));
      } catch (e) {
        throw hpkeFail("HPKE export failed", e);
      }
    },
  });
}
