/**
 * Proposal validation (RFC 9420 §12.1, §12.2):
 *
 *   validateProposal      one proposal on its own (§12.1.1–§12.1.7, §12.1.8 sender rules), when it
 *                         arrives alone or by value in a Commit
 *   validateProposalList  the list a Commit covers (§12.2, regular and external Commits)
 *   checkAppliedProposals what can only be judged on the result (§12.2 "After processing the
 *                         Commit the ratchet tree is invalid", §11.1, §12.1.7, §7.3 uniqueness)
 *
 * validateProposal checks only what cannot depend on the rest of a Commit, so a proposal a member
 * accepts on receipt is judged the same way by everyone at commit time; the fit of new leaves
 * with the group (which a GroupContextExtensions or a Remove in the same Commit can change) is
 * checked on the applied result.
 *
 * Every failure is a {@link ValidationError} with a stable code and the RFC section. Shared by
 * members (commit creation and processing) and the Delivery Service observer.
 * @module
 */
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { ValidationError } from "../../errors.js";
import { bytesEqual, toHex } from "../../util/bytes.js";
import { validateWithAuthenticationService } from "../auth/authentication-service.js";
import { checkNoDuplicateExtensions } from "../core/capabilities-ops.js";
import { encode } from "../../codec/writer.js";
import { extensionTypes, findExtension, type Extension } from "../core/extension.js";
import { decodeExternalSenders } from "../core/external-senders.js";
import { writePreSharedKeyId, type ResumptionPskUsage } from "../core/pre-shared-key-id.js";
import { leafNodeSources, proposalTypes, senderTypes } from "../core/protocol.js";
import type { Sender } from "../framing/sender.js";
import { validateKeyPackage } from "../messages/key-package-ops.js";
import type { Proposal } from "../messages/proposal.js";
import type { GroupContext } from "../schedule/group-context.js";
import { validateLeafNode } from "../tree/leaf-node-ops.js";
import type { TreeState } from "../tree/tree-state.js";
import type { AppliedProposals, ResolvedProposal } from "./apply-proposals.js";
import type { GroupConfig } from "./group-config.js";
import { checkAllMembersSupport, checkLeafFitsGroup, checkUniqueLeafKeys, groupFactsOf, KeySet, leafBySignatureKey } from "./group-facts.js";
import { checkPskProposalId } from "./psk-lookup.js";

const LIST = "RFC 9420 §12.2";

/** What proposal validation needs to know about the group at the current epoch. */
export interface ValidationContext {
  readonly cs: CipherSuite;
  readonly config: GroupConfig;
  /** The tree of the current epoch (before the Commit). */
  readonly tree: TreeState;
  /** The GroupContext of the current epoch. */
  readonly groupContext: GroupContext;
}

/** Who commits: a member at a leaf, or a new member (external Commit, RFC 9420 §12.4.3.2). */
export type Committer = { readonly kind: "member"; readonly leafIndex: number } | { readonly kind: "external" };

/** How a proposal is being validated. */
export interface ProposalValidationOptions {
  /** It is carried by value in an external Commit (ExternalInit allowed, RFC 9420 §12.1.6). */
  readonly externalCommit?: boolean;
  /**
   * We are sending it (in a Proposal or our Commit): RFC 9420 §7.3 makes the lifetime check of
   * the leaves in it mandatory ("the client MUST verify that the current time is within the range
   * of the lifetime field"); for received ones it follows `config.lifetime.checkReceived`.
   */
  readonly sending?: boolean;
  /**
   * The Commit is the first one of a group created by ReInit (RFC 9420 §11.2) or branching
   * (§11.3): a PreSharedKey proposal of that resumption usage is then valid (§12.1.4).
   */
  readonly resumptionUsage?: ResumptionPskUsage;
}

function leafNodeOptions(ctx: ValidationContext, sending: boolean) {
  const { config } = ctx;
  return {
    authService: config.authenticationService,
    now: config.now(),
    checkLifetime: sending || config.lifetime.checkReceived,
    clockSkewSeconds: config.lifetime.clockSkewSeconds,
    maxLifetimeSeconds: config.lifetime.maxLifetimeSeconds,
  };
}

/** RFC 9420 §5.3.1: credentials of a new or changed external_senders extension are validated with the AS. */
async function validateExternalSenders(ctx: ValidationContext, ext: Extension): Promise<void> {
  for (const s of decodeExternalSenders(ext.extensionData)) {
    await validateWithAuthenticationService(ctx.config.authenticationService, s.credential, s.signatureKey, {
      cipherSuite: ctx.cs.params.id,
      now: ctx.config.now(),
      purpose: "external_sender",
      groupId: ctx.groupContext.groupId,
    });
  }
}

