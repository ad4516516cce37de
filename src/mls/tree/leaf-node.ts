/**
 * LeafNode (RFC 9420 §7.2): a member's public state in the ratchet tree, also carried inside
 * KeyPackages and Update proposals and at the head of an UpdatePath. This module holds the layout
 * and the to-be-signed encoding (LeafNodeTBS); signature checks and the §7.3 validation rules live
 * with the tree logic.
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, Writer } from "../../codec/writer.js";
import { UsageError } from "../../errors.js";
import { readCapabilities, writeCapabilities, type Capabilities } from "../core/capabilities.js";
import { readCredential, writeCredential, type Credential } from "../core/credential.js";
import { readExtensions, writeExtensions, type Extension } from "../core/extension.js";
import { readLifetime, writeLifetime, type Lifetime } from "../core/lifetime.js";
import { leafNodeSources } from "../core/protocol.js";

/** The fields shared by every LeafNode source. */
interface LeafNodeCommon {
  readonly encryptionKey: Uint8Array;
  readonly signatureKey: Uint8Array;
  readonly credential: Credential;
  readonly capabilities: Capabilities;
  readonly extensions: readonly Extension[];
}

/** `case key_package: Lifetime lifetime;` */
export interface KeyPackageLeafNodeSource {
  readonly leafNodeSource: typeof leafNodeSources.key_package;
  readonly lifetime: Lifetime;
}

/** `case update: struct{};` */
export interface UpdateLeafNodeSource {
  readonly leafNodeSource: typeof leafNodeSources.update;
}

/** `case commit: opaque parent_hash<V>;` */
export interface CommitLeafNodeSource {
  readonly leafNodeSource: typeof leafNodeSources.commit;
  readonly parentHash: Uint8Array;
}

/** The `leaf_node_source` select of LeafNode and LeafNodeTBS (RFC 9420 §7.2). */
export type LeafNodeSourceFields = KeyPackageLeafNodeSource | UpdateLeafNodeSource | CommitLeafNodeSource;

/** Everything in a LeafNode above the signature: the signed part of LeafNodeTBS. */
export type LeafNodeContent = LeafNodeCommon & LeafNodeSourceFields;

/**
 * RFC 9420 §7.2:
 *   struct {
 *       HPKEPublicKey encryption_key;
 *       SignaturePublicKey signature_key;
 *       Credential credential;
 *       Capabilities capabilities;
 *
 *       LeafNodeSource leaf_node_source;
 *       select (LeafNode.leaf_node_source) {
 *           case key_package:
 *               Lifetime lifetime;
 *
 *           case update:
 *               struct{};
 *
 *           case commit:
 *               opaque parent_hash<V>;
 *       };
 *
 *       Extension extensions<V>;
 *       // SignWithLabel(., "LeafNodeTBS", LeafNodeTBS)
 *       opaque signature<V>;
 *   } LeafNode;
 */
export type LeafNode = LeafNodeContent & { readonly signature: Uint8Array };

/** `credentialAt` is told where the credential's bytes start and end (reader offsets). */
function readLeafNodeContent(r: Reader, credentialAt?: (start: number, end: number) => void): LeafNodeContent {
  const encryptionKey = r.field("encryption_key", () => r.opaque());
  const signatureKey = r.field("signature_key", () => r.opaque());
  const credentialStart = r.offset;
  const credential = r.field("credential", () => readCredential(r));
  credentialAt?.(credentialStart, r.offset);
  // Interned: the leaves of a tree mostly repeat these byte for byte (see Reader.interned).
  const capabilities = r.field("capabilities", () => r.interned("capabilities", r.peekVectorsSpan(5), readCapabilities));
  const leafNodeSource = r.field("leaf_node_source", () => r.u8());
  switch (leafNodeSource) {
    case leafNodeSources.key_package: {
      const lifetime = r.field("lifetime", () => r.interned("lifetime", 16, readLifetime));
      const extensions = r.interned("leaf_extensions", r.peekVectorsSpan(1), readExtensions);
      return { encryptionKey, signatureKey, credential, capabilities, leafNodeSource, lifetime, extensions };
    }
    case leafNodeSources.update: {
      const extensions = r.interned("leaf_extensions", r.peekVectorsSpan(1), readExtensions);
      return { encryptionKey, signatureKey, credential, capabilities, leafNodeSource, extensions };
    }
    case leafNodeSources.commit: {
      const parentHash = r.field("parent_hash", () => r.opaque());
      const extensions = r.interned("leaf_extensions", r.peekVectorsSpan(1), readExtensions);
      return { encryptionKey, signatureKey, credential, capabilities, leafNodeSource, parentHash, extensions };
    }
    default:
      return r.field("leaf_node_source", () => r.fail("bad_enum", `unknown LeafNodeSource ${leafNodeSource}`));
  }
}

function writeLeafNodeContent(w: Writer, v: LeafNodeContent): void {
  w.opaque(v.encryptionKey).opaque(v.signatureKey);
  writeCredential(w, v.credential);
  writeCapabilities(w, v.capabilities);
  w.u8(v.leafNodeSource);
  switch (v.leafNodeSource) {
    case leafNodeSources.key_package:
      writeLifetime(w, v.lifetime);
      break;
    case leafNodeSources.update:
      break;
    case leafNodeSources.commit:
      w.opaque(v.parentHash);
      break;
  }
  writeExtensions(w, v.extensions);
}

