/**
 * Signing, verifying and validating LeafNodes (RFC 9420 §7.2, §7.3). The wire layout and the
 * LeafNodeTBS encoding live in ./leaf-node.ts.
 *
 * Validation covers every §7.3 step that concerns one leaf against facts about its group:
 *
 *   credential (AS, §5.3.1) · signature · required_capabilities and GroupContext extensions ·
 *   credential types in use · lifetime · extensions listed in capabilities · leaf_node_source
 *
 * The last §7.3 step, uniqueness of signature_key and encryption_key among members, needs the
 * whole tree and is done by the tree code. Group facts are passed in precomputed
 * ({@link LeafNodeGroupFacts}, built once per tree with {@link memberCredentialFacts}) so checking
 * n leaves stays O(n).
 *
 * Every failure is a {@link ValidationError} whose `code` is listed in {@link LeafNodeErrorCode}.
 * @module
 */
import { SUITES, isCipherSuiteId, type CipherSuite, type SignatureName } from "../../crypto/cipher-suite.js";
import { signWithLabel, verifyWithLabel } from "../../crypto/labeled.js";
import { ValidationError } from "../../errors.js";
import { bytesEqual } from "../../util/bytes.js";
import {
  validateWithAuthenticationService,
  type AuthenticationService,
  type CredentialValidationPurpose,
} from "../auth/authentication-service.js";
import {
  checkGroupExtensionsSupported,
  checkNoDuplicateExtensions,
  checkRequiredCapabilities,
  isDefaultExtensionType,
  requiredCapabilitiesOf,
  supportsCipherSuite,
  supportsCredential,
  supportsVersion,
} from "../core/capabilities-ops.js";
import type { Extension } from "../core/extension.js";
import { credentialTypes, leafNodeSources, protocolVersions, type LeafNodeSource } from "../core/protocol.js";
import type { RequiredCapabilities } from "../core/required-capabilities.js";
import { encodeLeafNodeTbs, leafNodeOf, type LeafNode, type LeafNodeContent, type LeafNodeGroupContext } from "./leaf-node.js";

const RFC = "RFC 9420 §7.3";
const TBS_LABEL = "LeafNodeTBS";

/** The stable codes thrown by {@link validateLeafNode}. */
export type LeafNodeErrorCode =
  | "valid.wrong_leaf_node_source"
  | "valid.malformed_encryption_key"
  | "valid.malformed_signature_key"
  | "valid.credential_type_not_in_capabilities"
  | "valid.duplicate_extension"
  | "valid.extension_not_in_capabilities"
  | "valid.unsupported_protocol_version"
  | "valid.unsupported_cipher_suite"
  | "valid.unsupported_required_capability"
  | "valid.unsupported_group_extension"
  | "valid.credential_type_unsupported_by_members"
  | "valid.member_credential_type_unsupported"
  | "valid.lifetime_not_yet_valid"
  | "valid.lifetime_expired"
  | "valid.lifetime_too_long"
  | "valid.encryption_key_not_updated"
  | "valid.invalid_successor"
  | "valid.bad_leaf_node_signature"
  | "valid.credential_rejected";

/** RFC 9420 §5.1.2 SignaturePublicKey length per scheme (raw EdDSA, uncompressed SEC1 point). */
const SIGNATURE_KEY_LENGTH: Record<SignatureName, number> = {
  Ed25519: 32,
  Ed448: 57,
  "ECDSA-P256-SHA256": 65,
  "ECDSA-P384-SHA384": 97,
  "ECDSA-P521-SHA512": 133,
};

/**
 * RFC 9420 §7.2: `signature = SignWithLabel(signature_priv, "LeafNodeTBS", LeafNodeTBS)`.
 * `group` (group_id and leaf_index) is required for the `update` and `commit` sources.
 */
export function signLeafNode(cs: CipherSuite, signaturePrivateKey: Uint8Array, content: LeafNodeContent, group?: LeafNodeGroupContext): LeafNode {
  const signature = signWithLabel(cs, signaturePrivateKey, TBS_LABEL, encodeLeafNodeTbs(content, group));
  return leafNodeOf(content, signature);
}

