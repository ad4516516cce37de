/**
 * Applying a validated proposal list to the ratchet tree and GroupContext extensions
 * (RFC 9420 §12.3), in the order the RFC fixes:
 *
 *   GroupContextExtensions → Updates → Removes → Adds (in list order) → PSKs (in list order)
 *     → ExternalInit → ReInit
 *
 * Pure: no secrets, no I/O. Shared by members creating or processing Commits and by the
 * Delivery Service's observer. Validation (RFC 9420 §12.2) is done before, in
 * proposal-validation.ts; this module only throws for inputs that cannot be applied at all.
 * @module
 */
import { UsageError, ValidationError } from "../../errors.js";
import type { Extension } from "../core/extension.js";
import type { PreSharedKeyId } from "../core/pre-shared-key-id.js";
import { proposalTypes, senderTypes } from "../core/protocol.js";
import type { Sender } from "../framing/sender.js";
import type { KeyPackage } from "../messages/key-package.js";
import type { ExternalInit, Proposal, ReInit } from "../messages/proposal.js";
import type { LeafNode } from "../tree/leaf-node.js";
import type { LeafIndex } from "../tree/tree-math.js";
import type { TreeState } from "../tree/tree-state.js";

/** A proposal of a Commit with its sender, and its ProposalRef when it was committed by reference. */
export interface ResolvedProposal {
  readonly proposal: Proposal;
  readonly sender: Sender;
  readonly ref: Uint8Array | null;
}

export interface AddedMember {
  readonly leafIndex: LeafIndex;
  readonly keyPackage: KeyPackage;
}

export interface UpdatedMember {
  readonly leafIndex: LeafIndex;
  readonly leafNode: LeafNode;
  readonly previous: LeafNode;
  /** The Update's ProposalRef (null when it came by value, which only an external resync could do). */
  readonly ref: Uint8Array | null;
}

export interface RemovedMember {
  readonly leafIndex: LeafIndex;
  readonly leafNode: LeafNode;
}

/** The outcome of RFC 9420 §12.3 on a tree and extension list. */
export interface AppliedProposals {
  readonly tree: TreeState;
  readonly extensions: readonly Extension[];
  /** Whether a GroupContextExtensions proposal replaced the extensions. */
  readonly extensionsChanged: boolean;
  readonly added: readonly AddedMember[];
  readonly updated: readonly UpdatedMember[];
  readonly removed: readonly RemovedMember[];
  /** PreSharedKeyIDs in list order (RFC 9420 §8.4: the order of the PSK proposals). */
  readonly psks: readonly PreSharedKeyId[];
  readonly externalInit: ExternalInit | null;
  readonly reinit: ReInit | null;
  /**
   * RFC 9420 §12.4: the path MUST be populated when the list is empty or contains a proposal of a
   * "path required" type (update, remove, external_init, group_context_extensions).
   */
  readonly pathRequired: boolean;
}

/** RFC 9420 §12.4 `pathRequiredTypes`. */
const PATH_REQUIRED: ReadonlySet<number> = new Set([
  proposalTypes.update,
  proposalTypes.remove,
  proposalTypes.external_init,
  proposalTypes.group_context_extensions,
]);

/** RFC 9420 §12.4: is an UpdatePath required for this list? */
export function isPathRequired(proposals: readonly { readonly proposal: Proposal }[]): boolean {
  return proposals.length === 0 || proposals.some((p) => PATH_REQUIRED.has(p.proposal.proposalType));
}

/** RFC 9420 §12.3: apply `proposals` (already validated, §12.2) to `tree` and `extensions`. */
export function applyProposals(tree: TreeState, extensions: readonly Extension[], proposals: readonly ResolvedProposal[]): AppliedProposals {
  let t = tree;
  let exts = extensions;
  let extensionsChanged = false;
  const added: AddedMember[] = [];
  const updated: UpdatedMember[] = [];
  const removed: RemovedMember[] = [];
  const psks: PreSharedKeyId[] = [];
  let externalInit: ExternalInit | null = null;
  let reinit: ReInit | null = null;

  // RFC 9420 §12.3: "If there is a GroupContextExtensions proposal, replace the extensions field".
  for (const { proposal: p } of proposals) {
    if (p.proposalType === proposalTypes.group_context_extensions) {
      exts = p.groupContextExtensions.extensions;
      extensionsChanged = true;
    }
  }
  // "Apply any Update proposals to the ratchet tree, in any order."
  for (const { proposal: p, sender, ref } of proposals) {
    if (p.proposalType !== proposalTypes.update) continue;
    if (sender.senderType !== senderTypes.member) throw new ValidationError("update_not_from_member", "an Update must come from a member", "RFC 9420 §12.1.2");
    const previous = t.leaf(sender.leafIndex);
    if (previous === null) throw new ValidationError("update_blank_leaf", `Update from blank leaf ${sender.leafIndex}`, "RFC 9420 §12.1.2");
    t = t.updateLeaf(sender.leafIndex, p.update.leafNode);
    updated.push({ leafIndex: sender.leafIndex as LeafIndex, leafNode: p.update.leafNode, previous, ref });
  }
  // "Apply any Remove proposals to the ratchet tree, in any order."
  for (const { proposal: p } of proposals) {
    if (p.proposalType !== proposalTypes.remove) continue;
    const i = p.remove.removed;
    const leafNode = i < t.nLeaves ? t.leaf(i) : null;
    // RFC 9420 §12.1.3: "invalid if the removed field does not identify a non-blank leaf node".
    if (leafNode === null) throw new ValidationError("remove_blank_leaf", `Remove of blank leaf ${i}`, "RFC 9420 §12.1.3");
    t = t.removeLeaf(i);
    removed.push({ leafIndex: i as LeafIndex, leafNode });
  }
  // "Apply any Add proposals to the ratchet tree, in the order they appear in the list."
  const adds: KeyPackage[] = [];
  for (const { proposal: p } of proposals) if (p.proposalType === proposalTypes.add) adds.push(p.add.keyPackage);
  const r = t.addLeaves(adds.map((kp) => kp.leafNode));
  t = r.tree;
  adds.forEach((keyPackage, k) => added.push({ leafIndex: r.leafIndices[k]!, keyPackage }));
  for (const { proposal: p } of proposals) {
    switch (p.proposalType) {
      case proposalTypes.psk:
        // "Look up the PSK secrets for any PreSharedKey proposals, in the order they appear in the list."
        psks.push(p.psk.psk);
        break;
      case proposalTypes.external_init:
        externalInit = p.externalInit;
        break;
      case proposalTypes.reinit:
        reinit = p.reinit;
        break;
      default:
        break;
    }
  }
  return { tree: t, extensions: exts, extensionsChanged, added, updated, removed, psks, externalInit, reinit, pathRequired: isPathRequired(proposals) };
}

/**
 * RFC 9420 §12.4.1, §12.4.2 for external Commits: "assign the sender the leftmost blank leaf node
 * in the new ratchet tree. If there are no blank leaf nodes ..., expand the tree to the right".
 * Returns the tree with that leaf still blank (it is filled by merging the UpdatePath) and its
 * index. `placeholder` is any LeafNode; it only serves to find or create the slot.
 */
export function reserveJoinerLeaf(tree: TreeState, placeholder: LeafNode): { readonly tree: TreeState; readonly leafIndex: LeafIndex } {
  const { tree: withLeaf, leafIndex } = tree.addLeaf(placeholder);
  const t = withLeaf.blank(2 * leafIndex);
  if (t.leaf(leafIndex) !== null) throw new UsageError("internal_reserve", "reserved leaf is not blank");
  return { tree: t, leafIndex };
}