/**
 * The exact encoding of each decoded LeafNode, and where its signature field starts: the codec is
 * canonical, so these are the bytes re-encoding would give. Tree hashes (§7.8) and signature
 * checks (LeafNodeTBS, §7.2) of a joined 10,000-member tree then cost no re-encoding. Decoded
 * leaves are never modified (readonly by type); an object built in code has no entry.
 * (Leaves decoded from a shared input are {@link EncodedLeafNode}s, which hold their bytes.)
 */
const decodedEncodings = new WeakMap<LeafNode, { readonly bytes: Uint8Array; readonly tbsEnd: number }>();

/**
 * A LeafNode decoded by a reader that shares its input (a joined group's ratchet tree): one
 * object over the leaf's bytes instead of ~10 (the node, views of its keys and signature, the
 * credential and its identity, the remembered encoding). Byte fields and the credential are read
 * from `encoding` on access, so each access returns a fresh view; capabilities, lifetime and
 * extensions are the values the reader interned (shared by the leaves that repeat them). At
 * 10,000 members this keeps ~7 MB less on the heap, and the join leaves far fewer survivors for
 * the garbage collector to copy.
 *
 * `encoding` is the only own enumerable property: two such leaves are deep-equal exactly when
 * their encodings are.
 */
class EncodedLeafNode {
  /** The exact encoding of this LeafNode (a view of the shared input; never modified). */
  readonly encoding: Uint8Array;
  readonly #tbsEnd: number;
  // Where the byte fields' bodies start and end in `encoding` (the signature ends with it).
  readonly #encryptionKeyStart: number;
  readonly #encryptionKeyEnd: number;
  readonly #signatureKeyStart: number;
  readonly #signatureKeyEnd: number;
  readonly #parentHashStart: number;
  readonly #parentHashEnd: number;
  readonly #signatureStart: number;
  readonly #credentialStart: number;
  readonly #credentialEnd: number;
  readonly #source: number;
  readonly #capabilities: Capabilities;
  readonly #lifetime: Lifetime | null;
  readonly #extensions: readonly Extension[];

  constructor(encoding: Uint8Array, tbsEnd: number, credential: { readonly start: number; readonly end: number }, content: LeafNodeContent, signature: Uint8Array) {
    const at = (v: Uint8Array): number => v.byteOffset - encoding.byteOffset;
    this.encoding = encoding;
    this.#tbsEnd = tbsEnd;
    this.#encryptionKeyStart = at(content.encryptionKey);
    this.#encryptionKeyEnd = this.#encryptionKeyStart + content.encryptionKey.length;
    this.#signatureKeyStart = at(content.signatureKey);
    this.#signatureKeyEnd = this.#signatureKeyStart + content.signatureKey.length;
    const parentHash = content.leafNodeSource === leafNodeSources.commit ? content.parentHash : null;
    this.#parentHashStart = parentHash === null ? -1 : at(parentHash);
    this.#parentHashEnd = parentHash === null ? -1 : this.#parentHashStart + parentHash.length;
    this.#signatureStart = at(signature);
    this.#credentialStart = credential.start;
    this.#credentialEnd = credential.end;
    this.#source = content.leafNodeSource;
    this.#capabilities = content.capabilities;
    this.#lifetime = content.leafNodeSource === leafNodeSources.key_package ? content.lifetime : null;
    this.#extensions = content.extensions;
  }