/** RFC 9420 §7.3 "Verify that the signature on the LeafNode is valid using signature_key." */
export function verifyLeafNodeSignature(cs: CipherSuite, leaf: LeafNode, group?: LeafNodeGroupContext): boolean {
  return verifyWithLabel(cs, leaf.signatureKey, TBS_LABEL, encodeLeafNodeTbs(leaf, group), leaf.signature);
}

/** Facts about the group a leaf is checked against (RFC 9420 §7.3 "compatible with the group's parameters"). */
export interface LeafNodeGroupFacts {
  /** The group's protocol version; default mls10. */
  readonly version?: number;
  /** GroupContext.extensions: each type must be supported (§13.4); required_capabilities is honoured (§11.1). */
  readonly groupContextExtensions?: readonly Extension[];
  /** Overrides the required_capabilities decoded from `groupContextExtensions` (pass it to avoid re-decoding per leaf). */
  readonly requiredCapabilities?: RequiredCapabilities | null;
  /** Credential types of the other members' leaves; this leaf must support each (§7.3). */
  readonly credentialTypesInUse?: readonly number[];
  /**
   * Credential types every other member supports (intersection of their capabilities.credentials);
   * this leaf's credential type must be among them (§7.3). Null or absent: no other members.
   */
  readonly credentialTypesSupportedByAll?: readonly number[] | null;
}

/** Credential facts of a set of member leaves, for {@link LeafNodeGroupFacts}. */
export interface MemberCredentialFacts {
  readonly credentialTypesInUse: readonly number[];
  readonly credentialTypesSupportedByAll: readonly number[] | null;
}

/**
 * Computes the credential-type facts of §7.3 once for a set of members (blank leaves as null).
 * Exclude the leaf being replaced (Update, Commit) or checked before calling.
 */
export function memberCredentialFacts(leaves: Iterable<LeafNode | null | undefined>): MemberCredentialFacts {
  const inUse = new Set<number>();
  let all: Set<number> | null = null;
  for (const leaf of leaves) {
    if (!leaf) continue;
    inUse.add(leaf.credential.credentialType);
    if (all === null) all = new Set(leaf.capabilities.credentials);
    else for (const t of all) if (!leaf.capabilities.credentials.includes(t)) all.delete(t);
  }
  return { credentialTypesInUse: [...inUse], credentialTypesSupportedByAll: all === null ? null : [...all] };
}

/** Options of {@link validateLeafNode}. */
export interface LeafNodeValidationOptions {
  /** Validates the credential (RFC 9420 §5.3.1). */
  readonly authService: AuthenticationService;
  /** The source the context demands (§7.3): key_package in a KeyPackage, update in an Update, commit in an UpdatePath. */
  readonly expectedSource?: LeafNodeSource;
  /** group_id and leaf_index the leaf is signed for; required for update and commit leaves (§7.2). */
  readonly group?: LeafNodeGroupContext;
  /** Group facts; absent for a KeyPackage checked outside any group. */
  readonly groupFacts?: LeafNodeGroupFacts;
  /** Current time in seconds since the Unix epoch. Default: the system clock. */
  readonly now?: number;
  /**
   * Check the lifetime of key_package leaves. Default true. §7.3 makes it mandatory for leaves a
   * client sends and RECOMMENDED for received ones (they may have expired in transit).
   */
  readonly checkLifetime?: boolean;
  /** Tolerated clock difference in seconds on both ends of the lifetime. Default {@link DEFAULT_CLOCK_SKEW_SECONDS}. */
  readonly clockSkewSeconds?: number;
  /**
   * RFC 9420 §7.2: "Applications MUST define a maximum total lifetime that is acceptable for a
   * LeafNode". Null/absent: no maximum (for interop with peers that use 0..2^64-1 lifetimes;
   * applications should set one).
   */
  readonly maxLifetimeSeconds?: number | null;
  /** Require the group's cipher suite and version in capabilities. Default true. */
  readonly checkCipherSuiteCapability?: boolean;
  /** Run the AS on the credential. Default true; skip only for a credential already validated. */
  readonly checkCredential?: boolean;
  /** The leaf being replaced by an Update or a Commit's UpdatePath: key change and successor rules (§7.3, §5.3.1). */
  readonly replaces?: LeafNode;
  /** Passed to the AS. */
  readonly purpose?: CredentialValidationPurpose;
}

