/**
 * Creating a Commit (RFC 9420 §12.4.1), as a {@link StagedCommit} to merge once the Delivery
 * Service accepts it:
 *
 *   pending proposals (by reference) + new ones (by value) ─► §12.2 validation ─► §12.3 apply
 *   ─► UpdatePath if required or asked (TreeKEM, §7.5) ─► provisional GroupContext ─► encrypt path
 *   ─► sign FramedContent (old GroupContext) ─► confirmed transcript hash ─► key schedule (+ PSKs)
 *   ─► confirmation tag ─► protect with the old epoch's keys ─► GroupInfo ─► Welcome
 * @module
 */
import { InternalError, ValidationError } from "../../errors.js";
import { EMPTY, toHex, wipe } from "../../util/bytes.js";
import { encode } from "../../codec/writer.js";
import { writePreSharedKeyId, type ResumptionPskUsage } from "../core/pre-shared-key-id.js";
import { contentTypes, proposalOrRefTypes, proposalTypes, senderTypes } from "../core/protocol.js";
import type { Sender } from "../framing/sender.js";
import type { ProposalOrRef, Proposal } from "../messages/proposal.js";
import { encodeGroupContext } from "../schedule/group-context.js";
import { zeroSecret } from "../schedule/key-schedule.js";
import type { LeafNode } from "../tree/leaf-node.js";
import { commonAncestor, type NodeIndex } from "../tree/tree-math.js";
import { encryptPath, preparePath, type LeafTemplate, type PreparedPath } from "../tree/treekem.js";
import { validateLeafNodeSync } from "../tree/leaf-node-ops.js";
import { applyProposals, type ResolvedProposal } from "./apply-proposals.js";
import { groupFactsOf, leafBySignatureKey } from "./group-facts.js";
import { buildNextState, deriveNextEpoch, provisionalGroupContext, type NextEpoch } from "./epoch-transition.js";
import type { ExternalPskStore } from "./group-config.js";
import { createGroupInfo, groupInfoMessage } from "./group-info-ops.js";
import type { GroupState, PendingProposal } from "./group-state.js";
import { frameContent, protectContent, signContent, wireFormatFor } from "./outbound.js";
import { ownGroupResumption, pskSecretFor, type ResumptionPskSource } from "./psk-lookup.js";
import { checkAppliedProposals, validateProposal, validateProposalList, type ValidationContext } from "./proposal-validation.js";
import { membershipChanges, type CreatedCommit, type StagedCommit } from "./staged-commit.js";
import { buildWelcome, welcomeMessage } from "./welcome.js";

export interface CreateCommitOptions {
  /** New proposals to commit by value (Add, Remove, PreSharedKey, GroupContextExtensions, ReInit). */
  readonly proposals?: readonly Proposal[];
  /**
   * Which cached proposals of the epoch to commit by reference. Default true: every one that
   * keeps the list valid (RFC 9420 §12.4 SHOULD), preferring Removes over Updates of the same
   * leaf and the latest Update (§12.2). A predicate selects among them; false: none.
   */
  readonly includePending?: boolean | ((p: PendingProposal) => boolean);
  /** Include an UpdatePath even when no proposal requires one (RFC 9420 §12.4). Default false. */
  readonly forcePath?: boolean;
  readonly authenticatedData?: Uint8Array;
  /** External PSK values for the Commit's PSK proposals, consulted before `config.externalPsks`. */
  readonly externalPsks?: ExternalPskStore;
  /** Return the new epoch's GroupInfo (always built when the Commit adds members). Default true. */
  readonly groupInfo?: boolean;
  /** Put the ratchet tree into the GroupInfo and Welcome. Default: `config.useRatchetTreeExtension`. */
  readonly ratchetTreeExtension?: boolean;
  /** Put external_pub into the GroupInfo (RFC 9420 §12.4.3.2). Default true. */
  readonly externalPub?: boolean;
  /** Changes to our leaf in the UpdatePath (new capabilities or extensions). */
  readonly leaf?: Partial<Pick<LeafTemplate, "capabilities" | "extensions">>;
  /**
   * The first Commit of a group created by ReInit (RFC 9420 §11.2) or branching (§11.3), as
   * reinit.ts builds it: allows one PreSharedKey proposal of that resumption usage (§12.1.4) and
   * supplies the old group's resumption PSKs.
   */
  readonly resumption?: { readonly usage: ResumptionPskUsage; readonly psks: ResumptionPskSource };
}

