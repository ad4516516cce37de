/**
 * Sender (RFC 9420 §6): who produced a FramedContent.
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, type Writer } from "../../codec/writer.js";
import { senderTypes } from "../core/protocol.js";

/** `case member: uint32 leaf_index;` */
export interface MemberSender {
  readonly senderType: typeof senderTypes.member;
  readonly leafIndex: number;
}

/** `case external: uint32 sender_index;` (an index into the external_senders extension) */
export interface ExternalSenderRef {
  readonly senderType: typeof senderTypes.external;
  readonly senderIndex: number;
}

/** `case new_member_proposal: struct{};` */
export interface NewMemberProposalSender {
  readonly senderType: typeof senderTypes.new_member_proposal;
}

/** `case new_member_commit: struct{};` */
export interface NewMemberCommitSender {
  readonly senderType: typeof senderTypes.new_member_commit;
}

/**
 * RFC 9420 §6:
 *   struct {
 *       SenderType sender_type;
 *       select (Sender.sender_type) {
 *           case member:
 *               uint32 leaf_index;
 *           case external:
 *               uint32 sender_index;
 *           case new_member_commit:
 *           case new_member_proposal:
 *               struct{};
 *       };
 *   } Sender;
 */
export type Sender = MemberSender | ExternalSenderRef | NewMemberProposalSender | NewMemberCommitSender;

export function readSender(r: Reader): Sender {
  const senderType = r.field("sender_type", () => r.u8());
  switch (senderType) {
    case senderTypes.member:
      return { senderType, leafIndex: r.field("leaf_index", () => r.u32()) };
    case senderTypes.external:
      return { senderType, senderIndex: r.field("sender_index", () => r.u32()) };
    case senderTypes.new_member_proposal:
    case senderTypes.new_member_commit:
      return { senderType };
    default:
      return r.field("sender_type", () => r.fail("bad_enum", `unknown SenderType ${senderType}`));
  }
}

export function writeSender(w: Writer, v: Sender): void {
  w.u8(v.senderType);
  switch (v.senderType) {
    case senderTypes.member:
      w.u32(v.leafIndex);
      break;
    case senderTypes.external:
      w.u32(v.senderIndex);
      break;
    case senderTypes.new_member_proposal:
    case senderTypes.new_member_commit:
      break;
  }
}

export function encodeSender(v: Sender): Uint8Array {
  return encode(v, writeSender, 8);
}

export function decodeSender(bytes: Uint8Array): Sender {
  return decode(bytes, readSender, "Sender");
}
