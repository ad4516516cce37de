/**
 * Processing a received Commit (RFC 9420 §12.4.2), from a member or from a new member joining
 * by external Commit (§12.4.3.2), into a {@link StagedCommit}:
 *
 *   verified Commit (inbound.ts) ─► resolve proposals (cache by ProposalRef │ by value)
 *   ─► §12.2 validation ─► §12.3 apply ─► path required? ─► committer's LeafNode (§7.3)
 *   ─► merge UpdatePath, decrypt our path secret (provisional GroupContext) ─► commit_secret
 *   ─► init_secret (previous epoch │ ExternalInit, §8.3) ─► PSKs ─► transcript hash, key schedule
 *   ─► verify confirmation tag ─► next GroupState
 *
 * A Commit that removes us yields a StagedCommit whose next state has status "removed" (still at
 * the old epoch, so late application messages keep decrypting).
 * @module
 */
import { CryptoError, UsageError, ValidationError } from "../../errors.js";
import { constantTimeEqual, EMPTY, toHex, utf8 } from "../../util/bytes.js";
import { contentTypes, leafNodeSources, proposalOrRefTypes, senderTypes } from "../core/protocol.js";
import type { CommitContent } from "../framing/framed-content.js";
import { encodeGroupContext, type GroupContext } from "../schedule/group-context.js";
import { deriveExternalKeyPair, zeroSecret } from "../schedule/key-schedule.js";
import { validateLeafNode } from "../tree/leaf-node-ops.js";
import type { LeafNode } from "../tree/leaf-node.js";
import type { LeafIndex } from "../tree/tree-math.js";
import type { TreePrivateKeys } from "../tree/tree-private-keys.js";
import type { TreeState } from "../tree/tree-state.js";
import { processUpdatePath } from "../tree/treekem.js";
import { applyProposals, reserveJoinerLeaf, type AppliedProposals, type ResolvedProposal } from "./apply-proposals.js";
import { buildNextState, deriveNextEpoch, provisionalGroupContext } from "./epoch-transition.js";
import type { ExternalPskStore } from "./group-config.js";
import { checkUniqueLeafKeys, groupFactsOf } from "./group-facts.js";
import type { GroupState } from "./group-state.js";
import type { VerifiedMessage } from "./inbound.js";
import { checkAppliedProposals, validateProposal, validateProposalList, type Committer, type ValidationContext } from "./proposal-validation.js";
import { ownGroupResumption, pskSecretFor } from "./psk-lookup.js";
import { membershipChanges, type StagedCommit } from "./staged-commit.js";

const RFC = "RFC 9420 §12.4.2";
/** RFC 9420 §8.3: the HPKE exporter context of the external init secret. */
const EXTERNAL_INIT_LABEL = utf8("MLS 1.0 external init secret");

export interface ProcessCommitOptions {
  /** External PSK values, consulted before `config.externalPsks`. */
  readonly externalPsks?: ExternalPskStore;
}

/**
 * RFC 9420 §12.4.2: resolve the Commit's ProposalOrRefs. By-reference proposals come from the
 * epoch's cache; by-value proposals are the committer's (and validated here, §12.1).
 */
async function resolveProposals(state: GroupState, ctx: ValidationContext, commitContent: CommitContent, sender: VerifiedMessage["ac"]["content"]["sender"]): Promise<ResolvedProposal[]> {
  const external = sender.senderType === senderTypes.new_member_commit;
  const out: ResolvedProposal[] = [];
  for (const por of commitContent.commit.proposals) {
    if (por.type === proposalOrRefTypes.reference) {
      // RFC 9420 §12.4.3.2: "The Commit MUST NOT include any proposals by reference".
      if (external) throw new ValidationError("external_commit_by_reference", "an external Commit may not reference proposals", "RFC 9420 §12.4.3.2");
      const cached = state.pendingProposals.get(toHex(por.reference));
      if (cached === undefined) throw new ValidationError("unknown_proposal_ref", `the Commit references an unknown proposal ${toHex(por.reference).slice(0, 16)}…`, RFC);
      out.push({ proposal: cached.proposal, sender: cached.sender, ref: cached.ref });
    } else {
      await validateProposal(ctx, por.proposal, sender, { externalCommit: external });
      out.push({ proposal: por.proposal, sender, ref: null });
    }
  }
  return out;
}

