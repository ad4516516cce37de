/**
 * The `native` crypto provider: all seven RFC 9420 cipher suites (§17.1) on `node:crypto`
 * (OpenSSL). Node-only; the `portable` provider covers browsers.
 *
 * - hash / HMAC / HKDF: ./hash.ts
 * - AEAD: ./aead.ts
 * - signatures (EdDSA, ECDSA with DER signatures): ./signature.ts
 * - HPKE base mode (DHKEM + key schedule + AEAD, RFC 9180): ./kem.ts, ./hpke.ts
 *
 * HPKE keeps the async signatures of {@link CipherSuite} but runs synchronously.
 * @module
 */
import { UsageError } from "../../errors.js";
import { isCipherSuiteId, SUITES, type CipherSuite, type CipherSuiteId, type CryptoProvider } from "../cipher-suite.js";
import { aeadOps } from "./aead.js";
import { hashOps } from "./hash.js";
import { hpkeOps, type HpkeOps } from "./hpke.js";
import { randomBytes } from "./random.js";
import { signatureOps } from "./signature.js";

const PROVIDER_NAME = "native";

const hpkes = new Map<CipherSuiteId, HpkeOps>();

/**
 * The synchronous HPKE of one suite, shared with its {@link CipherSuite} (same caches): for batch
 * sealing under one precomputed `info_hash` (src/mls/parallel).
 */
export function nativeHpkeOps(id: CipherSuiteId): HpkeOps {
  let ops = hpkes.get(id);
  if (ops === undefined) {
    ops = hpkeOps(SUITES[id]);
    hpkes.set(id, ops);
  }
  return ops;
}

function makeSuite(id: CipherSuiteId): CipherSuite {
  const params = SUITES[id];
  const h = hashOps(params.hash);
  const a = aeadOps(params.aead, params.Nk, params.Nn);
  const s = signatureOps(params.signature);
  const hpke = nativeHpkeOps(id);
  return Object.freeze({
    params,
    provider: PROVIDER_NAME,
    randomBytes,
    hash: h.hash,
    mac: h.mac,
    kdfExtract: h.kdfExtract,
    kdfExpand: h.kdfExpand,
    aeadSeal: a.aeadSeal,
    aeadOpen: a.aeadOpen,
    signatureKeyPair: s.signatureKeyPair,
    signaturePublicKey: s.signaturePublicKey,
    sign: s.sign,
    verify: s.verify,
    hpkeKeyPair: async () => hpke.keyPair(),
    hpkeDeriveKeyPair: async (ikm: Uint8Array) => hpke.deriveKeyPair(ikm),
    hpkePublicKey: async (privateKey: Uint8Array) => hpke.publicKey(privateKey),
    hpkeSeal: async (publicKey: Uint8Array, info: Uint8Array, aad: Uint8Array, plaintext: Uint8Array) =>
      hpke.seal(publicKey, info, aad, plaintext),
    hpkeOpen: async (privateKey: Uint8Array, kemOutput: Uint8Array, info: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array) =>
      hpke.open(privateKey, kemOutput, info, aad, ciphertext),
    hpkeExportSender: async (publicKey: Uint8Array, info: Uint8Array, exporterContext: Uint8Array, length: number) =>
      hpke.exportSender(publicKey, info, exporterContext, length),
    hpkeExportReceiver: async (privateKey: Uint8Array, kemOutput: Uint8Array, info: Uint8Array, exporterContext: Uint8Array, length: number) =>
      hpke.exportReceiver(privateKey, kemOutput, info, exporterContext, length),
  });
}

const suites = new Map<CipherSuiteId, CipherSuite>();

/** The native provider. One cached {@link CipherSuite} per id. */
export const nativeProvider: CryptoProvider = Object.freeze({
  name: PROVIDER_NAME,
  supports: (id: number): boolean => isCipherSuiteId(id),
  suite(id: number): CipherSuite {
    if (!isCipherSuiteId(id)) throw new UsageError("usage.unsupported_cipher_suite", `cipher suite ${id} is not supported by the native provider`);
    let s = suites.get(id);
    if (s === undefined) {
      s = makeSuite(id);
      suites.set(id, s);
    }
    return s;
  },
});
