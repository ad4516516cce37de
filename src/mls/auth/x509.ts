/**
 * Authentication of `x509` credentials (RFC 9420 §5.3) with node:crypto's X509Certificate.
 *
 * This is the only module under src/mls that imports node:crypto; nothing else imports it, so a
 * browser bundle that does not use X.509 credentials leaves it out.
 *
 * Checks, in order (each failure is `valid.credential_rejected`, RFC 9420 §5.3.1):
 * 1. the credential is `x509` with 1..{@link MAX_CHAIN_LENGTH} DER certificates, end-entity first
 *    (RFC 9420 §5.3 "the first entry (certificates[0]) is the end-entity certificate");
 * 2. every certificate is within its validity period at `now`;
 * 3. each certificate is issued and signed by the next one, and every issuer is a CA
 *    (basicConstraints cA);
 * 4. the last certificate is a trust anchor or is issued and signed by one (a chain "MAY omit any
 *    non-leaf certificates that supported peers are known to already possess", so intermediates
 *    may be configured as anchors too); the anchor must be valid at `now`;
 * 5. RFC 9420 §5.3: "The public key encoded in the subjectPublicKeyInfo of the end-entity
 *    certificate MUST be identical to the signature_key in the LeafNode": the certificate key is
 *    exported as JWK and re-encoded the MLS way for the cipher suite's signature scheme (raw
 *    EdDSA key, uncompressed SEC1 point for ECDSA), then compared byte for byte.
 *
 * Not checked: revocation, name constraints, path-length constraints, key usage, policies.
 *
 * Identity rule ({@link x509Identity}), first match wins, on the end-entity certificate:
 * 1. subjectAltName otherName id-on-xmppAddr (RFC 6120 §13.7.1.4): the JID;
 * 2. subjectAltName URI with scheme `xmpp:`: the JID after the scheme (RFC 5122), without `?query`
 *    or `#fragment`;
 * 3. any other subjectAltName URI, verbatim;
 * 4. subjectAltName email (rfc822Name);
 * 5. the subject's commonName.
 * @module
 */
import { X509Certificate } from "node:crypto";
import { SUITES, isCipherSuiteId, type SignatureName } from "../../crypto/cipher-suite.js";
import { bytesEqual } from "../../util/bytes.js";
import type { Credential, X509Credential } from "../core/credential.js";
import { credentialTypes } from "../core/protocol.js";
import { credentialRejected, type AuthenticationService, type CredentialValidationContext } from "./authentication-service.js";

/** Longest accepted chain (end-entity plus intermediates plus an optional root). */
export const MAX_CHAIN_LENGTH = 8;

export interface X509CredentialAuthenticatorOptions {
  /** Trusted roots (or intermediates): PEM strings or DER bytes. At least one. */
  readonly trustAnchors: readonly (string | Uint8Array)[];
  /**
   * The clock for validity periods. Default: the validation context's `now` (seconds), else the
   * system clock.
   */
  readonly now?: Date | (() => Date);
}

function parseCertificate(der: string | Uint8Array, what: string): X509Certificate {
  try {
    return new X509Certificate(typeof der === "string" ? der : Buffer.from(der.buffer, der.byteOffset, der.byteLength));
  } catch (e) {
    throw credentialRejected(`${what} is not a valid X.509 certificate`, e);
  }
}

function validAt(cert: X509Certificate, now: Date): boolean {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  const t = now.getTime();
  return Number.isFinite(from) && Number.isFinite(to) && from <= t && t <= to;
}

function issuedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  return issuer.ca && child.checkIssued(issuer) && child.verify(issuer.publicKey);
}

function b64url(s: unknown, len?: number): Uint8Array {
  if (typeof s !== "string") throw credentialRejected("certificate public key export is incomplete");
  const b = new Uint8Array(Buffer.from(s, "base64url"));
  if (len === undefined || b.length === len) return b;
  if (b.length > len) throw credentialRejected("certificate public key coordinate too long");
  const out = new Uint8Array(len);
  out.set(b, len - b.length);
  return out;
}

const CURVES: Record<SignatureName, { kty: "OKP" | "EC"; crv: string; coord?: number }> = {
  Ed25519: { kty: "OKP", crv: "Ed25519" },
  Ed448: { kty: "OKP", crv: "Ed448" },
  "ECDSA-P256-SHA256": { kty: "EC", crv: "P-256", coord: 32 },
  "ECDSA-P384-SHA384": { kty: "EC", crv: "P-384", coord: 48 },
  "ECDSA-P521-SHA512": { kty: "EC", crv: "P-521", coord: 66 },
};

/**
 * The end-entity certificate's public key in MLS SignaturePublicKey form for `scheme`
 * (RFC 9420 §5.1.2), or a rejection when the key is of another algorithm or curve.
 */
export function certificateSignatureKey(cert: X509Certificate, scheme: SignatureName): Uint8Array {
  const want = CURVES[scheme];
  let jwk: { kty?: unknown; crv?: unknown; x?: unknown; y?: unknown };
  try {
    jwk = cert.publicKey.export({ format: "jwk" });
  } catch (e) {
    throw credentialRejected("certificate public key cannot be exported", e);
  }
  if (jwk.kty !== want.kty || jwk.crv !== want.crv) {
    throw credentialRejected(`certificate key is ${String(jwk.crv ?? jwk.kty)}, the cipher suite signs with ${scheme}`);
  }
  if (want.kty === "OKP") return b64url(jwk.x);
  const x = b64url(jwk.x, want.coord);
  const y = b64url(jwk.y, want.coord);
  const out = new Uint8Array(1 + 2 * x.length);
  out[0] = 0x04;
  out.set(x, 1);
  out.set(y, 1 + x.length);
  return out;
}

