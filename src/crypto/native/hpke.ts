/**
 * HPKE (RFC 9180) in base mode on `node:crypto`: single-shot SealBase/OpenBase (sequence number 0)
 * and the secret export of SetupBaseS/SetupBaseR + Context.Export, which is all MLS uses
 * (RFC 9420 §5.1.3 EncryptWithLabel, §8.3 external init).
 *
 * Everything here is synchronous; the provider wraps it in the async interface.
 * @module
 */
import { CryptoError, UsageError, XmppMlsError } from "../../errors.js";
import { wipe } from "../../util/bytes.js";
import type { HpkeExported, HpkeSealed, KeyPair, SuiteParams } from "../cipher-suite.js";
import { InfoHashCache } from "../info-hash-cache.js";
import { aeadOps } from "./aead.js";
import { i2osp, labeledKdf } from "./hpke-kdf.js";
import { dhkem } from "./kem.js";

export interface HpkeOps {
  keyPair(): KeyPair;
  deriveKeyPair(ikm: Uint8Array): KeyPair;
  publicKey(privateKey: Uint8Array): Uint8Array;
  seal(publicKey: Uint8Array, info: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): HpkeSealed;
  open(privateKey: Uint8Array, kemOutput: Uint8Array, info: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array;
  exportSender(publicKey: Uint8Array, info: Uint8Array, exporterContext: Uint8Array, length: number): HpkeExported;
  exportReceiver(privateKey: Uint8Array, kemOutput: Uint8Array, info: Uint8Array, exporterContext: Uint8Array, length: number): Uint8Array;
  /** RFC 9180 §5.1 `info_hash` of `info` (memoised per array; see ../info-hash-cache.ts). Do not modify the result. */
  infoHash(info: Uint8Array): Uint8Array;
  /** {@link seal} with `info_hash` computed beforehand (batches of seals under one `info`, e.g. on worker threads). */
  sealWithInfoHash(publicKey: Uint8Array, infoHash: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): HpkeSealed;
}

/** Byte equality on OpenSSL's memcmp (tens of GB/s), for the info-hash cache. */
const nativeEqual = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

/** RFC 9180 §5: mode_base = 0x00. */
const MODE_BASE = 0x00;
const EMPTY = new Uint8Array(0);

/** Maps anything but our own typed errors to a uniform `crypto.hpke` failure. */
function asHpkeError(e: unknown, what: string): XmppMlsError {
  if (e instanceof UsageError || (e instanceof CryptoError && e.code === "crypto.hpke")) return e;
  return new CryptoError("crypto.hpke", `HPKE ${what} failed`, { cause: e });
}

export function hpkeOps(params: SuiteParams): HpkeOps {
  const kem = dhkem(params.kem, params.kemId, params.Nsecret);
  const aead = aeadOps(params.aead, params.Nk, params.Nn);
  // RFC 9180 §5.1: suite_id = concat("HPKE", I2OSP(kem_id, 2), I2OSP(kdf_id, 2), I2OSP(aead_id, 2))
  const suiteId = new Uint8Array([0x48, 0x50, 0x4b, 0x45, ...i2osp(params.kemId, 2), ...i2osp(params.kdfId, 2), ...i2osp(params.aeadId, 2)]);
  const kdf = labeledKdf(params.hash, suiteId);
  const { Nh } = kdf;

  let pskIdHash: Uint8Array | undefined;
  // RFC 9180 §5.1: info_hash = LabeledExtract("", "info_hash", info).
  const hashInfo = (info: Uint8Array): Uint8Array => kdf.extract(EMPTY, "info_hash", info);
  // Senders seal many times under one info (see ../info-hash-cache.ts); receivers open once.
  const infoHashes = new InfoHashCache(nativeEqual);
  const infoHash = (info: Uint8Array): Uint8Array => infoHashes.get(info, hashInfo);

  /**
   * RFC 9180 §5.1 KeySchedule<ROLE>(mode_base, shared_secret, info, psk = "", psk_id = ""):
   *   psk_id_hash = LabeledExtract("", "psk_id_hash", psk_id)
   *   info_hash = LabeledExtract("", "info_hash", info)
   *   key_schedule_context = concat(mode, psk_id_hash, info_hash)
   *   secret = LabeledExtract(shared_secret, "secret", psk)
   * Takes `info_hash` (see {@link infoHash}); returns `secret` and the context; the caller expands
   * only what it needs.
   */
  const keySchedule = (sharedSecret: Uint8Array, infoHash: Uint8Array): { secret: Uint8Array; context: Uint8Array } => {
    pskIdHash ??= kdf.extract(EMPTY, "psk_id_hash", EMPTY); // constant per suite
    const context = new Uint8Array(1 + 2 * Nh);
    context[0] = MODE_BASE;
    context.set(pskIdHash, 1);
    context.set(infoHash, 1 + Nh);
    const secret = kdf.extract(sharedSecret, "secret", EMPTY);
    wipe(sharedSecret);
    return { secret, context };
  };

  /** key = LabeledExpand(secret, "key", ksc, Nk); base_nonce = LabeledExpand(secret, "base_nonce", ksc, Nn) */
  const aeadKeys = (sharedSecret: Uint8Array, infoHash: Uint8Array): { key: Uint8Array; nonce: Uint8Array } => {
    const { secret, context } = keySchedule(sharedSecret, infoHash);
    const key = kdf.expand(secret, "key", context, params.Nk);
    // RFC 9180 §5.2: ComputeNonce(seq = 0) = base_nonce XOR I2OSP(0, Nn) = base_nonce.
    const nonce = kdf.expand(secret, "base_nonce", context, params.Nn);
    wipe(secret);
    return { key, nonce };
  };

  // RFC 9180 §5.3: L MUST NOT exceed 255 * Nh.
  const checkExportLength = (length: number): void => {
    if (!Number.isInteger(length) || length < 0 || length > 255 * Nh) {
      throw new UsageError("usage.invalid_length", `HPKE export length must be an integer in 0..${255 * Nh}, got ${length}`);
    }
  };

  /** exporter_secret = LabeledExpand(secret, "exp", ksc, Nh); Export = LabeledExpand(exporter_secret, "sec", ctx, L) */
  const exportSecret = (sharedSecret: Uint8Array, info: Uint8Array, exporterContext: Uint8Array, length: number): Uint8Array => {
    const { secret, context } = keySchedule(sharedSecret, hashInfo(info));
    const exporterSecret = kdf.expand(secret, "exp", context, Nh);
    const out = kdf.expand(exporterSecret, "sec", exporterContext, length);
    wipe(secret, exporterSecret);
    return out;
  };

  const sealWithInfoHash = (publicKey: Uint8Array, infoHash: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): HpkeSealed => {
    try {
      const { sharedSecret, enc } = kem.encap(publicKey);
      const { key, nonce } = aeadKeys(sharedSecret, infoHash);
      const ciphertext = aead.aeadSeal(key, nonce, aad, plaintext);
      wipe(key, nonce);
      return { kemOutput: enc, ciphertext };
    } catch (e) {
      throw asHpkeError(e, "seal");
    }
  };

  return Object.freeze({
    keyPair: () => kem.generateKeyPair(),
    deriveKeyPair: (ikm: Uint8Array) => kem.deriveKeyPair(ikm),
    publicKey: (privateKey: Uint8Array) => kem.publicKey(privateKey),

    // RFC 9180 §6.1: SealBase(pkR, info, aad, pt) = SetupBaseS(pkR, info) then ctx.Seal(aad, pt)
    seal(publicKey: Uint8Array, info: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): HpkeSealed {
      return sealWithInfoHash(publicKey, infoHash(info), aad, plaintext);
    },
    sealWithInfoHash,
    infoHash,

    // RFC 9180 §6.1: OpenBase(enc, skR, info, aad, ct) = SetupBaseR(enc, skR, info) then ctx.Open(aad, ct)
    open(privateKey: Uint8Array, kemOutput: Uint8Array, info: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
      try {
        const { key, nonce } = aeadKeys(kem.decap(kemOutput, privateKey), hashInfo(info));
        try {
          return aead.aeadOpen(key, nonce, aad, ciphertext);
        } finally {
          wipe(key, nonce);
        }
      } catch (e) {
        throw asHpkeError(e, "open");
      }
    },

    // RFC 9180 §5.3 with SetupBaseS: returns enc and the exported secret.
    exportSender(publicKey: Uint8Array, info: Uint8Array, exporterContext: Uint8Array, length: number): HpkeExported {
      checkExportLength(length);
      try {
        const { sharedSecret, enc } = kem.encap(publicKey);
        return { kemOutput: enc, secret: exportSecret(sharedSecret, info, exporterContext, length) };
      } catch (e) {
        throw asHpkeError(e, "export");
      }
    },

    // RFC 9180 §5.3 with SetupBaseR.
    exportReceiver(privateKey: Uint8Array, kemOutput: Uint8Array, info: Uint8Array, exporterContext: Uint8Array, length: number): Uint8Array {
      checkExportLength(length);
      try {
        return exportSecret(kem.decap(kemOutput, privateKey), info, exporterContext, length);
      } catch (e) {
        throw asHpkeError(e, "export");
      }
    },
  });
}
