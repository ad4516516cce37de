/**
 * The Authentication Service hook (RFC 9750 §4, RFC 9420 §5.3.1).
 *
 * RFC 9750 §4: the AS must "enable a client to verify that a credential presented by another
 * client is valid with respect to a reference identifier" and "enable a group member to verify
 * that a credential represents the same client as another credential". MLS itself only carries
 * credentials; the application decides which identities are acceptable and plugs that policy in
 * here. Leaf-node validation (RFC 9420 §7.3) calls {@link AuthenticationService.validateCredential}
 * for every credential it meets.
 *
 * Implementations in this folder:
 * - ./basic.ts: `basic` credentials (a bare identity, e.g. a JID), with an allow-list or callback.
 * - ./x509.ts: `x509` certificate chains checked against trust anchors (uses node:crypto; the one
 *   module under mls/ that does, so a browser bundle can leave it out).
 * - {@link unsafeTestingAuthenticationService}: accepts everything. Tests only.
 *
 * Layering: mls/auth sits beside mls/core (it imports core, crypto constants and errors only) and
 * below mls/tree, which consumes it.
 * @module
 */
import { ValidationError } from "../../errors.js";
import { fromUtf8, toHex } from "../../util/bytes.js";
import type { Credential } from "../core/credential.js";
import { credentialTypes } from "../core/protocol.js";

/** Why a credential is being validated (RFC 9420 §5.3.1 lists the events). */
export type CredentialValidationPurpose =
  | "key_package"
  | "add"
  | "update"
  | "commit"
  | "join"
  | "external_sender"
  | "tree";

/** What the AS may need besides the credential itself. */
export interface CredentialValidationContext {
  /**
   * The cipher suite of the group or KeyPackage: it fixes how `signaturePublicKey` is encoded
   * (RFC 9420 §5.1: raw EdDSA keys, uncompressed SEC1 points for ECDSA).
   */
  readonly cipherSuite: number;
  /** Current time in seconds since the Unix epoch; the AS may use its own clock when absent. */
  readonly now?: number;
  readonly purpose?: CredentialValidationPurpose;
  readonly groupId?: Uint8Array;
}

/**
 * The application's Authentication Service (RFC 9750 §4).
 *
 * - `validateCredential`: RFC 9420 §5.3.1 "the AS verifies that the credential's presented
 *   identifiers are correctly associated with the signature_key field in the member's LeafNode,
 *   and that those identifiers match the reference identifiers for the member". Returns (or
 *   resolves) on success; throws {@link ValidationError} `valid.credential_rejected` otherwise.
 * - `identity`: the presented identity as a display/comparison string.
 * - `isSameClient`: RFC 9420 §5.3.1 "the AS MUST also verify that the set of presented
 *   identifiers in the new credential is valid as a successor to the set of presented
 *   identifiers in the old credential" (used for Update proposals and Commit paths, §12.1.2).
 */
export interface AuthenticationService {
  validateCredential(credential: Credential, signaturePublicKey: Uint8Array, context: CredentialValidationContext): Promise<void> | void;
  identity(credential: Credential): string;
  isSameClient(a: Credential, b: Credential): boolean;
}

/** The error an AS throws for a credential it does not accept (RFC 9420 §5.3.1). */
export function credentialRejected(message: string, cause?: unknown): ValidationError {
  return new ValidationError("valid.credential_rejected", message, "RFC 9420 §5.3.1", cause === undefined ? undefined : { cause });
}

/** Run the AS and normalise its failures: anything it throws becomes `valid.credential_rejected`. */
export async function validateWithAuthenticationService(
  as: AuthenticationService,
  credential: Credential,
  signaturePublicKey: Uint8Array,
  context: CredentialValidationContext,
): Promise<void> {
  try {
    const r = as.validateCredential(credential, signaturePublicKey, context);
    if (r !== undefined) await r;
  } catch (e) {
    if (e instanceof ValidationError && e.code === "valid.credential_rejected") throw e;
    throw credentialRejected(`authentication service rejected the credential: ${e instanceof Error ? e.message : String(e)}`, e);
  }
}

/**
 * One AS per credential type, dispatched on `credential_type`. A credential of a type without an
 * entry is rejected; credentials of different types are never the same client.
 */
export function authenticationServiceByType(services: Readonly<Partial<Record<number, AuthenticationService>>>): AuthenticationService {
  const pick = (c: Credential): AuthenticationService => {
    const as = services[c.credentialType];
    if (as === undefined) throw credentialRejected(`no authentication service for credential type ${c.credentialType}`);
    return as;
  };
  return Object.freeze({
    validateCredential: (c: Credential, key: Uint8Array, ctx: CredentialValidationContext) => pick(c).validateCredential(c, key, ctx),
    identity: (c: Credential) => pick(c).identity(c),
    isSameClient: (a: Credential, b: Credential) => a.credentialType === b.credentialType && pick(a).isSameClient(a, b),
  });
}

/**
 * An AS that accepts every credential. The name says it: use it in tests only. `identity` is the
 * UTF-8 identity of a basic credential (hex if not UTF-8) and `x509:<hex of the end-entity
 * certificate>` for X.509; `isSameClient` compares those strings.
 */
export const unsafeTestingAuthenticationService: AuthenticationService = Object.freeze({
  validateCredential(): void {},
  identity(c: Credential): string {
    if (c.credentialType === credentialTypes.basic) {
      try {
        return fromUtf8(c.identity);
      } catch {
        return toHex(c.identity);
      }
    }
    return `x509:${toHex(c.certificates[0] ?? new Uint8Array(0))}`;
  },
  isSameClient(a: Credential, b: Credential): boolean {
    return a.credentialType === b.credentialType && unsafeTestingAuthenticationService.identity(a) === unsafeTestingAuthenticationService.identity(b);
  },
});