/** RFC 9420 §12.1.x: is this proposal valid on its own, from this sender, against the current epoch? */
export async function validateProposal(ctx: ValidationContext, proposal: Proposal, sender: Sender, opts: ProposalValidationOptions = {}): Promise<void> {
  const sending = opts.sending ?? false;
  const { cs, tree, groupContext: gc } = ctx;
  switch (proposal.proposalType) {
    case proposalTypes.add:
      // RFC 9420 §12.1.1: "An Add proposal is invalid if the KeyPackage is invalid according to Section 10.1."
      // The fit with the group (§7.3 required capabilities, credential types) depends on the rest
      // of the Commit (a GroupContextExtensions, Removes) and is checked by checkAppliedProposals.
      await validateKeyPackage(cs, proposal.add.keyPackage, { ...leafNodeOptions(ctx, sending), version: gc.version, purpose: "add" });
      return;
    case proposalTypes.update: {
      // RFC 9420 §12.1.2: an Update replaces the sender's own leaf, so only a member can send one.
      if (sender.senderType !== senderTypes.member) throw new ValidationError("update_not_from_member", "only members send Update proposals", "RFC 9420 §12.1.2");
      const old = sender.leafIndex < tree.nLeaves ? tree.leaf(sender.leafIndex) : null;
      if (old === null) throw new ValidationError("update_blank_leaf", `Update from blank leaf ${sender.leafIndex}`, "RFC 9420 §12.1.2");
      // RFC 9420 §12.1.2: "invalid if the LeafNode is invalid for an Update proposal according to Section 7.3".
      await validateLeafNode(cs, proposal.update.leafNode, {
        ...leafNodeOptions(ctx, sending),
        expectedSource: leafNodeSources.update,
        group: { groupId: gc.groupId, leafIndex: sender.leafIndex },
        replaces: old,
        purpose: "update",
      });
      return;
    }
    case proposalTypes.remove: {
      const i = proposal.remove.removed;
      // RFC 9420 §12.1.3: "invalid if the removed field does not identify a non-blank leaf node".
      if (i >= tree.nLeaves || tree.leaf(i) === null) throw new ValidationError("remove_blank_leaf", `Remove of leaf ${i}, which is blank`, "RFC 9420 §12.1.3");
      return;
    }
    case proposalTypes.psk:
      checkPskProposalId(cs, proposal.psk.psk, opts.resumptionUsage);
      return;
    case proposalTypes.reinit:
      // RFC 9420 §12.1.5: "invalid if the version field is less than the version for the current group".
      if (proposal.reinit.version < gc.version) throw new ValidationError("reinit_version", `ReInit to version ${proposal.reinit.version} is a downgrade`, "RFC 9420 §12.1.5");
      checkNoDuplicateExtensions(proposal.reinit.extensions, "ReInit.extensions");
      return;
    case proposalTypes.external_init:
      // RFC 9420 §12.1.6: "This proposal can only be used in that context" (an external Commit).
      if (!(opts.externalCommit ?? false)) throw new ValidationError("external_init_outside_external_commit", "ExternalInit is only valid in an external Commit", "RFC 9420 §12.1.6");
      if (proposal.externalInit.kemOutput.length !== cs.params.Nenc) {
        throw new ValidationError("external_init_kem_output", `kem_output has ${proposal.externalInit.kemOutput.length} bytes, expected ${cs.params.Nenc}`, "RFC 9420 §12.1.6");
      }
      return;
    case proposalTypes.group_context_extensions: {
      const exts = proposal.groupContextExtensions.extensions;
      checkNoDuplicateExtensions(exts, "GroupContextExtensions.extensions");
      const es = findExtension(exts, extensionTypes.external_senders);
      if (es !== null) {
        const old = findExtension(gc.extensions, extensionTypes.external_senders);
        if (old === null || !bytesEqual(old.extensionData, es.extensionData)) await validateExternalSenders(ctx, es);
      }
      return;
    }
  }
}

/** The encoded PreSharedKeyID (for duplicate detection). */
function pskKey(p: Proposal & { proposalType: typeof proposalTypes.psk }): string {
  return toHex(encode(p.psk.psk, writePreSharedKeyId));
}

