/**
 * The closed and registry-backed enumerations of RFC 9420 that the wire structs switch on
 * (§6, §7.2, §7.8, §5.3, §12.1, §17). Each is an `as const` object keyed by the RFC spelling, with
 * the value type derived from it.
 *
 * Closed enums whose value selects the layout of what follows (wire format, content type, sender
 * type, node type, leaf node source, proposal type, credential type) are rejected by the decoders
 * with `codec.bad_enum` when unknown. Values that are only carried (cipher suites, versions inside
 * capabilities, extension types) stay plain numbers.
 * @module
 */

/**
 * RFC 9420 §6:
 *   enum {
 *       reserved(0),
 *       mls10(1),
 *       (65535)
 *   } ProtocolVersion;
 */
export const protocolVersions = {
  mls10: 1,
} as const;

export type ProtocolVersionName = keyof typeof protocolVersions;
/** A ProtocolVersion value: `mls10` or any other uint16 carried in capabilities or a KeyPackage. */
export type ProtocolVersion = number;

/** RFC 9420 §17.2 MLS Wire Formats registry (`uint16 WireFormat`, §6). */
export const wireFormats = {
  mls_public_message: 0x0001,
  mls_private_message: 0x0002,
  mls_welcome: 0x0003,
  mls_group_info: 0x0004,
  mls_key_package: 0x0005,
} as const;

export type WireFormatName = keyof typeof wireFormats;
export type WireFormat = (typeof wireFormats)[WireFormatName];

/**
 * RFC 9420 §6:
 *   enum {
 *       reserved(0),
 *       application(1),
 *       proposal(2),
 *       commit(3),
 *       (255)
 *   } ContentType;
 */
export const contentTypes = {
  application: 1,
  proposal: 2,
  commit: 3,
} as const;

export type ContentTypeName = keyof typeof contentTypes;
export type ContentType = (typeof contentTypes)[ContentTypeName];

/**
 * RFC 9420 §6:
 *   enum {
 *       reserved(0),
 *       member(1),
 *       external(2),
 *       new_member_proposal(3),
 *       new_member_commit(4),
 *       (255)
 *   } SenderType;
 */
export const senderTypes = {
  member: 1,
  external: 2,
  new_member_proposal: 3,
  new_member_commit: 4,
} as const;

export type SenderTypeName = keyof typeof senderTypes;
export type SenderType = (typeof senderTypes)[SenderTypeName];

/** RFC 9420 §17.4 MLS Proposal Types registry (`uint16 ProposalType`, §12.1). */
export const proposalTypes = {
  add: 0x0001,
  update: 0x0002,
  remove: 0x0003,
  psk: 0x0004,
  reinit: 0x0005,
  external_init: 0x0006,
  group_context_extensions: 0x0007,
} as const;

/** RFC 9420 §12.1.8: "only the following types may be sent by an external sender". */
export const externalSenderProposalTypes: ReadonlySet<number> = new Set([
  proposalTypes.add,
  proposalTypes.remove,
  proposalTypes.psk,
  proposalTypes.reinit,
  proposalTypes.group_context_extensions,
]);

export type ProposalTypeName = keyof typeof proposalTypes;
export type ProposalType = (typeof proposalTypes)[ProposalTypeName];

/**
 * RFC 9420 §12.4:
 *   enum {
 *     reserved(0),
 *     proposal(1),
 *     reference(2),
 *     (255)
 *   } ProposalOrRefType;
 */
export const proposalOrRefTypes = {
  proposal: 1,
  reference: 2,
} as const;

export type ProposalOrRefTypeName = keyof typeof proposalOrRefTypes;
export type ProposalOrRefType = (typeof proposalOrRefTypes)[ProposalOrRefTypeName];

/**
 * RFC 9420 §7.8:
 *   enum {
 *       reserved(0),
 *       leaf(1),
 *       parent(2),
 *       (255)
 *   } NodeType;
 */
export const nodeTypes = {
  leaf: 1,
  parent: 2,
} as const;

export type NodeTypeName = keyof typeof nodeTypes;
export type NodeType = (typeof nodeTypes)[NodeTypeName];

/**
 * RFC 9420 §7.2:
 *   enum {
 *       reserved(0),
 *       key_package(1),
 *       update(2),
 *       commit(3),
 *       (255)
 *   } LeafNodeSource;
 */
export const leafNodeSources = {
  key_package: 1,
  update: 2,
  commit: 3,
} as const;

export type LeafNodeSourceName = keyof typeof leafNodeSources;
export type LeafNodeSource = (typeof leafNodeSources)[LeafNodeSourceName];

/** RFC 9420 §17.5 MLS Credential Types registry (`uint16 CredentialType`, §5.3). */
export const credentialTypes = {
  basic: 0x0001,
  x509: 0x0002,
} as const;

export type CredentialTypeName = keyof typeof credentialTypes;
export type CredentialType = (typeof credentialTypes)[CredentialTypeName];
