/**
 * Raw key bytes ⇄ `node:crypto` key objects for the native provider, with caches.
 *
 * Keys arrive in the raw formats of the test vectors (RFC 9180 §7.1.1 `SerializePublicKey` /
 * `SerializePrivateKey`, EdDSA seeds, big-endian ECDSA scalars, uncompressed SEC1 points).
 * Import formats were picked by measurement (Node 20 / OpenSSL 3.0): JWK for OKP keys and P-256
 * (~5-50 µs, where PKCS#8 / SPKI DER costs 60-300 µs in the OpenSSL decoders), SPKI for P-384 /
 * P-521 public keys (whose JWK import runs a costly full key check).
 *
 * Caches (importing is the dominant cost of a single sign/verify/decap):
 * - {@link ObjectCache}: a `WeakMap` keyed by the caller's `Uint8Array` object, holding a copy of
 *   the bytes that is compared on every hit, so a caller that mutates or wipes the array never
 *   gets the stale key back. Used for private keys (the caller keeps the same array around).
 * - {@link BytesLru}: a bounded LRU keyed by the bytes of a public key, for keys decoded afresh from
 *   every message (signature verification).
 * @module
 */
import { createECDH, createPrivateKey, createPublicKey, type ECDH, type KeyObject } from "node:crypto";
import { UsageError } from "../../errors.js";
import { constantTimeEqual } from "../../util/bytes.js";

