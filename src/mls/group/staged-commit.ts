/**
 * Staged Commits: the two-phase shape of epoch changes (OpenMLS StagedCommit + merge).
 *
 *   createCommit ─► StagedCommit (origin "own")      ─┐
 *   processMessage(commit) ─► StagedCommit ("received")├─► inspect ─► mergeStagedCommit ─► next GroupState
 *                                                      └─► or drop it (nothing to undo)
 *
 * A Commit we created is merged only once the Delivery Service accepted it. If another Commit for
 * the same epoch won, drop ours, process the winner from the same state, merge it, and rebuild
 * our change on the new epoch from {@link rebaseProposals}.
 *
 * Every StagedCommit lists the membership changes it makes (RFC 9750 §8.4.3.1: "Make sure that
 * MLS clients reflect all the membership changes to the users as they happen").
 * @module
 */
import { UsageError } from "../../errors.js";
import { bytesEqual } from "../../util/bytes.js";
import type { Credential } from "../core/credential.js";
import { pskTypes, type PreSharedKeyId } from "../core/pre-shared-key-id.js";
import { proposalTypes, senderTypes } from "../core/protocol.js";
import type { MlsMessage } from "../framing/mls-message.js";
import type { Proposal, ReInit } from "../messages/proposal.js";
import type { LeafNode } from "../tree/leaf-node.js";
import type { LeafIndex } from "../tree/tree-math.js";
import type { TreeState } from "../tree/tree-state.js";
import type { AppliedProposals, ResolvedProposal } from "./apply-proposals.js";
import type { EpochRuntime, GroupState } from "./group-state.js";
import { freshPskNonce } from "./psk-lookup.js";

/** One member in a membership change. */
export interface MemberChange {
  readonly leafIndex: LeafIndex;
  readonly credential: Credential;
  /** The Authentication Service's rendering of the credential. */
  readonly identity: string;
}

/** A leaf replaced by an Update proposal or by the committer's UpdatePath. */
export interface MemberUpdate extends MemberChange {
  readonly previousIdentity: string;
  readonly credentialChanged: boolean;
}

/** RFC 9750 §8.4.3.1: what a Commit changes in the membership, for the application to show. */
export interface MembershipChanges {
  readonly added: readonly MemberChange[];
  readonly removed: readonly MemberChange[];
  readonly updated: readonly MemberUpdate[];
}

export interface StagedCommit {
  /** "own": created by {@link createCommit}; "received": from {@link processMessage}. */
  readonly origin: "own" | "received";
  readonly groupId: Uint8Array;
  /** The epoch the Commit ends. */
  readonly parentEpoch: bigint;
  /**
   * @internal The parent epoch's runtime (to detect merging on the wrong state); null for an
   * external join (RFC 9420 §12.4.3.2), which has no parent state: see `completeExternalJoin`.
   */
  readonly parentRuntime: EpochRuntime | null;
  /** @internal The parent epoch's tree (to rebase removals by identity). */
  readonly parentTree: TreeState;
  /** The committer: a member leaf, or a new member joining by external Commit (at its new leaf). */
  readonly committer: { readonly kind: "member" | "external"; readonly leafIndex: LeafIndex; readonly identity: string };
  /** The state after the Commit. When the Commit removed us it stays at the parent epoch with status "removed". */
  readonly next: GroupState;
  readonly changes: MembershipChanges;
  /** The committed proposals, in Commit order, with their senders and (by-reference) refs. */
  readonly proposals: readonly ResolvedProposal[];
  readonly hasPath: boolean;
  /** This Commit removes us. */
  readonly removedSelf: boolean;
  readonly reinit: ReInit | null;
  readonly psks: readonly PreSharedKeyId[];
  readonly extensionsChanged: boolean;
  readonly authenticatedData: Uint8Array;
  /** The new epoch's authenticator (RFC 9420 §8.7), or null when we were removed. */
  readonly epochAuthenticator: Uint8Array | null;
}

/** A Commit we created: the messages to send, and the staged state to merge once accepted. */
export interface CreatedCommit {
  readonly commitMessage: MlsMessage;
  /** For the members the Commit adds; null when it adds none. */
  readonly welcome: MlsMessage | null;
  /** The new epoch's GroupInfo (for the Delivery Service / external joins); null when not requested. */
  readonly groupInfo: MlsMessage | null;
  readonly staged: StagedCommit;
}

