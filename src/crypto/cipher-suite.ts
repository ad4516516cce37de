/**
 * The cipher suite abstraction of RFC 9420 §5.1: one hash, KDF, AEAD, HPKE and signature scheme
 * per suite, implemented by a {@link CryptoProvider}. Two providers exist: `portable` (noble +
 * hpke-js, runs in browsers) and `native` (node:crypto).
 *
 * Everything symmetric and every signature is synchronous; HPKE is asynchronous because hpke-js
 * is. Secrets are plain `Uint8Array`s owned by the caller; providers never log them.
 * @module
 */

/** RFC 9420 §17.1 MLS Cipher Suites registry, values 0x0001..0x0007. */
export const cipherSuiteIds = {
  MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519: 0x0001,
  MLS_128_DHKEMP256_AES128GCM_SHA256_P256: 0x0002,
  MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519: 0x0003,
  MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448: 0x0004,
  MLS_256_DHKEMP521_AES256GCM_SHA512_P521: 0x0005,
  MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448: 0x0006,
  MLS_256_DHKEMP384_AES256GCM_SHA384_P384: 0x0007,
} as const;

export type CipherSuiteName = keyof typeof cipherSuiteIds;
export type CipherSuiteId = (typeof cipherSuiteIds)[CipherSuiteName];

export type HashName = "SHA-256" | "SHA-384" | "SHA-512";
export type KemName = "X25519" | "X448" | "P-256" | "P-384" | "P-521";
export type AeadName = "AES-128-GCM" | "AES-256-GCM" | "ChaCha20Poly1305";
export type SignatureName = "Ed25519" | "Ed448" | "ECDSA-P256-SHA256" | "ECDSA-P384-SHA384" | "ECDSA-P521-SHA512";

/** Static parameters of one suite (RFC 9420 §17.1, RFC 9180 §7). */
export interface SuiteParams {
  readonly id: CipherSuiteId;
  readonly name: CipherSuiteName;
  readonly hash: HashName;
  readonly kem: KemName;
  readonly aead: AeadName;
  readonly signature: SignatureName;
  /** RFC 9180 identifiers. */
  readonly kemId: number;
  readonly kdfId: number;
  readonly aeadId: number;
  /** Hash / KDF output length (RFC 9420 `KDF.Nh`). */
  readonly Nh: number;
  /** AEAD key length. */
  readonly Nk: number;
  /** AEAD nonce length. */
  readonly Nn: number;
  /** KEM encapsulated-key (`enc`) and public-key length. */
  readonly Nenc: number;
  readonly Npk: number;
  /** KEM private-key length. */
  readonly Nsk: number;
  /** Shared secret length of the DHKEM (`Nsecret`). */
  readonly Nsecret: number;
}

const P = (
  name: CipherSuiteName,
  hash: HashName,
  kem: KemName,
  aead: AeadName,
  signature: SignatureName,
): SuiteParams => {
  const kemInfo: Record<KemName, [number, number, number, number]> = {
    // kemId, Npk(=Nenc), Nsk, Nsecret   (RFC 9180 §7.1)
    "P-256": [0x0010, 65, 32, 32],
    "P-384": [0x0011, 97, 48, 48],
    "P-521": [0x0012, 133, 66, 64],
    X25519: [0x0020, 32, 32, 32],
    X448: [0x0021, 56, 56, 64],
  };
  const kdf: Record<HashName, [number, number]> = { "SHA-256": [0x0001, 32], "SHA-384": [0x0002, 48], "SHA-512": [0x0003, 64] };
  const aeadInfo: Record<AeadName, [number, number, number]> = {
    "AES-128-GCM": [0x0001, 16, 12],
    "AES-256-GCM": [0x0002, 32, 12],
    ChaCha20Poly1305: [0x0003, 32, 12],
  };
  const [kemId, Npk, Nsk, Nsecret] = kemInfo[kem];
  const [kdfId, Nh] = kdf[hash];
  const [aeadId, Nk, Nn] = aeadInfo[aead];
  return Object.freeze({ id: cipherSuiteIds[name], name, hash, kem, aead, signature, kemId, kdfId, aeadId, Nh, Nk, Nn, Nenc: Npk, Npk, Nsk, Nsecret });
};