/** RFC 9420 §12.2: validate the list of proposals a Commit covers. */
export function validateProposalList(ctx: ValidationContext, proposals: readonly ResolvedProposal[], committer: Committer): void {
  if (committer.kind === "external") return validateExternalList(proposals);
  const touched = new Set<number>();
  const psks = new Set<string>();
  const addKeys = new KeySet();
  let adds = 0;
  const removedLeaves = new Set<number>();
  let gce = 0;
  let reinit = 0;
  for (const { proposal: p, sender } of proposals) {
    switch (p.proposalType) {
      case proposalTypes.update: {
        const leaf = sender.senderType === senderTypes.member ? sender.leafIndex : -1;
        // "It contains an Update proposal generated by the committer."
        if (leaf === committer.leafIndex) throw new ValidationError("update_by_committer", "the Commit covers the committer's own Update", LIST);
        // "It contains multiple Update and/or Remove proposals that apply to the same leaf."
        if (touched.has(leaf)) throw new ValidationError("duplicate_leaf_change", `several Update/Remove proposals for leaf ${leaf}`, LIST);
        touched.add(leaf);
        break;
      }
      case proposalTypes.remove: {
        const leaf = p.remove.removed;
        // "It contains a Remove proposal that removes the committer."
        if (leaf === committer.leafIndex) throw new ValidationError("remove_committer", "the Commit removes the committer", LIST);
        if (touched.has(leaf)) throw new ValidationError("duplicate_leaf_change", `several Update/Remove proposals for leaf ${leaf}`, LIST);
        touched.add(leaf);
        removedLeaves.add(leaf);
        break;
      }
      case proposalTypes.add: {
        const key = p.add.keyPackage.leafNode.signatureKey;
        // "It contains multiple Add proposals that contain KeyPackages that represent the same client"
        if (!addKeys.add(key)) throw new ValidationError("duplicate_add", "two Add proposals for the same client (signature key)", LIST);
        adds++;
        break;
      }
      case proposalTypes.psk: {
        const k = pskKey(p);
        // "It contains multiple PreSharedKey proposals that reference the same PreSharedKeyID."
        if (psks.has(k)) throw new ValidationError("duplicate_psk", "two PreSharedKey proposals for the same PreSharedKeyID", LIST);
        psks.add(k);
        break;
      }
      case proposalTypes.group_context_extensions:
        // "It contains multiple GroupContextExtensions proposals."
        if (++gce > 1) throw new ValidationError("duplicate_group_context_extensions", "several GroupContextExtensions proposals", LIST);
        break;
      case proposalTypes.reinit:
        reinit++;
        break;
      case proposalTypes.external_init:
        // "It contains an ExternalInit proposal."
        throw new ValidationError("external_init_in_regular_commit", "a regular Commit may not contain ExternalInit", LIST);
    }
  }
  // "It contains a ReInit proposal together with any other proposal."
  if (reinit > 0 && proposals.length > 1) throw new ValidationError("reinit_not_alone", "ReInit must be the only proposal of its Commit", LIST);
  // "It contains an Add proposal with a KeyPackage that represents a client already in the group
  // ..., unless there is a Remove proposal in the list removing the matching client."
  if (adds > 0) {
    for (const { proposal: p } of proposals) {
      if (p.proposalType !== proposalTypes.add) continue;
      const at = leafBySignatureKey(ctx.tree, p.add.keyPackage.leafNode.signatureKey);
      if (at !== null && !removedLeaves.has(at)) throw new ValidationError("add_existing_member", `an Add proposal adds the client already at leaf ${at}`, LIST);
    }
  }
}

/** RFC 9420 §12.2, external Commits: exactly one ExternalInit, at most one Remove, PSKs, nothing else. */
function validateExternalList(proposals: readonly ResolvedProposal[]): void {
  let externalInit = 0;
  let remove = 0;
  for (const { proposal: p } of proposals) {
    if (p.proposalType === proposalTypes.external_init) externalInit++;
    else if (p.proposalType === proposalTypes.remove) remove++;
    else if (p.proposalType !== proposalTypes.psk) {
      throw new ValidationError("external_commit_proposal", `an external Commit may not contain proposal type ${p.proposalType}`, LIST);
    }
  }
  if (externalInit !== 1) throw new ValidationError("external_commit_external_init", `an external Commit needs exactly one ExternalInit, got ${externalInit}`, LIST);
  if (remove > 1) throw new ValidationError("external_commit_remove", "an external Commit may remove at most one member", LIST);
}

/**
 * Checks of RFC 9420 §12.2 that need the result of §12.3: every added or updated leaf fits the
 * new group (§7.3 against the possibly new extensions, §11.1), a GroupContextExtensions change
 * is supported by all remaining members (§12.1.7, §13.4), and leaf keys stay unique (§7.3).
 */
export function checkAppliedProposals(ctx: ValidationContext, applied: AppliedProposals): void {
  const { tree, extensions } = applied;
  if (applied.extensionsChanged) checkAllMembersSupport(tree, extensions);
  const changed = [...applied.added.map((a) => a.leafIndex), ...applied.updated.map((u) => u.leafIndex)];
  if (changed.length === 0) return;
  const facts = groupFactsOf(tree, extensions, ctx.groupContext.version);
  for (const i of changed) {
    const leaf = tree.leaf(i);
    if (leaf !== null) checkLeafFitsGroup(leaf, facts);
  }
  checkUniqueLeafKeys(tree, changed);
}