/** The membership changes of an applied proposal list plus the committer's path leaf. */
export function membershipChanges(
  state: GroupState,
  applied: AppliedProposals,
  path: { readonly leafIndex: LeafIndex; readonly leafNode: LeafNode; readonly previous: LeafNode | null } | null,
): MembershipChanges {
  const as = state.config.authenticationService;
  const change = (leafIndex: LeafIndex, l: LeafNode): MemberChange => ({ leafIndex, credential: l.credential, identity: as.identity(l.credential) });
  const update = (leafIndex: LeafIndex, l: LeafNode, previous: LeafNode): MemberUpdate => ({
    ...change(leafIndex, l),
    previousIdentity: as.identity(previous.credential),
    credentialChanged: !as.isSameClient(previous.credential, l.credential) || as.identity(previous.credential) !== as.identity(l.credential),
  });
  const added = applied.added.map((a) => change(a.leafIndex, a.keyPackage.leafNode));
  const updated = applied.updated.map((u) => update(u.leafIndex, u.leafNode, u.previous));
  if (path !== null) {
    if (path.previous === null) added.push(change(path.leafIndex, path.leafNode));
    else updated.push(update(path.leafIndex, path.leafNode, path.previous));
  }
  return { added, removed: applied.removed.map((r) => change(r.leafIndex, r.leafNode)), updated };
}

/**
 * Move to the Commit's epoch. `state` must be the state the Commit was created or processed
 * from (same epoch, not yet left); otherwise `usage.wrong_epoch` / `usage.stale_state`. The
 * parent epoch is retired (its states can no longer commit) and epochs that fall out of the
 * past-epoch window have their message keys wiped. Returns `staged.next`.
 */
export function mergeStagedCommit(state: GroupState, staged: StagedCommit): GroupState {
  if (!bytesEqual(state.groupId, staged.groupId)) throw new UsageError("wrong_group", "the staged Commit belongs to another group");
  if (state.epoch !== staged.parentEpoch || state.runtime !== staged.parentRuntime) {
    throw new UsageError("wrong_epoch", `the staged Commit ends epoch ${staged.parentEpoch}, the state is at epoch ${state.epoch}`);
  }
  state.assertCurrent();
  const next = staged.next;
  if (next.runtime === state.runtime) return next; // removed: still at the parent epoch
  state.runtime.retire();
  const kept = new Set<EpochRuntime>(next.pastEpochs.map((p) => p.runtime));
  for (const r of [...state.pastEpochs.map((p) => p.runtime), state.runtime]) if (!kept.has(r)) r.destroy();
  return next;
}

/**
 * The proposals of a Commit of ours that lost (another Commit won the epoch), adapted to
 * `current`, the state after the winner was merged: pass them as `proposals` to the next
 * {@link createCommit}. Covers the by-value proposals and our own by-reference ones:
 *
 * - Add: kept unless the client (signature key) is already a member;
 * - Remove: re-targeted to the member's new leaf (found by signature key), dropped if it is gone;
 * - PreSharedKey: kept with a fresh psk_nonce (RFC 9420 §8.4);
 * - GroupContextExtensions, ReInit: kept;
 * - Update: dropped (a committer's own changes go in its path).
 */
export function rebaseProposals(staged: StagedCommit, current: GroupState): Proposal[] {
  if (staged.origin !== "own") throw new UsageError("not_own_commit", "only a Commit we created can be rebased");
  if (!bytesEqual(current.groupId, staged.groupId)) throw new UsageError("wrong_group", "the staged Commit belongs to another group");
  const own = staged.committer.leafIndex;
  const out: Proposal[] = [];
  for (const { proposal: p, sender, ref } of staged.proposals) {
    const mine = ref === null || (sender.senderType === senderTypes.member && sender.leafIndex === own);
    if (!mine) continue;
    switch (p.proposalType) {
      case proposalTypes.add:
        if (current.tree.findLeafBySignatureKey(p.add.keyPackage.leafNode.signatureKey) === undefined) out.push(p);
        break;
      case proposalTypes.remove: {
        const old = staged.parentTree.leaf(p.remove.removed);
        const now = old === null ? undefined : current.tree.findLeafBySignatureKey(old.signatureKey);
        if (now !== undefined && now !== current.ownLeafIndex) out.push({ proposalType: proposalTypes.remove, remove: { removed: now } });
        break;
      }
      case proposalTypes.psk: {
        const id = p.psk.psk;
        const pskNonce = freshPskNonce(current.cs);
        out.push({ proposalType: proposalTypes.psk, psk: { psk: id.psktype === pskTypes.external ? { ...id, pskNonce } : { ...id, pskNonce } } });
        break;
      }
      case proposalTypes.group_context_extensions:
      case proposalTypes.reinit:
        out.push(p);
        break;
      default:
        break;
    }
  }
  return out;
}