function validationContext(state: GroupState): ValidationContext {
  return { cs: state.cs, config: state.config, tree: state.tree, groupContext: state.groupContext };
}

/**
 * The cached proposals to commit: RFC 9420 §12.4 "SHOULD include all proposals that it has
 * received during the current epoch that are valid ... as long as this results in a valid
 * proposal list", with the §12.2 preferences (a Remove over Updates of the leaf, the most recent
 * Update, other proposals over a ReInit).
 */
export function selectPendingProposals(state: GroupState, include: boolean | ((p: PendingProposal) => boolean)): PendingProposal[] {
  if (include === false) return [];
  const all = state.proposals().filter((p) => include === true || include(p));
  const own = state.ownLeafIndex;
  const removed = new Set<number>();
  for (const p of all) if (p.proposal.proposalType === proposalTypes.remove && p.proposal.remove.removed !== own) removed.add(p.proposal.remove.removed);
  const lastUpdate = new Map<number, PendingProposal>();
  for (const p of all) if (p.proposal.proposalType === proposalTypes.update && p.sender.senderType === senderTypes.member) lastUpdate.set(p.sender.leafIndex, p);
  const seenRemove = new Set<number>();
  const seenAdd = new Set<string>();
  const seenPsk = new Set<string>();
  let gce = false;
  const out: PendingProposal[] = [];
  for (const p of all) {
    const pr = p.proposal;
    switch (pr.proposalType) {
      case proposalTypes.update: {
        const leaf = p.sender.senderType === senderTypes.member ? p.sender.leafIndex : -1;
        if (leaf === own || removed.has(leaf) || lastUpdate.get(leaf) !== p) continue;
        break;
      }
      case proposalTypes.remove: {
        const leaf = pr.remove.removed;
        if (leaf === own || seenRemove.has(leaf) || state.tree.leaf(leaf) === null) continue;
        seenRemove.add(leaf);
        break;
      }
      case proposalTypes.add: {
        const key = toHex(pr.add.keyPackage.leafNode.signatureKey);
        const existing = leafBySignatureKey(state.tree, pr.add.keyPackage.leafNode.signatureKey);
        if (seenAdd.has(key) || (existing !== null && !removed.has(existing))) continue;
        seenAdd.add(key);
        break;
      }
      case proposalTypes.psk: {
        const key = toHex(encode(pr.psk.psk, writePreSharedKeyId));
        if (seenPsk.has(key)) continue;
        seenPsk.add(key);
        break;
      }
      case proposalTypes.group_context_extensions:
        if (gce) continue;
        gce = true;
        break;
      case proposalTypes.external_init:
        continue;
      default:
        break;
    }
    out.push(p);
  }
  // RFC 9420 §12.2: "they SHOULD prefer them [other proposals] over the ReInit proposal".
  const others = out.filter((p) => p.proposal.proposalType !== proposalTypes.reinit);
  if (others.length > 0) return others;
  return out.slice(0, 1);
}

/** The leaf of our UpdatePath: our current leaf's fields, possibly with new capabilities or extensions. */
function leafTemplate(current: LeafNode, changes: CreateCommitOptions["leaf"]): LeafTemplate {
  return {
    signatureKey: current.signatureKey,
    credential: current.credential,
    capabilities: changes?.capabilities ?? current.capabilities,
    extensions: changes?.extensions ?? current.extensions,
  };
}

