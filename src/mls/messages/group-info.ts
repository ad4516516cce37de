/**
 * GroupInfo (RFC 9420 §12.4.3): the signed description of a group at an epoch, sent encrypted in
 * a Welcome or published for external joins. This module holds the layout and the to-be-signed
 * encoding (GroupInfoTBS).
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, type Writer } from "../../codec/writer.js";
import { readExtensions, writeExtensions, type Extension } from "../core/extension.js";
import { readGroupContext, writeGroupContext, type GroupContext } from "../schedule/group-context.js";

/**
 * RFC 9420 §12.4.3:
 *   struct {
 *       GroupContext group_context;
 *       Extension extensions<V>;
 *       MAC confirmation_tag;
 *       uint32 signer;
 *   } GroupInfoTBS;
 */
export interface GroupInfoTbs {
  readonly groupContext: GroupContext;
  readonly extensions: readonly Extension[];
  readonly confirmationTag: Uint8Array;
  readonly signer: number;
}

/**
 * RFC 9420 §12.4.3:
 *   struct {
 *       GroupContext group_context;
 *       Extension extensions<V>;
 *       MAC confirmation_tag;
 *       uint32 signer;
 *       // SignWithLabel(., "GroupInfoTBS", GroupInfoTBS)
 *       opaque signature<V>;
 *   } GroupInfo;
 */
export interface GroupInfo extends GroupInfoTbs {
  readonly signature: Uint8Array;
}

function readGroupInfoTbs(r: Reader): GroupInfoTbs {
  const groupContext = r.field("group_context", () => readGroupContext(r));
  const extensions = readExtensions(r);
  const confirmationTag = r.field("confirmation_tag", () => r.opaque());
  const signer = r.field("signer", () => r.u32());
  return { groupContext, extensions, confirmationTag, signer };
}

/** RFC 9420 §12.4.3: GroupInfoTBS is GroupInfo without its trailing signature. */
export function writeGroupInfoTbs(w: Writer, v: GroupInfoTbs): void {
  writeGroupContext(w, v.groupContext);
  writeExtensions(w, v.extensions);
  w.opaque(v.confirmationTag).u32(v.signer);
}

/** The bytes signed with label "GroupInfoTBS". */
export function encodeGroupInfoTbs(v: GroupInfoTbs): Uint8Array {
  return encode(v, writeGroupInfoTbs, 512);
}

export function readGroupInfo(r: Reader): GroupInfo {
  const tbs = readGroupInfoTbs(r);
  const signature = r.field("signature", () => r.opaque());
  return { ...tbs, signature };
}

export function writeGroupInfo(w: Writer, v: GroupInfo): void {
  writeGroupInfoTbs(w, v);
  w.opaque(v.signature);
}

export function encodeGroupInfo(v: GroupInfo): Uint8Array {
  return encode(v, writeGroupInfo, 512);
}

/**
 * @param options.shareInput the fields are views into `bytes`, which the caller owns and never
 *   modifies again (a freshly decrypted GroupInfo): its multi-megabyte ratchet_tree extension is
 *   then not copied (see ReaderOptions.shareInput).
 */
export function decodeGroupInfo(bytes: Uint8Array, options: { readonly shareInput?: boolean } = {}): GroupInfo {
  return decode(bytes, readGroupInfo, "GroupInfo", { shareInput: options.shareInput ?? false });
}