export const DEFAULT_CLOCK_SKEW_SECONDS = 300;

function hex16(v: number): string {
  return v.toString(16).padStart(4, "0");
}

/** The current time in whole seconds. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * Every check of {@link validateLeafNode} except the Authentication Service: synchronous, for
 * callers that batch AS calls. Throws {@link ValidationError}.
 */
export function validateLeafNodeSync(cs: CipherSuite, leaf: LeafNode, opts: Omit<LeafNodeValidationOptions, "authService"> = {}): void {
  const caps = leaf.capabilities;

  // RFC 9420 §7.3 "Verify the leaf_node_source field".
  if (opts.expectedSource !== undefined && leaf.leafNodeSource !== opts.expectedSource) {
    throw new ValidationError("valid.wrong_leaf_node_source", `leaf_node_source is ${leaf.leafNodeSource}, expected ${opts.expectedSource}`, RFC);
  }

  // RFC 9420 §10: the leaf "MUST be valid for the cipher suite, including both the encryption_key
  // and signature_key fields" (lengths here; the signature check below exercises the key itself).
  if (leaf.encryptionKey.length !== cs.params.Npk) {
    throw new ValidationError("valid.malformed_encryption_key", `encryption_key has ${leaf.encryptionKey.length} bytes, suite needs ${cs.params.Npk}`, RFC);
  }
  if (leaf.signatureKey.length !== SIGNATURE_KEY_LENGTH[cs.params.signature]) {
    throw new ValidationError("valid.malformed_signature_key", `signature_key has ${leaf.signatureKey.length} bytes, suite needs ${SIGNATURE_KEY_LENGTH[cs.params.signature]}`, RFC);
  }

  // RFC 9420 §7.2: "the credential type used in the LeafNode MUST be included in the credentials
  // field of the capabilities field".
  if (!supportsCredential(caps, leaf.credential.credentialType)) {
    throw new ValidationError("valid.credential_type_not_in_capabilities", `credential type 0x${hex16(leaf.credential.credentialType)} is not in the leaf's capabilities`, "RFC 9420 §7.2");
  }

  // RFC 9420 §13.4: no two extensions of one type; §7.3: each extension listed in capabilities
  // (default types 0x0001-0x0005 MUST NOT be listed, §7.2, so they are exempt).
  checkNoDuplicateExtensions(leaf.extensions, "LeafNode.extensions");
  for (const e of leaf.extensions) {
    if (!isDefaultExtensionType(e.extensionType) && !caps.extensions.includes(e.extensionType)) {
      throw new ValidationError("valid.extension_not_in_capabilities", `LeafNode extension 0x${hex16(e.extensionType)} is not in capabilities.extensions`, RFC);
    }
  }

  // RFC 9420 §7.3 "Verify that the LeafNode is compatible with the group's parameters."
  const facts = opts.groupFacts ?? {};
  if (opts.checkCipherSuiteCapability ?? true) {
    const version = facts.version ?? protocolVersions.mls10;
    if (!supportsVersion(caps, version)) {
      throw new ValidationError("valid.unsupported_protocol_version", `capabilities do not list protocol version ${version}`, RFC);
    }
    if (!supportsCipherSuite(caps, cs.params.id)) {
      throw new ValidationError("valid.unsupported_cipher_suite", `capabilities do not list cipher suite ${cs.params.id}`, RFC);
    }
  }
  const gce = facts.groupContextExtensions ?? [];
  const required = facts.requiredCapabilities !== undefined ? facts.requiredCapabilities : requiredCapabilitiesOf(gce);
  if (required !== null) checkRequiredCapabilities(caps, required, RFC);
  if (gce.length > 0) checkGroupExtensionsSupported(caps, gce.map((e) => e.extensionType));

  // RFC 9420 §7.3: this credential type is supported by all members, and this leaf supports every
  // credential type in use.
  const byAll = facts.credentialTypesSupportedByAll;
  if (byAll != null && !byAll.includes(leaf.credential.credentialType)) {
    throw new ValidationError("valid.credential_type_unsupported_by_members", `credential type 0x${hex16(leaf.credential.credentialType)} is not supported by all members`, RFC);
  }
  for (const t of facts.credentialTypesInUse ?? []) {
    if (!supportsCredential(caps, t)) {
      throw new ValidationError("valid.member_credential_type_unsupported", `capabilities do not list credential type 0x${hex16(t)} used by a member`, RFC);
    }
  }

  // RFC 9420 §7.3 "Verify the lifetime field", §7.2 maximum total lifetime.
  if (leaf.leafNodeSource === leafNodeSources.key_package) {
    const { notBefore, notAfter } = leaf.lifetime;
    if (opts.maxLifetimeSeconds != null && notAfter - notBefore > BigInt(Math.floor(opts.maxLifetimeSeconds))) {
      throw new ValidationError("valid.lifetime_too_long", `lifetime spans more than ${opts.maxLifetimeSeconds} s`, "RFC 9420 §7.2");
    }
    if (opts.checkLifetime ?? true) {
      const now = BigInt(Math.floor(opts.now ?? nowSeconds()));
      const skew = BigInt(Math.floor(opts.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS));
      if (now + skew < notBefore) throw new ValidationError("valid.lifetime_not_yet_valid", `leaf not valid before ${notBefore}`, RFC);
      if (now - skew > notAfter) throw new ValidationError("valid.lifetime_expired", `leaf expired at ${notAfter}`, RFC);
    }
  }

  // RFC 9420 §7.3: an Update's encryption_key differs from the one it replaces.
  const old = opts.replaces;
  if (old !== undefined && leaf.leafNodeSource === leafNodeSources.update && bytesEqual(old.encryptionKey, leaf.encryptionKey)) {
    throw new ValidationError("valid.encryption_key_not_updated", "Update leaf keeps the encryption_key of the leaf it replaces", RFC);
  }

  if (!verifyLeafNodeSignature(cs, leaf, opts.group)) {
    throw new ValidationError("valid.bad_leaf_node_signature", "LeafNode signature does not verify", RFC);
  }
}