/** RFC 9420 §12.4.1: create a Commit. Nothing changes until {@link mergeStagedCommit}. */
export async function createCommit(state: GroupState, options: CreateCommitOptions = {}): Promise<CreatedCommit> {
  state.assertCanCommit("commit");
  const { cs } = state;
  const ctx = validationContext(state);
  const ownSender: Sender = { senderType: senderTypes.member, leafIndex: state.ownLeafIndex };

  const byRef = selectPendingProposals(state, options.includePending ?? true);
  const byValue = options.proposals ?? [];
  for (const p of byValue) {
    if (p.proposalType === proposalTypes.update) throw new ValidationError("update_by_committer", "a committer changes its own leaf through the path, not an Update", "RFC 9420 §12.2");
    await validateProposal(ctx, p, ownSender, { sending: true, resumptionUsage: options.resumption?.usage });
  }
  const resolved: ResolvedProposal[] = [
    ...byRef.map((p) => ({ proposal: p.proposal, sender: p.sender, ref: p.ref })),
    ...byValue.map((proposal) => ({ proposal, sender: ownSender, ref: null })),
  ];
  // RFC 9420 §12.4.1: "Verify that the list of proposals to be committed is valid as specified in Section 12.2."
  validateProposalList(ctx, resolved, { kind: "member", leafIndex: state.ownLeafIndex });
  const applied = applyProposals(state.tree, state.groupContext.extensions, resolved);
  checkAppliedProposals(ctx, applied);

  // RFC 9420 §12.4.1: PSKs in the order of the PreSharedKey proposals.
  const pskSecret = pskSecretFor(
    cs,
    applied.psks,
    {
      external: options.externalPsks ? [options.externalPsks, state.config.externalPsks] : [state.config.externalPsks],
      resumption: ownGroupResumption(state.groupId, (e) => state.resumptionPsk(e), options.resumption?.psks),
    },
    "RFC 9420 §12.4.1",
  );

  // "If the path field is required based on the proposals ... then it MUST be populated. Otherwise, the sender MAY omit the path field".
  const usePath = applied.pathRequired || options.forcePath === true;
  let prepared: PreparedPath | null = null;
  let tree = applied.tree;
  if (usePath) {
    prepared = await preparePath({
      cs,
      tree: applied.tree,
      leafIndex: state.ownLeafIndex,
      leaf: leafTemplate(state.ownLeafNode, options.leaf),
      sign: { signaturePrivateKey: state.signaturePrivateKey, groupId: state.groupId },
      excluded: applied.added.map((a) => a.leafIndex),
    });
    tree = prepared.tree;
    // RFC 9420 §7.3 for our own new leaf when we change its capabilities or extensions.
    if (options.leaf !== undefined) {
      validateLeafNodeSync(cs, prepared.leafNode, {
        group: { groupId: state.groupId, leafIndex: state.ownLeafIndex },
        groupFacts: groupFactsOf(applied.tree, applied.extensions, state.groupContext.version),
        now: state.config.now(),
      });
    }
  }
  const provisional = provisionalGroupContext(cs, state.groupContext, tree, applied.extensions);
  // RFC 9420 §12.4.1: "Encrypt the path secrets ... using the provisional group context".
  const path = prepared === null ? null : await encryptPath(cs, prepared, encodeGroupContext(provisional));
  // "If not populating the path field: ... commit_secret as the all-zero vector of length KDF.Nh".
  const commitSecret = prepared?.commitSecret ?? zeroSecret(cs);

  const proposals: ProposalOrRef[] = resolved.map((r) =>
    r.ref === null ? { type: proposalOrRefTypes.proposal, proposal: r.proposal } : { type: proposalOrRefTypes.reference, reference: r.ref },
  );
  const authenticatedData = options.authenticatedData ?? EMPTY;
  const content = frameContent(state, { contentType: contentTypes.commit, commit: { proposals, path } }, authenticatedData);
  let next: NextEpoch | null = null;
  // RFC 9420 §12.4.1: "Sign the FramedContent using the old GroupContext as context", then the
  // confirmed transcript hash, the key schedule and the confirmation tag.
  const ac = signContent(state, content, (signature) => {
    next = deriveNextEpoch({
      cs,
      interimTranscriptHash: state.interimTranscriptHash,
      provisional,
      commit: { wireFormat: wireFormatFor(state, contentTypes.commit), content, signature },
      initSecret: state.epochSecrets.initSecret,
      commitSecret,
      pskSecret,
    });
    return next.confirmationTag;
  });
  wipe(commitSecret, pskSecret);
  const epoch = next as NextEpoch | null;
  if (epoch === null) throw new InternalError("the confirmation tag callback did not run");
  // "Protect the AuthenticatedContent object using keys from the old epoch".
  const commitMessage = protectContent(state, ac);

  const privateKeys = prepared?.privateKeys ?? state.privateKeys.retainNonBlank(tree);
  // RFC 9420 §12.4.2: after a ReInit the old group is not used to send anymore (the committer included).
  const status = applied.reinit === null ? undefined : { kind: "pendingReinit" as const, reinit: applied.reinit, epoch: epoch.groupContext.epoch };
  const nextState = buildNextState(state, { next: epoch, tree, privateKeys, status });

  let groupInfo = null;
  let welcome = null;
  if (applied.added.length > 0 || (options.groupInfo ?? true)) {
    groupInfo = await createGroupInfo(nextState, { ratchetTree: options.ratchetTreeExtension, externalPub: options.externalPub });
  }
  if (applied.added.length > 0 && groupInfo !== null) {
    // RFC 9420 §12.4.1: for each new member, the path secret of its lowest common ancestor with us.
    const recipients = applied.added.map((a) => ({ keyPackage: a.keyPackage, pathSecret: pathSecretFor(prepared, a.leafIndex, state.ownLeafIndex) }));
    welcome = welcomeMessage(
      await buildWelcome({ cs, groupInfo, joinerSecret: epoch.keySchedule.joinerSecret, welcomeSecret: epoch.keySchedule.welcomeSecret, psks: applied.psks, recipients }),
    );
    for (const r of recipients) if (r.pathSecret !== null) wipe(r.pathSecret);
  }
  wipe(epoch.keySchedule.joinerSecret, epoch.keySchedule.welcomeSecret);
  if (prepared !== null) wipe(...prepared.pathSecrets);

  const staged: StagedCommit = {
    origin: "own",
    groupId: state.groupId,
    parentEpoch: state.epoch,
    parentRuntime: state.runtime,
    parentTree: state.tree,
    committer: { kind: "member", leafIndex: state.ownLeafIndex, identity: state.config.authenticationService.identity(state.ownLeafNode.credential) },
    next: nextState,
    changes: membershipChanges(state, applied, prepared === null ? null : { leafIndex: state.ownLeafIndex, leafNode: prepared.leafNode, previous: state.ownLeafNode }),
    proposals: resolved,
    hasPath: path !== null,
    removedSelf: false,
    reinit: applied.reinit,
    psks: applied.psks,
    extensionsChanged: applied.extensionsChanged,
    authenticatedData,
    epochAuthenticator: nextState.epochAuthenticator(),
  };
  return { commitMessage, welcome, groupInfo: groupInfo === null ? null : groupInfoMessage(groupInfo), staged };
}

/** The path secret of the lowest common ancestor of a new member's leaf and ours, or null without a path. */
function pathSecretFor(prepared: PreparedPath | null, newLeaf: number, own: number): Uint8Array | null {
  if (prepared === null) return null;
  const lca = commonAncestor((2 * newLeaf) as NodeIndex, (2 * own) as NodeIndex);
  const k = prepared.filteredDirectPath.indexOf(lca);
  // The new member's leaf is non-blank, so the LCA's copath child is not blank: it is on the filtered path.
  if (k < 0) throw new InternalError(`common ancestor ${lca} is not on the filtered direct path`);
  return prepared.pathSecrets[k]!.slice();
}
