/**
 * The KeyPackage validator of the directory (XEP "Publishing KeyPackages", checks 1-7), built on
 * the MLS engine and injected into {@link KeyDirectory}:
 *
 *   bytes ──decodeMlsMessage──▶ MLSMessage(KeyPackage) ──suite policy──▶ validateKeyPackage (RFC 9420 §10.1)
 *         ──▶ { ref (§5.2), cipherSuite, identity (BasicCredential, UTF-8), lastResort }
 *
 * The identity-vs-publisher, item-id-vs-ref and quota checks are the directory's. The
 * Authentication Service here only accepts BasicCredentials whose identity is a full JID
 * `user@domain/device` (XEP "Credentials"); X.509 credentials are refused (no policy for them yet).
 * @module
 */
import { isCipherSuiteId, type CryptoProvider } from "../crypto/cipher-suite.js";
import { ValidationError } from "../errors.js";
import { credentialRejected, type AuthenticationService } from "../mls/auth/authentication-service.js";
import type { Credential } from "../mls/core/credential.js";
import { credentialTypes, wireFormats } from "../mls/core/protocol.js";
import { decodeMlsMessage } from "../mls/framing/mls-message.js";
import { isLastResort, keyPackageRef, validateKeyPackage } from "../mls/messages/key-package-ops.js";
import { fromUtf8, toHex } from "../util/bytes.js";
import { XMPP_BINDING_EXTENSION_TYPE } from "../xmpp/ns.js";
import { DsError } from "./errors.js";
import type { KeyPackageInfo, ValidateKeyPackage } from "./key-directory.js";
import { isFullJid } from "./store/validate.js";

/** XEP "Publishing KeyPackages" check 7: the DS maximum; 90 days plus the 1 h back-dating clients use. */
export const MAX_KEY_PACKAGE_LIFETIME_SECONDS = 90 * 24 * 3600 + 3600;

export interface KeyPackageValidatorOptions {
  readonly provider: CryptoProvider;
  /** Suites accepted by policy (config `limits.cipherSuites`). */
  readonly cipherSuites: readonly number[];
  /** Seconds since 1970. Default: the system clock. */
  readonly now?: () => number;
  /** Default {@link MAX_KEY_PACKAGE_LIFETIME_SECONDS}. */
  readonly maxLifetimeSeconds?: number;
  /** XEP check 5: capabilities must list xmpp_binding (0xF0A0). Default true. */
  readonly requireBindingCapability?: boolean;
}

/** The identity string of a BasicCredential holding a full JID, or a `valid.credential_rejected` error. */
export function jidOfCredential(c: Credential): string {
  if (c.credentialType !== credentialTypes.basic) throw credentialRejected("only BasicCredentials are accepted");
  let identity: string;
  try {
    identity = fromUtf8(c.identity);
  } catch (e) {
    throw credentialRejected("the credential identity is not UTF-8", e);
  }
  if (!isFullJid(identity)) throw credentialRejected("the credential identity is not a full JID");
  return identity;
}

/** RFC 9750 §4 AS of the DS: a BasicCredential naming a full JID; the key binding is the directory's job. */
export const jidAuthenticationService: AuthenticationService = Object.freeze({
  validateCredential(c: Credential): void {
    jidOfCredential(c);
  },
  identity: (c: Credential): string => jidOfCredential(c),
  isSameClient: (a: Credential, b: Credential): boolean => {
    try {
      return jidOfCredential(a) === jidOfCredential(b);
    } catch {
      return false;
    }
  },
});

/** Build the {@link ValidateKeyPackage} function the key directory uses. */
export function createKeyPackageValidator(options: KeyPackageValidatorOptions): ValidateKeyPackage {
  const allowed = new Set(options.cipherSuites);
  const now = options.now ?? ((): number => Math.floor(Date.now() / 1000));
  const maxLifetimeSeconds = options.maxLifetimeSeconds ?? MAX_KEY_PACKAGE_LIFETIME_SECONDS;
  const requireBinding = options.requireBindingCapability ?? true;

  return async (bytes: Uint8Array): Promise<KeyPackageInfo> => {
    // XEP check 1 (RFC 9420 §6): an MLSMessage(KeyPackage), no trailing data (decode is strict).
    const msg = decodeMlsMessage(bytes);
    if (msg.wireFormat !== wireFormats.mls_key_package) {
      throw new ValidationError("valid.wrong_wire_format", `expected mls_key_package, got wire format ${msg.wireFormat}`, "RFC 9420 §6");
    }
    const kp = msg.keyPackage;
    // XEP check 3: suite policy before any cryptography with it.
    if (!allowed.has(kp.cipherSuite)) throw new DsError("ds.unsupported_cipher_suite", `cipher suite ${kp.cipherSuite} is not allowed here`);
    if (!isCipherSuiteId(kp.cipherSuite) || !options.provider.supports(kp.cipherSuite)) {
      throw new DsError("ds.unsupported_cipher_suite", `cipher suite ${kp.cipherSuite} is not implemented`);
    }
    const cs = options.provider.suite(kp.cipherSuite);
    // XEP check 2 and 7: RFC 9420 §10.1 (signature, leaf node §7.3 with source key_package, lifetime).
    await validateKeyPackage(cs, kp, { authService: jidAuthenticationService, now: now(), maxLifetimeSeconds });
    // XEP check 5: the device can join bound groups.
    if (requireBinding && !kp.leafNode.capabilities.extensions.includes(XMPP_BINDING_EXTENSION_TYPE)) {
      throw new ValidationError("valid.missing_binding_capability", "capabilities do not list the xmpp_binding extension (0xF0A0)", "XEP Publishing KeyPackages");
    }
    return {
      ref: toHex(keyPackageRef(cs, kp)),
      cipherSuite: kp.cipherSuite,
      identity: jidOfCredential(kp.leafNode.credential),
      lastResort: isLastResort(kp),
    };
  };
}

/** What the publish request says about a KeyPackage, checked against what the package says. */
export interface PublishHints {
  readonly cipherSuite: number;
  readonly lastResort: boolean;
}

/**
 * Wrap a validator so that a publish's attributes apply: per call, keyed by the identity of the
 * bytes array the directory passes through (one array per request, so concurrent publishes do
 * not mix). Returns the validator and the map the handler fills.
 */
export function withPublishHints(base: ValidateKeyPackage): { validate: ValidateKeyPackage; hints: WeakMap<Uint8Array, PublishHints> } {
  const hints = new WeakMap<Uint8Array, PublishHints>();
  const validate = async (bytes: Uint8Array): Promise<KeyPackageInfo> => {
    const info = await base(bytes);
    const h = hints.get(bytes);
    if (h === undefined) return info;
    if (h.cipherSuite !== info.cipherSuite) {
      throw new DsError("ds.unsupported_cipher_suite", `the cipher-suite attribute (${h.cipherSuite}) is not the KeyPackage's (${info.cipherSuite})`);
    }
    return { ...info, lastResort: h.lastResort };
  };
  return { validate, hints };
}
