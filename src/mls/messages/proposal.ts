/**
 * Proposals (RFC 9420 §12.1): the seven proposal bodies, the Proposal union and ProposalOrRef.
 *
 * `Proposal` has no length prefix around its select, so a proposal of unknown type cannot be
 * skipped: it fails with `codec.bad_enum` (a group only carries non-default types that every
 * member supports, §13.2, and we support none beyond the defaults).
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, type Writer } from "../../codec/writer.js";
import { readExtensions, writeExtensions, type Extension } from "../core/extension.js";
import { readPreSharedKeyId, writePreSharedKeyId, type PreSharedKeyId } from "../core/pre-shared-key-id.js";
import { proposalOrRefTypes, proposalTypes, type ProtocolVersion } from "../core/protocol.js";
import { readLeafNode, writeLeafNode, type LeafNode } from "../tree/leaf-node.js";
import { readKeyPackage, writeKeyPackage, type KeyPackage } from "./key-package.js";

/** RFC 9420 §12.1.1: `struct { KeyPackage key_package; } Add;` */
export interface Add {
  readonly keyPackage: KeyPackage;
}

/** RFC 9420 §12.1.2: `struct { LeafNode leaf_node; } Update;` */
export interface Update {
  readonly leafNode: LeafNode;
}

/** RFC 9420 §12.1.3: `struct { uint32 removed; } Remove;` */
export interface Remove {
  readonly removed: number;
}

/** RFC 9420 §12.1.4: `struct { PreSharedKeyID psk; } PreSharedKey;` */
export interface PreSharedKey {
  readonly psk: PreSharedKeyId;
}

/**
 * RFC 9420 §12.1.5:
 *   struct {
 *       opaque group_id<V>;
 *       ProtocolVersion version;
 *       CipherSuite cipher_suite;
 *       Extension extensions<V>;
 *   } ReInit;
 */
export interface ReInit {
  readonly groupId: Uint8Array;
  readonly version: ProtocolVersion;
  readonly cipherSuite: number;
  readonly extensions: readonly Extension[];
}

/** RFC 9420 §12.1.6: `struct { opaque kem_output<V>; } ExternalInit;` */
export interface ExternalInit {
  readonly kemOutput: Uint8Array;
}

/** RFC 9420 §12.1.7: `struct { Extension extensions<V>; } GroupContextExtensions;` */
export interface GroupContextExtensions {
  readonly extensions: readonly Extension[];
}

/**
 * RFC 9420 §12.1:
 *   struct {
 *       ProposalType proposal_type;
 *       select (Proposal.proposal_type) {
 *           case add:                      Add;
 *           case update:                   Update;
 *           case remove:                   Remove;
 *           case psk:                      PreSharedKey;
 *           case reinit:                   ReInit;
 *           case external_init:            ExternalInit;
 *           case group_context_extensions: GroupContextExtensions;
 *       };
 *   } Proposal;
 *
 * Each arm carries its body under the camelCased case label.
 */
export type Proposal =
  | { readonly proposalType: typeof proposalTypes.add; readonly add: Add }
  | { readonly proposalType: typeof proposalTypes.update; readonly update: Update }
  | { readonly proposalType: typeof proposalTypes.remove; readonly remove: Remove }
  | { readonly proposalType: typeof proposalTypes.psk; readonly psk: PreSharedKey }
  | { readonly proposalType: typeof proposalTypes.reinit; readonly reinit: ReInit }
  | { readonly proposalType: typeof proposalTypes.external_init; readonly externalInit: ExternalInit }
  | { readonly proposalType: typeof proposalTypes.group_context_extensions; readonly groupContextExtensions: GroupContextExtensions };

// --- the seven bodies -------------------------------------------------------------------------

export function readAdd(r: Reader): Add {
  return { keyPackage: r.field("key_package", () => readKeyPackage(r)) };
}

export function writeAdd(w: Writer, v: Add): void {
  writeKeyPackage(w, v.keyPackage);
}

export function readUpdate(r: Reader): Update {
  return { leafNode: r.field("leaf_node", () => readLeafNode(r)) };
}

export function writeUpdate(w: Writer, v: Update): void {
  writeLeafNode(w, v.leafNode);
}

export function readRemove(r: Reader): Remove {
  return { removed: r.field("removed", () => r.u32()) };
}

export function writeRemove(w: Writer, v: Remove): void {
  w.u32(v.removed);
}

export function readPreSharedKey(r: Reader): PreSharedKey {
  return { psk: r.field("psk", () => readPreSharedKeyId(r)) };
}

export function writePreSharedKey(w: Writer, v: PreSharedKey): void {
  writePreSharedKeyId(w, v.psk);
}

export function readReInit(r: Reader): ReInit {
  const groupId = r.field("group_id", () => r.opaque());
  const version = r.field("version", () => r.u16());
  const cipherSuite = r.field("cipher_suite", () => r.u16());
  const extensions = readExtensions(r);
  return { groupId, version, cipherSuite, extensions };
}

export function writeReInit(w: Writer, v: ReInit): void {
  w.opaque(v.groupId).u16(v.version).u16(v.cipherSuite);
  writeExtensions(w, v.extensions);
}

export function readExternalInit(r: Reader): ExternalInit {
  return { kemOutput: r.field("kem_output", () => r.opaque()) };
}

export function writeExternalInit(w: Writer, v: ExternalInit): void {
  w.opaque(v.kemOutput);
}

