/**
 * Validation of a ratchet tree received on join (RFC 9420 §12.4.3.1, "Verify the integrity of the
 * ratchet tree"):
 *
 *   structure (unmerged leaves, §7.1/§7.9.2) → unique keys (§7.3) → tree hash (§7.8)
 *     → parent hashes (§7.9.2) → per-leaf hook (§7.3 lifetime/capabilities/credential, elsewhere)
 *     → leaf signatures (§7.3; batchable)
 *
 * Every check throws: {@link ValidationError} with the RFC section, or {@link CryptoError}
 * `crypto.bad_signature` for a leaf signature.
 * @module
 */
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { ValidationError } from "../../errors.js";
import { bytesEqual } from "../../util/bytes.js";
import { nodeTypes } from "../core/protocol.js";
import type { LeafNode } from "./leaf-node.js";
import { leafSignatureChecksOf, verifySignatureChecks, type SignatureCheck } from "./leaf-signature.js";
import { KeyIndex } from "./key-index.js";
import { verifyParentHashes } from "./parent-hash.js";
import { rootTreeHash } from "./tree-hash.js";
import { isAncestorOrSelf, parent as parentOf, type LeafIndex, type NodeIndex } from "./tree-math.js";
import type { TreeState } from "./tree-state.js";

const JOIN = "RFC 9420 §12.4.3.1";

export interface TreeValidationParams {
  readonly cs: CipherSuite;
  readonly tree: TreeState;
  /** The group the leaves are signed for (LeafNodeTBS of `update`/`commit` leaves). */
  readonly groupId: Uint8Array;
  /** The tree_hash of the GroupInfo's GroupContext; omitted to skip that check. */
  readonly treeHash?: Uint8Array;
  /** Further §7.3 checks of each non-blank leaf (lifetime, capabilities, credential); throws to reject. */
  readonly validateLeaf?: (leaf: LeafNode, index: LeafIndex) => void;
  /** Verifies the leaf signatures; default: one after the other with `cs`. Replace with a worker pool. */
  readonly verifySignatures?: (checks: readonly SignatureCheck[]) => void | Promise<void>;
}

/** Every non-blank leaf's signature check (RFC 9420 §7.3), ready for parallel verification. */
export function leafSignatureChecks(tree: TreeState, groupId: Uint8Array): SignatureCheck[] {
  return leafSignatureChecksOf(tree.members(), groupId);
}

/**
 * RFC 9420 §12.4.3.1: the full validation of a tree received on join. Resolves when the tree is
 * valid; rejects with the first failed check.
 */
export async function validateRatchetTree(p: TreeValidationParams): Promise<void> {
  const { cs, tree } = p;
  verifyUnmergedLeaves(tree);
  verifyUniqueKeys(tree);
  if (p.treeHash !== undefined) {
    // RFC 9420 §12.4.3.1: "Verify that the tree hash of the ratchet tree matches the tree_hash field in GroupInfo."
    if (!bytesEqual(rootTreeHash(cs, tree), p.treeHash)) {
      throw new ValidationError("tree_hash", "the ratchet tree does not match the GroupInfo's tree hash", JOIN);
    }
  }
  // RFC 9420 §12.4.3.1: "For each non-empty parent node, verify that it is 'parent-hash valid'."
  verifyParentHashes(cs, tree);
  if (p.validateLeaf !== undefined) for (const m of tree.members()) p.validateLeaf(m.leafNode, m.leafIndex);
  const checks = leafSignatureChecks(tree, p.groupId);
  if (p.verifySignatures !== undefined) await p.verifySignatures(checks);
  else verifySignatureChecks(cs, checks);
}

/**
 * RFC 9420 §7.1 and §12.4.3.1: each parent's unmerged_leaves is strictly increasing; each entry is
 * a non-blank leaf below the parent, and every non-blank node between that leaf and the parent
 * lists it too. O(total unmerged leaves × log n).
 */
export function verifyUnmergedLeaves(tree: TreeState): void {
  const { nodes, nLeaves } = tree;
  for (let p = 1; p < nodes.length; p += 2) {
    const v = nodes[p]!;
    if (v === null || v.nodeType !== nodeTypes.parent) continue;
    const list = v.parentNode.unmergedLeaves;
    for (let k = 0; k < list.length; k++) {
      const u = list[k]!;
      // RFC 9420 §7.1: "The entries in the unmerged_leaves vector MUST be sorted in increasing order."
      if (k > 0 && list[k - 1]! >= u) throw new ValidationError("unmerged_leaves_order", `unmerged_leaves of node ${p} are not sorted`, "RFC 9420 §7.1");
      const leafNode = 2 * u;
      // RFC 9420 §12.4.3.1: "Verify that the entry represents a non-blank leaf node that is a descendant of the parent node."
      if (u >= nLeaves || nodes[leafNode] === null || !isAncestorOrSelf(p as NodeIndex, leafNode as NodeIndex)) {
        throw new ValidationError("unmerged_leaf", `unmerged leaf ${u} of node ${p} is not a non-blank leaf below it`, JOIN);
      }
      // RFC 9420 §12.4.3.1: "Verify that every non-blank intermediate node between the leaf node
      // and the parent node also has an entry for the leaf node in its unmerged_leaves."
      for (let n = parentOf(leafNode as NodeIndex, nLeaves); n !== p; n = parentOf(n, nLeaves)) {
        const m = nodes[n]!;
        if (m === null || m.nodeType !== nodeTypes.parent) continue;
        if (!sortedIncludes(m.parentNode.unmergedLeaves, u)) {
          throw new ValidationError("unmerged_leaf", `node ${n} does not list unmerged leaf ${u} that its ancestor ${p} lists`, JOIN);
        }
      }
    }
  }
}

function sortedIncludes(list: readonly number[], v: number): boolean {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const x = list[mid]!;
    if (x === v) return true;
    if (x < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/**
 * RFC 9420 §7.3 and §12.4.3.1: encryption keys are unique across all nodes of the tree, and
 * signature keys unique among the leaves.
 */
export function verifyUniqueKeys(tree: TreeState): void {
  const enc = new KeyIndex<number>();
  const sig = new KeyIndex<number>();
  const nodes = tree.nodes;
  for (let n = 0; n < nodes.length; n++) {
    const v = nodes[n]!;
    if (v === null) continue;
    const key = v.nodeType === nodeTypes.leaf ? v.leafNode.encryptionKey : v.parentNode.encryptionKey;
    const prev = enc.add(key, n);
    if (prev !== undefined) throw new ValidationError("duplicate_encryption_key", `nodes ${prev} and ${n} have the same encryption key`, "RFC 9420 §7.3");
    if (v.nodeType === nodeTypes.leaf) {
      const sprev = sig.add(v.leafNode.signatureKey, n / 2);
      if (sprev !== undefined) {
        throw new ValidationError("duplicate_signature_key", `leaves ${sprev} and ${n / 2} have the same signature key`, "RFC 9420 §7.3");
      }
    }
  }
}
