/**
 * Authentication of `basic` credentials (RFC 9420 §5.3): "a bare assertion of an identity,
 * without any additional information. The format of the encoded identity is defined by the
 * application." Here the identity is a UTF-8 string, for XMPP a JID such as
 * `alice@example.org/phone`.
 *
 * A basic credential proves nothing by itself (RFC 9750 §8.4.3: "some other mechanism must be
 * used to verify identities"), so the application supplies the binding check: an allow-list, or a
 * callback that can consult a key directory for the (identity, signature key) pair.
 * @module
 */
import { fromUtf8 } from "../../util/bytes.js";
import type { Credential } from "../core/credential.js";
import { credentialTypes } from "../core/protocol.js";
import { credentialRejected, type AuthenticationService, type CredentialValidationContext } from "./authentication-service.js";

export interface BasicCredentialAuthenticatorOptions {
  /** Identities (UTF-8 strings) that are accepted. Combined with `validateIdentity` when both are given. */
  readonly allowedIdentities?: Iterable<string>;
  /**
   * The application's binding check (RFC 9420 §5.3.1): does this identity own this signature key?
   * Return false (or throw) to reject.
   */
  readonly validateIdentity?: (
    identity: Uint8Array,
    signaturePublicKey: Uint8Array,
    context: CredentialValidationContext,
  ) => boolean | Promise<boolean>;
  /**
   * Successor rule for updates (RFC 9420 §5.3.1). Default: the identities are byte-identical.
   */
  readonly isSameClient?: (a: Uint8Array, b: Uint8Array) => boolean;
}

/** The basic identity as a string; throws `valid.credential_rejected` for other types or bad UTF-8. */
function basicIdentity(c: Credential): string {
  if (c.credentialType !== credentialTypes.basic) throw credentialRejected(`expected a basic credential, got type ${c.credentialType}`);
  if (c.identity.length === 0) throw credentialRejected("basic credential has an empty identity");
  try {
    return fromUtf8(c.identity);
  } catch (e) {
    throw credentialRejected("basic credential identity is not valid UTF-8", e);
  }
}

/**
 * An {@link AuthenticationService} for basic credentials.
 *
 * Accepts a credential when it is `basic`, its identity is non-empty UTF-8, it is in
 * `allowedIdentities` (if given) and `validateIdentity` (if given) returns true. With neither
 * option every well-formed identity is accepted: only sensible when identities are bound to keys
 * elsewhere (e.g. by the XMPP server that delivered the KeyPackage).
 */
export function basicCredentialAuthenticator(opts: BasicCredentialAuthenticatorOptions = {}): AuthenticationService {
  const allowed = opts.allowedIdentities === undefined ? null : new Set(opts.allowedIdentities);
  const validate = opts.validateIdentity;
  const same = opts.isSameClient ?? ((a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]));

  const validateCredential = (c: Credential, signaturePublicKey: Uint8Array, context: CredentialValidationContext): void | Promise<void> => {
    const id = basicIdentity(c);
    if (allowed !== null && !allowed.has(id)) throw credentialRejected("basic credential identity is not in the allowed set");
    if (validate === undefined || c.credentialType !== credentialTypes.basic) return;
    const r = validate(c.identity, signaturePublicKey, context);
    const check = (ok: boolean): void => {
      if (!ok) throw credentialRejected("basic credential identity rejected by the application");
    };
    if (typeof r === "boolean") return check(r);
    return r.then(check);
  };

  return Object.freeze({
    validateCredential,
    identity: basicIdentity,
    isSameClient(a: Credential, b: Credential): boolean {
      return a.credentialType === credentialTypes.basic && b.credentialType === credentialTypes.basic && same(a.identity, b.identity);
    },
  });
}