export function readGroupContextExtensions(r: Reader): GroupContextExtensions {
  return { extensions: readExtensions(r) };
}

export function writeGroupContextExtensions(w: Writer, v: GroupContextExtensions): void {
  writeExtensions(w, v.extensions);
}

export const encodeAdd = (v: Add): Uint8Array => encode(v, writeAdd, 512);
export const decodeAdd = (b: Uint8Array): Add => decode(b, readAdd, "Add");
export const encodeUpdate = (v: Update): Uint8Array => encode(v, writeUpdate, 512);
export const decodeUpdate = (b: Uint8Array): Update => decode(b, readUpdate, "Update");
export const encodeRemove = (v: Remove): Uint8Array => encode(v, writeRemove, 4);
export const decodeRemove = (b: Uint8Array): Remove => decode(b, readRemove, "Remove");
export const encodePreSharedKey = (v: PreSharedKey): Uint8Array => encode(v, writePreSharedKey);
export const decodePreSharedKey = (b: Uint8Array): PreSharedKey => decode(b, readPreSharedKey, "PreSharedKey");
export const encodeReInit = (v: ReInit): Uint8Array => encode(v, writeReInit);
export const decodeReInit = (b: Uint8Array): ReInit => decode(b, readReInit, "ReInit");
export const encodeExternalInit = (v: ExternalInit): Uint8Array => encode(v, writeExternalInit);
export const decodeExternalInit = (b: Uint8Array): ExternalInit => decode(b, readExternalInit, "ExternalInit");
export const encodeGroupContextExtensions = (v: GroupContextExtensions): Uint8Array => encode(v, writeGroupContextExtensions);
export const decodeGroupContextExtensions = (b: Uint8Array): GroupContextExtensions =>
  decode(b, readGroupContextExtensions, "GroupContextExtensions");

// --- Proposal -----------------------------------------------------------------------------------

export function readProposal(r: Reader): Proposal {
  const proposalType = r.field("proposal_type", () => r.u16());
  switch (proposalType) {
    case proposalTypes.add:
      return { proposalType, add: r.field("add", () => readAdd(r)) };
    case proposalTypes.update:
      return { proposalType, update: r.field("update", () => readUpdate(r)) };
    case proposalTypes.remove:
      return { proposalType, remove: r.field("remove", () => readRemove(r)) };
    case proposalTypes.psk:
      return { proposalType, psk: r.field("psk", () => readPreSharedKey(r)) };
    case proposalTypes.reinit:
      return { proposalType, reinit: r.field("reinit", () => readReInit(r)) };
    case proposalTypes.external_init:
      return { proposalType, externalInit: r.field("external_init", () => readExternalInit(r)) };
    case proposalTypes.group_context_extensions:
      return { proposalType, groupContextExtensions: r.field("group_context_extensions", () => readGroupContextExtensions(r)) };
    default:
      // RFC 9420 §12.1: the select decides the layout; an unknown body has no length to skip by.
      return r.field("proposal_type", () => r.fail("bad_enum", `unknown ProposalType ${proposalType}`));
  }
}

export function writeProposal(w: Writer, v: Proposal): void {
  w.u16(v.proposalType);
  switch (v.proposalType) {
    case proposalTypes.add:
      return writeAdd(w, v.add);
    case proposalTypes.update:
      return writeUpdate(w, v.update);
    case proposalTypes.remove:
      return writeRemove(w, v.remove);
    case proposalTypes.psk:
      return writePreSharedKey(w, v.psk);
    case proposalTypes.reinit:
      return writeReInit(w, v.reinit);
    case proposalTypes.external_init:
      return writeExternalInit(w, v.externalInit);
    case proposalTypes.group_context_extensions:
      return writeGroupContextExtensions(w, v.groupContextExtensions);
  }
}

export function encodeProposal(v: Proposal): Uint8Array {
  return encode(v, writeProposal, 512);
}

export function decodeProposal(bytes: Uint8Array): Proposal {
  return decode(bytes, readProposal, "Proposal");
}

// --- ProposalOrRef ------------------------------------------------------------------------------

/**
 * RFC 9420 §12.4:
 *   struct {
 *     ProposalOrRefType type;
 *     select (ProposalOrRef.type) {
 *       case proposal:  Proposal proposal;
 *       case reference: ProposalRef reference;
 *     };
 *   } ProposalOrRef;
 *
 * `ProposalRef` is a `HashReference`, i.e. `opaque<V>` (RFC 9420 §5.2).
 */
export type ProposalOrRef =
  | { readonly type: typeof proposalOrRefTypes.proposal; readonly proposal: Proposal }
  | { readonly type: typeof proposalOrRefTypes.reference; readonly reference: Uint8Array };

export function readProposalOrRef(r: Reader): ProposalOrRef {
  const type = r.field("type", () => r.u8());
  switch (type) {
    case proposalOrRefTypes.proposal:
      return { type, proposal: r.field("proposal", () => readProposal(r)) };
    case proposalOrRefTypes.reference:
      return { type, reference: r.field("reference", () => r.opaque()) };
    default:
      return r.field("type", () => r.fail("bad_enum", `unknown ProposalOrRefType ${type}`));
  }
}

export function writeProposalOrRef(w: Writer, v: ProposalOrRef): void {
  w.u8(v.type);
  switch (v.type) {
    case proposalOrRefTypes.proposal:
      writeProposal(w, v.proposal);
      break;
    case proposalOrRefTypes.reference:
      w.opaque(v.reference);
      break;
  }
}
