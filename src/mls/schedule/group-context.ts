/**
 * GroupContext (RFC 9420 §8.1): the summary of a group's state that every member agrees on, mixed
 * into the key schedule of each epoch (§8) and carried in GroupInfo (§12.4.3).
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, type Writer } from "../../codec/writer.js";
import { readExtensions, writeExtensions, type Extension } from "../core/extension.js";
import type { ProtocolVersion } from "../core/protocol.js";

/**
 * RFC 9420 §8.1:
 *   struct {
 *       ProtocolVersion version = mls10;
 *       CipherSuite cipher_suite;
 *       opaque group_id<V>;
 *       uint64 epoch;
 *       opaque tree_hash<V>;
 *       opaque confirmed_transcript_hash<V>;
 *       Extension extensions<V>;
 *   } GroupContext;
 *
 * `version` and `cipherSuite` are carried as read; whether they are acceptable (mls10, a suite we
 * support, the group's own suite) is checked where the GroupContext is used.
 */
export interface GroupContext {
  readonly version: ProtocolVersion;
  readonly cipherSuite: number;
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  readonly treeHash: Uint8Array;
  readonly confirmedTranscriptHash: Uint8Array;
  readonly extensions: readonly Extension[];
}

export function readGroupContext(r: Reader): GroupContext {
  const version = r.field("version", () => r.u16());
  const cipherSuite = r.field("cipher_suite", () => r.u16());
  const groupId = r.field("group_id", () => r.opaque());
  const epoch = r.field("epoch", () => r.u64());
  const treeHash = r.field("tree_hash", () => r.opaque());
  const confirmedTranscriptHash = r.field("confirmed_transcript_hash", () => r.opaque());
  const extensions = readExtensions(r);
  return { version, cipherSuite, groupId, epoch, treeHash, confirmedTranscriptHash, extensions };
}

export function writeGroupContext(w: Writer, v: GroupContext): void {
  w.u16(v.version).u16(v.cipherSuite).opaque(v.groupId).u64(v.epoch).opaque(v.treeHash).opaque(v.confirmedTranscriptHash);
  writeExtensions(w, v.extensions);
}

export function encodeGroupContext(v: GroupContext): Uint8Array {
  return encode(v, writeGroupContext);
}

export function decodeGroupContext(bytes: Uint8Array): GroupContext {
  return decode(bytes, readGroupContext, "GroupContext");
}