  get encryptionKey(): Uint8Array {
    return this.encoding.subarray(this.#encryptionKeyStart, this.#encryptionKeyEnd);
  }
  get signatureKey(): Uint8Array {
    return this.encoding.subarray(this.#signatureKeyStart, this.#signatureKeyEnd);
  }
  get credential(): Credential {
    return decode(this.encoding.subarray(this.#credentialStart, this.#credentialEnd), readCredential, "credential", { shareInput: true });
  }
  get capabilities(): Capabilities {
    return this.#capabilities;
  }
  get leafNodeSource(): LeafNode["leafNodeSource"] {
    return this.#source as LeafNode["leafNodeSource"];
  }
  get lifetime(): Lifetime | undefined {
    return this.#lifetime ?? undefined;
  }
  get parentHash(): Uint8Array | undefined {
    return this.#parentHashStart < 0 ? undefined : this.encoding.subarray(this.#parentHashStart, this.#parentHashEnd);
  }
  get extensions(): readonly Extension[] {
    return this.#extensions;
  }
  get signature(): Uint8Array {
    return this.encoding.subarray(this.#signatureStart);
  }
  /** Length of the LeafNodeTBS prefix of `encoding` (everything above the signature). */
  get tbsEnd(): number {
    return this.#tbsEnd;
  }
}

/** LeafNode = content + signature, built field by field (no object spread: see framedContentOf). */
export function leafNodeOf(c: LeafNodeContent, signature: Uint8Array): LeafNode {
  const { encryptionKey, signatureKey, credential, capabilities, extensions } = c;
  switch (c.leafNodeSource) {
    case leafNodeSources.key_package:
      return { encryptionKey, signatureKey, credential, capabilities, leafNodeSource: c.leafNodeSource, lifetime: c.lifetime, extensions, signature };
    case leafNodeSources.update:
      return { encryptionKey, signatureKey, credential, capabilities, leafNodeSource: c.leafNodeSource, extensions, signature };
    case leafNodeSources.commit:
      return { encryptionKey, signatureKey, credential, capabilities, leafNodeSource: c.leafNodeSource, parentHash: c.parentHash, extensions, signature };
  }
}

/**
 * A plain-object copy of `leaf` with every field read once. Leaves of a decoded ratchet tree are
 * read-only objects whose fields are accessors ({@link EncodedLeafNode}), so object spread
 * (`{ ...leaf }`) does not copy them: derive a modified leaf from `{ ...leafNodeFields(leaf), ... }`.
 */
export function leafNodeFields(leaf: LeafNode): LeafNode {
  return leafNodeOf(leaf, leaf.signature);
}

/** The encoding of a decoded leaf and where its signature starts, or undefined for a leaf built in code. */
function knownEncoding(leaf: LeafNodeContent): { readonly bytes: Uint8Array; readonly tbsEnd: number } | undefined {
  if (leaf instanceof EncodedLeafNode) return { bytes: leaf.encoding, tbsEnd: leaf.tbsEnd };
  return decodedEncodings.get(leaf as LeafNode);
}

export function readLeafNode(r: Reader): LeafNode {
  const start = r.offset;
  let credentialStart = -1;
  let credentialEnd = -1;
  const content = readLeafNodeContent(r, (s, e) => {
    credentialStart = s - start;
    credentialEnd = e - start;
  });
  const tbsEnd = r.offset - start;
  const signature = r.field("signature", () => r.opaque());
  const bytes = r.readSince(start);
  if (r.sharesInput) return new EncodedLeafNode(bytes, tbsEnd, { start: credentialStart, end: credentialEnd }, content, signature) as unknown as LeafNode;
  const leaf = leafNodeOf(content, signature);
  decodedEncodings.set(leaf, { bytes, tbsEnd });
  return leaf;
}

export function writeLeafNode(w: Writer, v: LeafNode): void {
  const known = knownEncoding(v);
  if (known !== undefined) {
    w.bytes(known.bytes);
    return;
  }
  writeLeafNodeContent(w, v);
  w.opaque(v.signature);
}

/** The encoding of `leaf` when it was decoded (do not modify), else null. */
export function decodedLeafNodeEncoding(leaf: LeafNode): Uint8Array | null {
  return knownEncoding(leaf)?.bytes ?? null;
}

export function encodeLeafNode(v: LeafNode): Uint8Array {
  return encode(v, writeLeafNode);
}

export function decodeLeafNode(bytes: Uint8Array): LeafNode {
  return decode(bytes, readLeafNode, "LeafNode");
}

/** The group a leaf is signed for: required for `update` and `commit` sources (RFC 9420 §7.2). */
export interface LeafNodeGroupContext {
  readonly groupId: Uint8Array;
  readonly leafIndex: number;
}

/**
 * RFC 9420 §7.2 LeafNodeTBS: the LeafNode fields above the signature, then, for the `update` and
 * `commit` sources, the group ID and leaf index the leaf is signed for:
 *
 *       select (LeafNodeTBS.leaf_node_source) {
 *           case key_package:
 *               struct{};
 *
 *           case update:
 *               opaque group_id<V>;
 *               uint32 leaf_index;
 *
 *           case commit:
 *               opaque group_id<V>;
 *               uint32 leaf_index;
 *       };
 *
 * `group` is ignored for `key_package` leaves and required (UsageError otherwise) for the others.
 */
export function writeLeafNodeTbs(w: Writer, leaf: LeafNodeContent, group?: LeafNodeGroupContext): void {
  const known = knownEncoding(leaf);
  if (known !== undefined) w.bytes(known.bytes.subarray(0, known.tbsEnd));
  else writeLeafNodeContent(w, leaf);
  if (leaf.leafNodeSource === leafNodeSources.key_package) return;
  if (group === undefined) {
    throw new UsageError("missing_group_context", "LeafNodeTBS for an update or commit leaf needs the group_id and leaf_index");
  }
  w.opaque(group.groupId).u32(group.leafIndex);
}

/** The bytes signed with label "LeafNodeTBS" (RFC 9420 §7.2). */
export function encodeLeafNodeTbs(leaf: LeafNodeContent, group?: LeafNodeGroupContext): Uint8Array {
  const known = knownEncoding(leaf);
  // A decoded key_package leaf: its TBS is a prefix of its encoding (a view, nothing copied).
  if (known !== undefined && leaf.leafNodeSource === leafNodeSources.key_package) return known.bytes.subarray(0, known.tbsEnd);
  const w = new Writer(known === undefined ? 512 : known.tbsEnd + 64);
  writeLeafNodeTbs(w, leaf, group);
  return w.finish();
}
