/**
 * Working with Capabilities (RFC 9420 §7.2) and RequiredCapabilities (§11.1): the default
 * proposal/extension types, building a client's advertised capabilities (with GREASE, §13.5),
 * and the support checks that leaf-node validation (§7.3) and group operations need.
 *
 * Unknown values in a capabilities list are ignored by construction (RFC 9420 §13.4): every check
 * here asks "is X listed?", never "is everything listed known?".
 * @module
 */
import { ALL_SUITE_IDS } from "../../crypto/cipher-suite.js";
import { ValidationError } from "../../errors.js";
import type { Capabilities } from "./capabilities.js";
import { extensionTypes, findExtension, type Extension } from "./extension.js";
import { randomGreaseValues, withoutGrease, type RandomBytes } from "./grease.js";
import { credentialTypes, protocolVersions, proposalTypes } from "./protocol.js";
import { decodeRequiredCapabilities, type RequiredCapabilities } from "./required-capabilities.js";

/**
 * RFC 9420 §7.2: proposal types 0x0001..0x0007 are "default" and MUST NOT be listed in
 * capabilities; every client supports them.
 */
export const DEFAULT_PROPOSAL_TYPES: readonly number[] = Object.freeze(Object.values(proposalTypes));

/**
 * RFC 9420 §7.2: extension types 0x0001..0x0005 (application_id, ratchet_tree,
 * required_capabilities, external_pub, external_senders) are "default" and MUST NOT be listed.
 */
export const DEFAULT_EXTENSION_TYPES: readonly number[] = Object.freeze([
  extensionTypes.application_id,
  extensionTypes.ratchet_tree,
  extensionTypes.required_capabilities,
  extensionTypes.external_pub,
  extensionTypes.external_senders,
]);

export function isDefaultProposalType(type: number): boolean {
  return type >= proposalTypes.add && type <= proposalTypes.group_context_extensions;
}

export function isDefaultExtensionType(type: number): boolean {
  return type >= extensionTypes.application_id && type <= extensionTypes.external_senders;
}

/** Does `caps` indicate support for this extension type? Default types are always supported (§7.2). */
export function supportsExtension(caps: Capabilities, type: number): boolean {
  return isDefaultExtensionType(type) || caps.extensions.includes(type);
}

/** Does `caps` indicate support for this proposal type? Default types are always supported (§7.2). */
export function supportsProposal(caps: Capabilities, type: number): boolean {
  return isDefaultProposalType(type) || caps.proposals.includes(type);
}

/** Credential types have no defaults: each one must be listed (§7.2). */
export function supportsCredential(caps: Capabilities, type: number): boolean {
  return caps.credentials.includes(type);
}

export function supportsCipherSuite(caps: Capabilities, suite: number): boolean {
  return caps.cipherSuites.includes(suite);
}

export function supportsVersion(caps: Capabilities, version: number): boolean {
  return caps.versions.includes(version);
}

/**
 * RFC 9420 §7.3 / §11.1: "If the GroupContext has a required_capabilities extension, then the
 * required extensions, proposals, and credential types MUST be listed in the LeafNode's
 * capabilities field." Throws `valid.unsupported_required_capability`.
 */
export function checkRequiredCapabilities(caps: Capabilities, required: RequiredCapabilities, rfc = "RFC 9420 §7.3"): void {
  for (const t of required.extensionTypes) {
    if (!supportsExtension(caps, t)) {
      throw new ValidationError("valid.unsupported_required_capability", `required extension type 0x${hex16(t)} is not in capabilities`, rfc);
    }
  }
  for (const t of required.proposalTypes) {
    if (!supportsProposal(caps, t)) {
      throw new ValidationError("valid.unsupported_required_capability", `required proposal type 0x${hex16(t)} is not in capabilities`, rfc);
    }
  }
  for (const t of required.credentialTypes) {
    if (!supportsCredential(caps, t)) {
      throw new ValidationError("valid.unsupported_required_capability", `required credential type 0x${hex16(t)} is not in capabilities`, rfc);
    }
  }
}

/**
 * RFC 9420 §13.4: "The capabilities field MUST indicate support for each extension in the
 * GroupContext." Throws `valid.unsupported_group_extension`.
 */
export function checkGroupExtensionsSupported(caps: Capabilities, groupContextExtensionTypes: readonly number[]): void {
  for (const t of groupContextExtensionTypes) {
    if (!supportsExtension(caps, t)) {
      throw new ValidationError("valid.unsupported_group_extension", `GroupContext extension type 0x${hex16(t)} is not in capabilities`, "RFC 9420 §13.4");
    }
  }
}