/** Parameters of all seven RFC 9420 suites, by id. */
export const SUITES: Readonly<Record<CipherSuiteId, SuiteParams>> = Object.freeze({
  1: P("MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519", "SHA-256", "X25519", "AES-128-GCM", "Ed25519"),
  2: P("MLS_128_DHKEMP256_AES128GCM_SHA256_P256", "SHA-256", "P-256", "AES-128-GCM", "ECDSA-P256-SHA256"),
  3: P("MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519", "SHA-256", "X25519", "ChaCha20Poly1305", "Ed25519"),
  4: P("MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448", "SHA-512", "X448", "AES-256-GCM", "Ed448"),
  5: P("MLS_256_DHKEMP521_AES256GCM_SHA512_P521", "SHA-512", "P-521", "AES-256-GCM", "ECDSA-P521-SHA512"),
  6: P("MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448", "SHA-512", "X448", "ChaCha20Poly1305", "Ed448"),
  7: P("MLS_256_DHKEMP384_AES256GCM_SHA384_P384", "SHA-384", "P-384", "AES-256-GCM", "ECDSA-P384-SHA384"),
});

export const ALL_SUITE_IDS: readonly CipherSuiteId[] = [1, 2, 3, 4, 5, 6, 7];

export function isCipherSuiteId(n: number): n is CipherSuiteId {
  return Number.isInteger(n) && n >= 1 && n <= 7;
}

export interface KeyPair {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** Result of HPKE single-shot sealing in base mode (RFC 9180 §6.1). */
export interface HpkeSealed {
  readonly kemOutput: Uint8Array;
  readonly ciphertext: Uint8Array;
}

/** Result of SetupBaseS + Context.Export (RFC 9180 §5.3), used by external init (RFC 9420 §8.3). */
export interface HpkeExported {
  readonly kemOutput: Uint8Array;
  readonly secret: Uint8Array;
}

/**
 * One cipher suite as implemented by one provider.
 *
 * Key formats follow the test vectors: HPKE private keys as `SerializePrivateKey`, public keys as
 * `SerializePublicKey` (raw, uncompressed points for NIST curves); signature private keys are the
 * EdDSA seed or the big-endian ECDSA scalar; ECDSA signatures are DER-encoded (RFC 8446 §4.2.3).
 */
export interface CipherSuite {
  readonly params: SuiteParams;
  /** "portable" or "native". */
  readonly provider: string;

  randomBytes(n: number): Uint8Array;

  hash(data: Uint8Array): Uint8Array;
  /** HMAC with the suite's hash (RFC 9420 §5.1 `MAC`). */
  mac(key: Uint8Array, data: Uint8Array): Uint8Array;
  kdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array;
  kdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array;

  aeadSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** Throws {@link CryptoError} `crypto.aead` when the tag does not verify. */
  aeadOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array;

  signatureKeyPair(): KeyPair;
  signaturePublicKey(privateKey: Uint8Array): Uint8Array;
  sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array;
  /** False for a bad signature or a malformed key/signature; never throws on hostile input. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;

  hpkeKeyPair(): Promise<KeyPair>;
  /** RFC 9180 §7.1.3 DeriveKeyPair. */
  hpkeDeriveKeyPair(ikm: Uint8Array): Promise<KeyPair>;
  hpkePublicKey(privateKey: Uint8Array): Promise<Uint8Array>;
  /** SealBase(pkR, info, aad, pt). */
  hpkeSeal(publicKey: Uint8Array, info: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<HpkeSealed>;
  /**
   * Optional: many SealBase under one info and aad (an UpdatePath's thousands of seals), results in
   * order; equal to calling {@link hpkeSeal} for each, without a promise per seal. Callers fall back
   * to `hpkeSeal` when a suite does not have it.
   */
  hpkeSealMany?(info: Uint8Array, aad: Uint8Array, items: readonly { readonly publicKey: Uint8Array; readonly plaintext: Uint8Array }[]): Promise<HpkeSealed[]>;
  /** OpenBase(enc, skR, info, aad, ct). Throws {@link CryptoError} `crypto.hpke` on failure. */
  hpkeOpen(privateKey: Uint8Array, kemOutput: Uint8Array, info: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
  /** SetupBaseS(pkR, info) then context.Export(exporterContext, length). */
  hpkeExportSender(publicKey: Uint8Array, info: Uint8Array, exporterContext: Uint8Array, length: number): Promise<HpkeExported>;
  /** SetupBaseR(enc, skR, info) then context.Export(exporterContext, length). */
  hpkeExportReceiver(privateKey: Uint8Array, kemOutput: Uint8Array, info: Uint8Array, exporterContext: Uint8Array, length: number): Promise<Uint8Array>;
}

export interface CryptoProvider {
  readonly name: string;
  supports(id: number): boolean;
  /** Throws {@link UsageError} `usage.unsupported_cipher_suite` for an unknown id. */
  suite(id: number): CipherSuite;
}