/** Read one value of Node's `subjectAltName` text at `i`: JSON-quoted or up to the next ", ". */
function readSanValue(s: string, i: number): [string, number] {
  if (s[i] === '"') {
    let j = i + 1;
    while (j < s.length && s[j] !== '"') j += s[j] === "\\" ? 2 : 1;
    return [JSON.parse(s.slice(i, j + 1)) as string, j + 1];
  }
  const end = s.indexOf(", ", i);
  return end < 0 ? [s.slice(i), s.length] : [s.slice(i, end), end];
}

/**
 * Node's `subjectAltName` text ("DNS:a, URI:xmpp:b, othername:XmppAddr:c") as `[type, value]`
 * pairs; otherName entries come as `othername:<name>` types.
 */
export function parseSubjectAltName(text: string | undefined): [string, string][] {
  const out: [string, string][] = [];
  if (!text) return out;
  let i = 0;
  while (i < text.length) {
    let colon = text.indexOf(":", i);
    if (colon < 0) break;
    let type = text.slice(i, colon);
    if (type === "othername") {
      const c2 = text.indexOf(":", colon + 1);
      if (c2 < 0) break;
      type = `othername:${text.slice(colon + 1, c2)}`;
      colon = c2;
    }
    const [value, next] = readSanValue(text, colon + 1);
    out.push([type, value]);
    i = next;
    if (text.startsWith(", ", i)) i += 2;
  }
  return out;
}

function commonName(subject: string): string | null {
  for (const line of subject.split("\n")) {
    if (!line.startsWith("CN=")) continue;
    const v = line.slice(3);
    if (v.startsWith('"')) return JSON.parse(v) as string;
    return v.replace(/\\(.)/g, "$1");
  }
  return null;
}

/** The identity of a certificate by the rule in the module doc. */
export function x509Identity(cert: X509Certificate): string {
  const san = parseSubjectAltName(cert.subjectAltName);
  const xmppAddr = san.find(([t]) => t === "othername:XmppAddr" || t === "othername:1.3.6.1.5.5.7.8.5");
  if (xmppAddr) return xmppAddr[1];
  const xmppUri = san.find(([t, v]) => t === "URI" && v.toLowerCase().startsWith("xmpp:"));
  if (xmppUri) return xmppUri[1].slice(5).replace(/^\/\/[^/]*\//, "").split(/[?#]/)[0]!;
  const uri = san.find(([t]) => t === "URI");
  if (uri) return uri[1];
  const email = san.find(([t]) => t === "email");
  if (email) return email[1];
  const cn = commonName(cert.subject);
  if (cn !== null && cn !== "") return cn;
  throw credentialRejected("certificate has no usable identity (no subjectAltName URI/email/XmppAddr and no CN)");
}

function asX509(c: Credential): X509Credential {
  if (c.credentialType !== credentialTypes.x509) throw credentialRejected(`expected an x509 credential, got type ${c.credentialType}`);
  if (c.certificates.length === 0) throw credentialRejected("x509 credential has no certificates");
  if (c.certificates.length > MAX_CHAIN_LENGTH) throw credentialRejected(`x509 chain longer than ${MAX_CHAIN_LENGTH}`);
  return c;
}

/** An {@link AuthenticationService} for X.509 credentials; see the module doc for the checks. */
export function x509CredentialAuthenticator(opts: X509CredentialAuthenticatorOptions): AuthenticationService {
  if (opts.trustAnchors.length === 0) throw new RangeError('"trustAnchors" must hold at least one certificate');
  const anchors = opts.trustAnchors.map((a, i) => parseCertificate(a, `trust anchor ${i}`));
  const clock = (ctx: CredentialValidationContext): Date => {
    if (opts.now instanceof Date) return opts.now;
    if (typeof opts.now === "function") return opts.now();
    return ctx.now === undefined ? new Date() : new Date(ctx.now * 1000);
  };

  const identity = (credential: Credential): string => x509Identity(parseCertificate(asX509(credential).certificates[0]!, "certificate 0"));

  return Object.freeze({
    validateCredential(credential: Credential, signaturePublicKey: Uint8Array, context: CredentialValidationContext): void {
      const chain = asX509(credential).certificates.map((der, i) => parseCertificate(der, `certificate ${i}`));
      const now = clock(context);
      chain.forEach((c, i) => {
        if (!validAt(c, now)) throw credentialRejected(`certificate ${i} is outside its validity period`);
      });
      for (let i = 0; i + 1 < chain.length; i++) {
        if (!issuedBy(chain[i]!, chain[i + 1]!)) throw credentialRejected(`certificate ${i} is not issued by certificate ${i + 1}`);
      }
      const last = chain[chain.length - 1]!;
      const anchor = anchors.find((a) => a.fingerprint256 === last.fingerprint256 || issuedBy(last, a));
      if (anchor === undefined) throw credentialRejected("certificate chain does not end at a trust anchor");
      if (!validAt(anchor, now)) throw credentialRejected("trust anchor is outside its validity period");

      if (!isCipherSuiteId(context.cipherSuite)) throw credentialRejected(`unknown cipher suite ${context.cipherSuite}`);
      const key = certificateSignatureKey(chain[0]!, SUITES[context.cipherSuite].signature);
      // RFC 9420 §5.3: the end-entity key MUST be identical to the LeafNode's signature_key.
      if (!bytesEqual(key, signaturePublicKey)) throw credentialRejected("end-entity certificate key differs from the signature_key");
    },
    identity,
    isSameClient(a: Credential, b: Credential): boolean {
      if (a.credentialType !== credentialTypes.x509 || b.credentialType !== credentialTypes.x509) return false;
      try {
        return identity(a) === identity(b);
      } catch {
        return false;
      }
    },
  });
}