/** Our leaf's private key when the Commit applies an Update we proposed (its key was kept when we sent it). */
function keysWithOwnUpdate(state: GroupState, applied: AppliedProposals): TreePrivateKeys {
  const mine = applied.updated.find((u) => u.leafIndex === state.ownLeafIndex);
  let keys = state.privateKeys;
  if (mine !== undefined) {
    const key = mine.ref === null ? undefined : state.ownUpdateKeys.get(toHex(mine.ref));
    if (key === undefined) throw new UsageError("missing_update_key", "the Commit applies an Update of ours whose private key we do not have");
    keys = keys.with([[2 * state.ownLeafIndex, key]]);
  }
  return keys.retainNonBlank(applied.tree);
}

/** RFC 9420 §12.4.2: process a verified Commit into a StagedCommit. */
export async function processCommit(state: GroupState, msg: VerifiedMessage, options: ProcessCommitOptions = {}): Promise<StagedCommit> {
  state.assertCanCommit("process a Commit");
  const { cs, config } = state;
  const ac = msg.ac;
  const content = ac.content;
  if (content.contentType !== contentTypes.commit) throw new UsageError("not_a_commit", "processCommit needs a Commit");
  const sender = content.sender;
  if (sender.senderType !== senderTypes.member && sender.senderType !== senderTypes.new_member_commit) {
    throw new ValidationError("commit_sender", `a Commit cannot come from sender type ${sender.senderType}`, "RFC 9420 §6.1");
  }
  const commit = content.commit;
  const ctx: ValidationContext = { cs, config, tree: state.tree, groupContext: state.groupContext };
  const committer: Committer = sender.senderType === senderTypes.member ? { kind: "member", leafIndex: sender.leafIndex } : { kind: "external" };

  const resolved = await resolveProposals(state, ctx, content, sender);
  // RFC 9420 §12.4.2: "Verify that the proposals vector is valid according to the rules in Section 12.2."
  validateProposalList(ctx, resolved, committer);
  const applied = applyProposals(state.tree, state.groupContext.extensions, resolved);
  checkAppliedProposals(ctx, applied);
  // "Verify that the path value is populated if the proposals vector contains any Update or Remove proposals, or if it's empty."
  if (applied.pathRequired && commit.path === null) throw new ValidationError("path_required", "the Commit's proposals require a path", RFC);
  const removedSelf = applied.removed.some((r) => r.leafIndex === state.ownLeafIndex);

  // The committer's leaf: its own, or for an external Commit the leftmost blank leaf (§12.4.2).
  let treeForPath = applied.tree;
  let committerLeaf: LeafIndex;
  let previousLeaf: LeafNode | null;
  if (sender.senderType === senderTypes.member) {
    committerLeaf = sender.leafIndex as LeafIndex;
    previousLeaf = state.tree.leaf(sender.leafIndex);
  } else {
    const path = commit.path;
    if (path === null) throw new ValidationError("path_required", "an external Commit must contain a path", "RFC 9420 §12.4.3.2");
    const reserved = reserveJoinerLeaf(applied.tree, path.leafNode);
    treeForPath = reserved.tree;
    committerLeaf = reserved.leafIndex;
    previousLeaf = null;
  }
  const committerInfo = {
    kind: committer.kind,
    leafIndex: committerLeaf,
    identity: commit.path !== null ? config.authenticationService.identity(commit.path.leafNode.credential) : state.member(committerLeaf).identity,
  } as const;

  let tree: TreeState = applied.tree;
  let privateKeys: TreePrivateKeys | null = null;
  let commitSecret = zeroSecret(cs);
  let provisional: GroupContext | null = null;
  if (commit.path !== null) {
    const leaf = commit.path.leafNode;
    // RFC 9420 §12.2 (external): a Remove in an external Commit means the new leaf must qualify as an Update of the removed one.
    const replaces = sender.senderType === senderTypes.member ? (previousLeaf ?? undefined) : applied.removed[0]?.leafNode;
    // RFC 9420 §12.4.2: "Validate the LeafNode as specified in Section 7.3. The leaf_node_source field MUST be set to commit."
    await validateLeafNode(cs, leaf, {
      authService: config.authenticationService,
      expectedSource: leafNodeSources.commit,
      group: { groupId: state.groupId, leafIndex: committerLeaf },
      groupFacts: groupFactsOf(applied.tree, applied.extensions, state.groupContext.version),
      replaces,
      now: config.now(),
      purpose: "commit",
    });
    if (removedSelf) {
      tree = treeForPath; // we cannot decrypt the path: our leaf is gone
    } else {
      const exts = applied.extensions;
      const processed = await processUpdatePath({
        cs,
        tree: treeForPath,
        senderLeafIndex: committerLeaf,
        updatePath: commit.path,
        ownLeafIndex: state.ownLeafIndex,
        privateKeys: keysWithOwnUpdate(state, applied),
        // RFC 9420 §12.4.2: "Decrypt the path secrets for UpdatePath ... using the provisional GroupContext".
        groupContext: (t) => {
          provisional = provisionalGroupContext(cs, state.groupContext, t, exts);
          return encodeGroupContext(provisional);
        },
        excluded: applied.added.map((a) => a.leafIndex),
      });
      processed.pathSecret.fill(0);
      tree = processed.tree;
      privateKeys = processed.privateKeys;
      commitSecret = processed.commitSecret;
      checkUniqueLeafKeys(tree, [committerLeaf]);
    }
  } else if (!removedSelf) {
    privateKeys = keysWithOwnUpdate(state, applied);
  }

  const changes = membershipChanges(state, applied, commit.path === null ? null : { leafIndex: committerLeaf, leafNode: commit.path.leafNode, previous: previousLeaf });
  const base = {
    origin: "received" as const,
    groupId: state.groupId,
    parentEpoch: state.epoch,
    parentRuntime: state.runtime,
    parentTree: state.tree,
    committer: committerInfo,
    changes,
    proposals: resolved,
    hasPath: commit.path !== null,
    reinit: applied.reinit,
    psks: applied.psks,
    extensionsChanged: applied.extensionsChanged,
    authenticatedData: content.authenticatedData,
  };
  if (removedSelf || privateKeys === null) {
    // RFC 9420 §12.4.2: "clients need to be prepared to receive a valid Commit message that removes them".
    return { ...base, next: state.with({ status: { kind: "removed", epoch: state.epoch } }), removedSelf: true, epochAuthenticator: null };
  }

  // RFC 9420 §8.3: an external Commit's ExternalInit replaces the previous epoch's init_secret.
  let initSecret = state.epochSecrets.initSecret as Uint8Array;
  if (applied.externalInit !== null) {
    const kp = await deriveExternalKeyPair(cs, state.epochSecrets.externalSecret);
    initSecret = await cs.hpkeExportReceiver(kp.privateKey, applied.externalInit.kemOutput, EMPTY, EXTERNAL_INIT_LABEL, cs.params.Nh);
    kp.privateKey.fill(0);
  }
  // "Verify that all PreSharedKey proposals in the proposals vector are available."
  const pskSecret = pskSecretFor(
    cs,
    applied.psks,
    {
      external: options.externalPsks ? [options.externalPsks, config.externalPsks] : [config.externalPsks],
      resumption: ownGroupResumption(state.groupId, (e) => state.resumptionPsk(e)),
    },
    RFC,
  );
  const prov = provisional ?? provisionalGroupContext(cs, state.groupContext, tree, applied.extensions);
  const next = deriveNextEpoch({
    cs,
    interimTranscriptHash: state.interimTranscriptHash,
    provisional: prov,
    commit: { wireFormat: ac.wireFormat, content, signature: ac.auth.signature },
    initSecret,
    commitSecret,
    pskSecret,
  });
  commitSecret.fill(0);
  pskSecret.fill(0);
  next.keySchedule.joinerSecret.fill(0);
  next.keySchedule.welcomeSecret.fill(0);
  // RFC 9420 §12.4.2: "verify that it is the same as the confirmation_tag field in the FramedContentAuthData object".
  if (ac.auth.confirmationTag === undefined || !constantTimeEqual(next.confirmationTag, ac.auth.confirmationTag)) {
    throw new CryptoError("bad_confirmation_tag", "the Commit's confirmation_tag does not verify");
  }
  // RFC 9420 §12.4.2: "If the Commit included a ReInit proposal, the client MUST NOT use the group to send messages anymore."
  const status = applied.reinit !== null ? { kind: "pendingReinit" as const, reinit: applied.reinit, epoch: next.groupContext.epoch } : undefined;
  const nextState = buildNextState(state, { next, tree, privateKeys, status });
  return { ...base, next: nextState, removedSelf: false, epochAuthenticator: nextState.epochAuthenticator() };
}
