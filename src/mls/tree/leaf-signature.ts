/**
 * LeafNode signatures (RFC 9420 §7.2, §7.3): `SignWithLabel(., "LeafNodeTBS", LeafNodeTBS)` with
 * the group ID and leaf index mixed in for the `update` and `commit` sources.
 *
 * A check is first turned into a {@link SignatureCheck} (public key, exact signed bytes,
 * signature) so that many leaves can be verified elsewhere in parallel (e.g. a worker pool on
 * join); {@link verifySignatureChecks} is the sequential default.
 * @module
 */
import { varintSize } from "../../codec/varint.js";
import { Writer } from "../../codec/writer.js";
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { CryptoError } from "../../errors.js";
import { utf8 } from "../../util/bytes.js";
import { encodeLeafNodeTbs, type LeafNode } from "./leaf-node.js";

const LEAF_LABEL = "LeafNodeTBS";
const LEAF_LABEL_BYTES = utf8(`MLS 1.0 ${LEAF_LABEL}`);

/** One signature to verify: `verify(publicKey, message, signature)` in the suite's scheme. */
export interface SignatureCheck {
  readonly leafIndex: number;
  readonly publicKey: Uint8Array;
  /** The exact bytes signed: the SignContent of RFC 9420 §5.1.2. */
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

/**
 * RFC 9420 §5.1.2:
 *   struct {
 *     opaque label<V>;
 *     opaque content<V>;
 *   } SignContent;
 * with label "MLS 1.0 LeafNodeTBS" and content the LeafNodeTBS.
 */
function leafSignContent(tbs: Uint8Array): Uint8Array {
  const size = varintSize(LEAF_LABEL_BYTES.length) + LEAF_LABEL_BYTES.length + varintSize(tbs.length) + tbs.length;
  const w = new Writer(size); // exactly: finish() hands over this buffer, no copy
  w.opaque(LEAF_LABEL_BYTES).opaque(tbs);
  return w.finish();
}

/** The signature check of the leaf at `leafIndex` of group `groupId` (RFC 9420 §7.2 LeafNodeTBS). */
export function leafSignatureCheck(leaf: LeafNode, groupId: Uint8Array, leafIndex: number): SignatureCheck {
  const tbs = encodeLeafNodeTbs(leaf, { groupId, leafIndex });
  return { leafIndex, publicKey: leaf.signatureKey, message: leafSignContent(tbs), signature: leaf.signature };
}

/**
 * The signature checks of many leaves (a joined tree), their SignContents written back to back
 * into one buffer: 10,000 leaves cost one allocation instead of 10,000 small buffers that would
 * all live until the batch is verified.
 */
export function leafSignatureChecksOf(leaves: readonly { readonly leafIndex: number; readonly leafNode: LeafNode }[], groupId: Uint8Array): SignatureCheck[] {
  const tbs = leaves.map((m) => encodeLeafNodeTbs(m.leafNode, { groupId, leafIndex: m.leafIndex }));
  const labelSize = varintSize(LEAF_LABEL_BYTES.length) + LEAF_LABEL_BYTES.length;
  let total = 0;
  for (const t of tbs) total += labelSize + varintSize(t.length) + t.length;
  const w = new Writer(total);
  const ends = new Array<number>(tbs.length);
  for (let i = 0; i < tbs.length; i++) {
    w.opaque(LEAF_LABEL_BYTES).opaque(tbs[i]!); // RFC 9420 §5.1.2 SignContent
    ends[i] = w.length;
  }
  const all = w.finish();
  return leaves.map((m, i) => ({
    leafIndex: m.leafIndex,
    publicKey: m.leafNode.signatureKey,
    message: all.subarray(i === 0 ? 0 : ends[i - 1]!, ends[i]!),
    signature: m.leafNode.signature,
  }));
}

/** Verify checks one after the other; throws {@link CryptoError} `crypto.bad_signature` on the first failure. */
export function verifySignatureChecks(cs: CipherSuite, checks: readonly SignatureCheck[]): void {
  for (const c of checks) {
    // RFC 9420 §7.3: "Verify that the signature on the LeafNode is valid using signature_key."
    if (!cs.verify(c.publicKey, c.message, c.signature)) throw new CryptoError("bad_signature", `the signature of leaf ${c.leafIndex} does not verify`);
  }
}

/** Verify one LeafNode's signature (RFC 9420 §7.3); throws {@link CryptoError} `crypto.bad_signature`. */
export function verifyLeafNodeSignature(cs: CipherSuite, leaf: LeafNode, groupId: Uint8Array, leafIndex: number): void {
  verifySignatureChecks(cs, [leafSignatureCheck(leaf, groupId, leafIndex)]);
}