/**
 * RFC 9420 §7.3 leaf node validation, minus the tree-wide uniqueness of keys. Resolves when the
 * leaf is valid; rejects with a {@link ValidationError} (codes in {@link LeafNodeErrorCode}).
 */
export async function validateLeafNode(cs: CipherSuite, leaf: LeafNode, opts: LeafNodeValidationOptions): Promise<void> {
  validateLeafNodeSync(cs, leaf, opts);
  const old = opts.replaces;
  // RFC 9420 §5.3.1: a replaced credential must be a valid successor of the old one.
  if (old !== undefined && !sameCredential(old, leaf) && !opts.authService.isSameClient(old.credential, leaf.credential)) {
    throw new ValidationError("valid.invalid_successor", "new credential is not a valid successor of the replaced one", "RFC 9420 §5.3.1");
  }
  // RFC 9420 §7.3 "Verify that the credential in the LeafNode is valid, as described in Section 5.3.1."
  if (opts.checkCredential ?? true) {
    await validateWithAuthenticationService(opts.authService, leaf.credential, leaf.signatureKey, {
      cipherSuite: cs.params.id,
      now: opts.now,
      purpose: opts.purpose,
      groupId: opts.group?.groupId,
    });
  }
}

function sameCredential(a: LeafNode, b: LeafNode): boolean {
  const x = a.credential;
  const y = b.credential;
  if (x.credentialType !== y.credentialType) return false;
  if (x.credentialType === credentialTypes.basic && y.credentialType === credentialTypes.basic) return bytesEqual(x.identity, y.identity);
  if (x.credentialType === credentialTypes.x509 && y.credentialType === credentialTypes.x509) {
    return x.certificates.length === y.certificates.length && x.certificates.every((c, i) => bytesEqual(c, y.certificates[i]!));
  }
  return false;
}

/** The expected SignaturePublicKey length of a suite (RFC 9420 §5.1.2), for callers building leaves. */
export function signatureKeyLength(suite: number): number {
  if (!isCipherSuiteId(suite)) throw new RangeError(`"suite" ${suite} is not an RFC 9420 cipher suite`);
  return SIGNATURE_KEY_LENGTH[SUITES[suite].signature];
}