/** The decoded required_capabilities extension of a GroupContext extension list, or null (§11.1). */
export function requiredCapabilitiesOf(groupContextExtensions: readonly Extension[]): RequiredCapabilities | null {
  const ext = findExtension(groupContextExtensions, extensionTypes.required_capabilities);
  return ext === null ? null : decodeRequiredCapabilities(ext.extensionData);
}

/**
 * RFC 9420 §13.4: "Any field containing a list of extensions MUST NOT have more than one
 * extension of any given type." Throws `valid.duplicate_extension`.
 */
export function checkNoDuplicateExtensions(list: readonly Extension[], where: string): void {
  if (list.length < 2) return;
  const seen = new Set<number>();
  for (const e of list) {
    if (seen.has(e.extensionType)) {
      throw new ValidationError("valid.duplicate_extension", `${where} has more than one extension of type 0x${hex16(e.extensionType)}`, "RFC 9420 §13.4");
    }
    seen.add(e.extensionType);
  }
}

/** Inputs of {@link buildCapabilities}. Omitted lists take the defaults described there. */
export interface CapabilitiesOptions {
  readonly versions?: readonly number[];
  readonly cipherSuites?: readonly number[];
  /** Non-default extension types supported (default: none). */
  readonly extensions?: readonly number[];
  /** Non-default proposal types supported (default: none). */
  readonly proposals?: readonly number[];
  /** Credential types supported (default: basic and x509). */
  readonly credentials?: readonly number[];
  /**
   * Random source for GREASE values (RFC 9420 §13.5 "SHOULD include some random GREASE
   * values"); omit or pass `null` for capabilities without GREASE.
   */
  readonly grease?: RandomBytes | null;
}

/**
 * The capabilities a client advertises (RFC 9420 §7.2): by default mls10, all seven RFC 9420
 * suites, no non-default extensions or proposals, basic and x509 credentials. Default proposal
 * and extension types are removed (they MUST NOT be listed). With `grease`, one or two random
 * GREASE values are appended to cipher_suites, extensions, proposals and credentials (§13.5).
 */
export function buildCapabilities(opts: CapabilitiesOptions = {}): Capabilities {
  const uniq = (l: readonly number[]): number[] => [...new Set(l)];
  const versions = uniq(opts.versions ?? [protocolVersions.mls10]);
  const cipherSuites = uniq(opts.cipherSuites ?? ALL_SUITE_IDS);
  const extensions = uniq((opts.extensions ?? []).filter((t) => !isDefaultExtensionType(t)));
  const proposals = uniq((opts.proposals ?? []).filter((t) => !isDefaultProposalType(t)));
  const credentials = uniq(opts.credentials ?? [credentialTypes.basic, credentialTypes.x509]);
  const random = opts.grease;
  if (random) {
    const add = (list: number[]): number[] => {
      const count = 1 + (random(1)[0]! & 1);
      for (const g of randomGreaseValues(random, count)) if (!list.includes(g)) list.push(g);
      return list;
    };
    return { versions, cipherSuites: add(cipherSuites), extensions: add(extensions), proposals: add(proposals), credentials: add(credentials) };
  }
  return { versions, cipherSuites, extensions, proposals, credentials };
}

/**
 * A capabilities value with every GREASE value removed: the form a client uses for its own
 * capabilities when comparing lists (RFC 9420 §13.5).
 */
export function capabilitiesWithoutGrease(caps: Capabilities): Capabilities {
  return {
    versions: caps.versions.slice(),
    cipherSuites: withoutGrease(caps.cipherSuites),
    extensions: withoutGrease(caps.extensions),
    proposals: withoutGrease(caps.proposals),
    credentials: withoutGrease(caps.credentials),
  };
}

/** `caps` with the given (non-default) extension types added to `extensions` if missing. */
export function withExtensionTypes(caps: Capabilities, types: Iterable<number>): Capabilities {
  const extensions = caps.extensions.slice();
  for (const t of types) if (!isDefaultExtensionType(t) && !extensions.includes(t)) extensions.push(t);
  return extensions.length === caps.extensions.length ? caps : { ...caps, extensions };
}

/** `caps` with the credential type added to `credentials` if missing. */
export function withCredentialType(caps: Capabilities, type: number): Capabilities {
  return caps.credentials.includes(type) ? caps : { ...caps, credentials: [...caps.credentials, type] };
}

function hex16(v: number): string {
  return v.toString(16).padStart(4, "0");
}