/** A `Buffer` (or any view) as a plain `Uint8Array` over the same memory. */
export function u8(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function b64u(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64url");
}

export function fromB64u(s: string): Uint8Array {
  return u8(Buffer.from(s, "base64url"));
}

interface ObjectEntry<T> {
  readonly bytes: Uint8Array;
  readonly value: T;
}

/** Cache keyed by array identity, validated by content (constant-time, the keys may be secret). */
export class ObjectCache<T> {
  private readonly map = new WeakMap<Uint8Array, ObjectEntry<T>>();

  get(key: Uint8Array, make: (key: Uint8Array) => T): T {
    const hit = this.map.get(key);
    if (hit !== undefined && constantTimeEqual(hit.bytes, key)) return hit.value;
    const value = make(key);
    this.map.set(key, { bytes: key.slice(), value });
    return value;
  }
}

/**
 * Bounded LRU keyed by the bytes as a latin1 string (one char per byte, built natively), for
 * public values only (the string is not a secret).
 */
export class BytesLru<T> {
  private readonly map = new Map<string, T>();
  constructor(private readonly max: number) {}

  get(key: Uint8Array, make: (key: Uint8Array) => T): T {
    const k = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1");
    const hit = this.map.get(k);
    if (hit !== undefined) {
      // Refresh recency: Map iterates in insertion order, the first key is the oldest.
      this.map.delete(k);
      this.map.set(k, hit);
      return hit;
    }
    const value = make(key);
    if (this.map.size >= this.max) {
      const oldest = this.map.keys().next();
      if (oldest.done !== true) this.map.delete(oldest.value);
    }
    this.map.set(k, value);
    return value;
  }
}

// ---------------------------------------------------------------------------------------------
// Octet key pairs (RFC 8037): Ed25519, Ed448, X25519, X448.

export type OkpCurve = "Ed25519" | "Ed448" | "X25519" | "X448";

/** Raw private / public key length of each OKP curve (RFC 8032 §5.1.5, §5.2.5; RFC 7748 §5). */
export const OKP_LENGTHS: Readonly<Record<OkpCurve, { readonly sk: number; readonly pk: number }>> = {
  Ed25519: { sk: 32, pk: 32 },
  Ed448: { sk: 57, pk: 57 },
  X25519: { sk: 32, pk: 32 },
  X448: { sk: 56, pk: 56 },
};

/** PKCS#8 DER prefixes (RFC 8410 §7), used only if the JWK fast path is unavailable. */
const PKCS8_PREFIX: Readonly<Record<OkpCurve, string>> = {
  Ed25519: "302e020100300506032b657004220420",
  Ed448: "3047020100300506032b6571043b0439",
  X25519: "302e020100300506032b656e04220420",
  X448: "3046020100300506032b656f043a0438",
};

/** An imported OKP private key with its raw public key. */
export interface OkpPrivate {
  readonly key: KeyObject;
  readonly publicKey: Uint8Array;
}

/** Raw public key of an OKP key object. */
export function okpPublicRaw(key: KeyObject): Uint8Array {
  const jwk = (key.type === "private" ? createPublicKey(key) : key).export({ format: "jwk" });
  if (typeof jwk.x !== "string") throw new UsageError("usage.invalid_key", "key object has no public value");
  return fromB64u(jwk.x);
}

/**
 * Imports a raw OKP private key. Node's JWK import reads only `d` for a private OKP key (the
 * required `x` is type-checked, not used), so `x` is left empty and the real public key is derived
 * by OpenSSL. The derived public key is checked for length; if a future Node ever rejected or used
 * the placeholder, the PKCS#8 path (RFC 8410) takes over.
 */
export function importOkpPrivate(crv: OkpCurve, raw: Uint8Array): OkpPrivate {
  const { sk, pk } = OKP_LENGTHS[crv];
  if (raw.length !== sk) throw new UsageError("usage.invalid_key_length", `${crv} private key must be ${sk} bytes, got ${raw.length}`);
  try {
    const key = createPrivateKey({ key: { kty: "OKP", crv, x: "", d: b64u(raw) }, format: "jwk" });
    const publicKey = okpPublicRaw(key);
    if (publicKey.length === pk) return { key, publicKey };
  } catch {
    // fall through to PKCS#8
  }
  const der = Buffer.concat([Buffer.from(PKCS8_PREFIX[crv], "hex"), raw]);
  try {
    const key = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
    return { key, publicKey: okpPublicRaw(key) };
  } finally {
    der.fill(0);
  }
}

/** Imports a raw OKP public key; throws (a Node error) if malformed — callers map it. */
export function importOkpPublic(crv: OkpCurve, raw: Uint8Array): KeyObject {
  const { pk } = OKP_LENGTHS[crv];
  if (raw.length !== pk) throw new RangeError(`${crv} public key must be ${pk} bytes, got ${raw.length}`);
  return createPublicKey({ key: { kty: "OKP", crv, x: b64u(raw) }, format: "jwk" });
}

// ---------------------------------------------------------------------------------------------
// NIST curves (SEC 1): P-256, P-384, P-521.

export type NistCurve = "P-256" | "P-384" | "P-521";

interface NistInfo {
  /** OpenSSL curve name for `createECDH` / `generateKeyPairSync`. */
  readonly ossl: string;
  /** Scalar / field element length in bytes. */
  readonly n: number;
  /** Group order (SEC 2 §2.4.2, §2.5.1, §2.6.1). */
  readonly order: bigint;
  /** SubjectPublicKeyInfo DER up to the uncompressed point (RFC 5480 §2). */
  readonly spkiPrefix: Uint8Array;
  /**
   * Fastest public-key import, measured on Node 20 / OpenSSL 3.0: JWK for P-256 (~50 µs vs
   * ~100 µs for SPKI), SPKI for P-384 and P-521 (~95 µs vs 360 / 775 µs for JWK).
   */
  readonly publicImport: "jwk" | "spki";
}

const hex = (s: string): Uint8Array => u8(Buffer.from(s, "hex"));

export const NIST: Readonly<Record<NistCurve, NistInfo>> = {
  "P-256": {
    ossl: "prime256v1",
    n: 32,
    order: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    spkiPrefix: hex("3059301306072a8648ce3d020106082a8648ce3d030107034200"),
    publicImport: "jwk",
  },
  "P-384": {
    ossl: "secp384r1",
    n: 48,
    order: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    spkiPrefix: hex("3076301006072a8648ce3d020106052b81040022036200"),
    publicImport: "spki",
  },
  "P-521": {
    ossl: "secp521r1",
    n: 66,
    order:
      0x01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
    spkiPrefix: hex("30819b301006072a8648ce3d020106052b8104002303818600"),
    publicImport: "spki",
  },
};

/** Left-pads a big-endian scalar that lost leading zero bytes (seen in some P-521 vectors). */
export function padScalar(crv: NistCurve, key: Uint8Array): Uint8Array {
  const { n } = NIST[crv];
  if (key.length === n) return key;
  if (key.length === 0 || key.length > n) {
    throw new UsageError("usage.invalid_key_length", `${crv} private key must be at most ${n} bytes, got ${key.length}`);
  }
  const out = new Uint8Array(n);
  out.set(key, n - key.length);
  return out;
}

/**
 * An ECDH object holding a private scalar. Node checks 0 < d < n here ("Private key is not valid
 * for specified curve"), which is the validation both ECDSA and DHKEM need.
 */
export function ecdhFromPrivate(crv: NistCurve, raw: Uint8Array): ECDH {
  const sk = padScalar(crv, raw);
  const ecdh = createECDH(NIST[crv].ossl);
  try {
    ecdh.setPrivateKey(sk);
  } catch (e) {
    throw new UsageError("usage.invalid_private_key", `${crv} private key is not a valid scalar`, { cause: e });
  }
  return ecdh;
}

/** Uncompressed SEC1 point of an ECDH object, coordinates padded to the field length. */
export function ecdhPublicRaw(ecdh: ECDH): Uint8Array {
  return u8(ecdh.getPublicKey());
}

/** An imported ECDSA private key with its raw (uncompressed) public key. */
export interface NistPrivate {
  readonly key: KeyObject;
  readonly publicKey: Uint8Array;
}

/** JWK coordinates of an uncompressed point; the caller checked the length and the 0x04 prefix. */
function coords(crv: NistCurve, point: Uint8Array): { x: string; y: string } {
  const { n } = NIST[crv];
  return { x: b64u(point.subarray(1, 1 + n)), y: b64u(point.subarray(1 + n)) };
}

/**
 * Imports a big-endian ECDSA scalar. Node's EC JWK import does not check that `x`,`y` match `d`,
 * so the point is computed here from `d` (via ECDH, which also validates the scalar).
 */
export function importNistPrivate(crv: NistCurve, raw: Uint8Array): NistPrivate {
  const sk = padScalar(crv, raw);
  const publicKey = ecdhPublicRaw(ecdhFromPrivate(crv, sk));
  const key = createPrivateKey({ key: { kty: "EC", crv, d: b64u(sk), ...coords(crv, publicKey) }, format: "jwk" });
  return { key, publicKey };
}

/** Imports an uncompressed SEC1 point; throws (a Node error) when it is malformed or off the curve. */
export function importNistPublic(crv: NistCurve, point: Uint8Array): KeyObject {
  const { n, spkiPrefix, publicImport } = NIST[crv];
  if (point.length !== 1 + 2 * n || point[0] !== 0x04) throw new RangeError(`${crv} public key must be an uncompressed point`);
  if (publicImport === "jwk") return createPublicKey({ key: { kty: "EC", crv, ...coords(crv, point) }, format: "jwk" });
  const der = new Uint8Array(spkiPrefix.length + point.length);
  der.set(spkiPrefix, 0);
  der.set(point, spkiPrefix.length);
  return createPublicKey({ key: Buffer.from(der.buffer), format: "der", type: "spki" });
}

/** Uncompressed SEC1 point of an EC key object (JWK export is the cheap path, ~2 µs). */
export function nistPublicRaw(crv: NistCurve, key: KeyObject): Uint8Array {
  const { n } = NIST[crv];
  const jwk = (key.type === "private" ? createPublicKey(key) : key).export({ format: "jwk" });
  if (typeof jwk.x !== "string" || typeof jwk.y !== "string") throw new UsageError("usage.invalid_key", "key object has no public value");
  const x = fromB64u(jwk.x);
  const y = fromB64u(jwk.y);
  if (x.length > n || y.length > n) throw new UsageError("usage.invalid_key", `${crv} key object has oversized coordinates`);
  const out = new Uint8Array(1 + 2 * n);
  out[0] = 0x04;
  out.set(x, 1 + n - x.length); // left-pad, should a coordinate come back short
  out.set(y, 1 + 2 * n - y.length);
  return out;
}
