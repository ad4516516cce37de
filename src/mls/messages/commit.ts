/**
 * Commit (RFC 9420 §12.4): the proposals (by value or by reference) that take effect, plus an
 * optional UpdatePath.
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, type Writer } from "../../codec/writer.js";
import { readUpdatePath, updatePathSizeHint, writeUpdatePath, type UpdatePath } from "../tree/update-path.js";
import { readProposalOrRef, writeProposalOrRef, type ProposalOrRef } from "./proposal.js";

/**
 * RFC 9420 §12.4:
 *   struct {
 *       ProposalOrRef proposals<V>;
 *       optional<UpdatePath> path;
 *   } Commit;
 */
export interface Commit {
  readonly proposals: readonly ProposalOrRef[];
  readonly path: UpdatePath | null;
}

export function readCommit(r: Reader): Commit {
  const proposals = r.field("proposals", () => r.vector(readProposalOrRef));
  const path = r.field("path", () => r.optional(readUpdatePath));
  return { proposals, path };
}

export function writeCommit(w: Writer, v: Commit): void {
  w.array(v.proposals, writeProposalOrRef);
  w.optional(v.path, writeUpdatePath);
}

/** About the encoded size of `v`, to size a writer once (proposals by value are guessed at 1 KiB each). */
export function commitSizeHint(v: Commit): number {
  return 16 + 1024 * v.proposals.length + (v.path === null ? 0 : updatePathSizeHint(v.path));
}

export function encodeCommit(v: Commit): Uint8Array {
  return encode(v, writeCommit, commitSizeHint(v));
}

export function decodeCommit(bytes: Uint8Array): Commit {
  return decode(bytes, readCommit, "Commit");
}
