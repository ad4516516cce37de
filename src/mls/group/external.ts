/**
 * Joining a group by external Commit (RFC 9420 §12.4.3.2) and sending external proposals
 * (RFC 9420 §12.1.8): what a client outside the group can do from the group's published
 * GroupInfo.
 *
 * External join:
 *
 *   GroupInfo (+ ratchet tree) ─► tree validation, GroupInfo signature ─► external_pub
 *   ─► ExternalInit: kem_output, init_secret = HPKE export to external_pub (§8.3)
 *   ─► [Remove of our previous leaf (resync)] [PreSharedKey …] ─► §12.2 (external list) ─► §12.3
 *   ─► leftmost blank leaf ─► UpdatePath (always, §12.4.3.2) ─► provisional GroupContext ─► encrypt
 *   ─► sign as new_member_commit (PublicMessage) ─► transcript hash, key schedule, confirmation tag
 *   ─► { commitMessage, staged }  ──(the Delivery Service accepts it)──► completeExternalJoin(staged)
 *
 * External proposals: `createExternalProposal` (sender type external, signed with the key of an
 * external_senders entry) and `createNewMemberProposal` (an Add of one's own KeyPackage). Both are
 * PublicMessages without membership tag (RFC 9420 §6.2: only members have the membership key);
 * members accept them through `processMessage` (inbound.ts checks the §12.1.8 rules).
 * @module
 */
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { makeProposalRef } from "../../crypto/labeled.js";
import { InternalError, UsageError, ValidationError } from "../../errors.js";
import { bytesEqual, EMPTY, utf8, wipe } from "../../util/bytes.js";
import type { Capabilities } from "../core/capabilities.js";
import { buildCapabilities, checkNoDuplicateExtensions, withCredentialType, withExtensionTypes } from "../core/capabilities-ops.js";
import type { Credential } from "../core/credential.js";
import { extensionTypes, findExtension, type Extension } from "../core/extension.js";
import { decodeExternalPub } from "../core/external-pub.js";
import { decodeExternalSenders } from "../core/external-senders.js";
import { pskTypes } from "../core/pre-shared-key-id.js";
import { contentTypes, externalSenderProposalTypes, leafNodeSources, proposalOrRefTypes, proposalTypes, protocolVersions, senderTypes, wireFormats } from "../core/protocol.js";
import { signFramedContent } from "../framing/content-auth.js";
import { encodeAuthenticatedContent, type AuthenticatedContent, type FramedContent } from "../framing/framed-content.js";
import type { MlsMessage } from "../framing/mls-message.js";
import { protectPublicMessage } from "../framing/public-message-protection.js";
import type { Sender } from "../framing/sender.js";
import type { GroupInfo } from "../messages/group-info.js";
import type { KeyPackage } from "../messages/key-package.js";
import type { Proposal } from "../messages/proposal.js";
import { encodeGroupContext, type GroupContext } from "../schedule/group-context.js";
import { interimTranscriptHash } from "../schedule/transcript-hash.js";
import type { LeafNode } from "../tree/leaf-node.js";
import { validateLeafNode } from "../tree/leaf-node-ops.js";
import type { RatchetTree } from "../tree/ratchet-tree.js";
import { TreeState } from "../tree/tree-state.js";
import { encryptPath, preparePath } from "../tree/treekem.js";
import { applyProposals, reserveJoinerLeaf, type ResolvedProposal } from "./apply-proposals.js";
import { deriveNextEpoch, provisionalGroupContext, type NextEpoch } from "./epoch-transition.js";
import type { ExternalPskStore, GroupConfig } from "./group-config.js";
import { checkUniqueLeafKeys, groupFactsOf } from "./group-facts.js";
import { createGroupInfo, groupInfoMessage, ratchetTreeOf, verifyGroupInfoWithTree } from "./group-info-ops.js";
import { EpochRuntime, GroupState } from "./group-state.js";
import { checkAppliedProposals, validateProposal, validateProposalList, type ValidationContext } from "./proposal-validation.js";
import { checkPskProposalId, freshPskNonce, pskSecretFor } from "./psk-lookup.js";
import { membershipChanges, type StagedCommit } from "./staged-commit.js";
import { validateJoinTree } from "./welcome.js";

const RFC = "RFC 9420 §12.4.3.2";
/** RFC 9420 §8.3: the HPKE exporter context of the external init secret. */
const EXTERNAL_INIT_LABEL = utf8("MLS 1.0 external init secret");

export interface JoinExternallyParams {
  /** The suite of the group (checked against the GroupInfo). */
  readonly cs: CipherSuite;
  readonly config: GroupConfig;
  /** The group's published GroupInfo (with the external_pub extension), as struct or MLSMessage. */
  readonly groupInfo: GroupInfo | MlsMessage;
  /** The tree, when the GroupInfo has no ratchet_tree extension (obtained out of band). */
  readonly ratchetTree?: TreeState | RatchetTree;
  readonly credential: Credential;
  readonly signaturePrivateKey: Uint8Array;
  /**
   * Default: all suites, basic and x509 credentials, with GREASE (RFC 9420 §13.5), plus the
   * credential's type and the group's and leaf's extension types.
   */
  readonly capabilities?: Capabilities;
  readonly leafExtensions?: readonly Extension[];
  /**
   * Rejoin after losing our state (RFC 9420 §12.4.3.2 "resync"): the Commit also removes our
   * previous leaf, given as `removeLeaf` or, when absent, found as the one leaf with our
   * signature key or, failing that, the one leaf whose credential the Authentication Service
   * considers the same client (`isSameClient`).
   */
  readonly resync?: { readonly removeLeaf?: number };
  /** psk_ids of external PSKs to inject (RFC 9420 §12.2 allows PreSharedKey proposals in external Commits). */
  readonly psks?: readonly Uint8Array[];
  /** Values of those PSKs, consulted before `config.externalPsks`. */
  readonly externalPsks?: ExternalPskStore;
  readonly authenticatedData?: Uint8Array;
  /** Also return the new epoch's GroupInfo, signed by us (for the Delivery Service). Default true. */
  readonly publishGroupInfo?: boolean;
  /** Put the ratchet tree into that GroupInfo. Default: `config.useRatchetTreeExtension`. */
  readonly ratchetTreeExtension?: boolean;
}

/** An external Commit ready to send, and the joiner's staged state. */
export interface ExternalJoin {
  /** PublicMessage, sender new_member_commit (RFC 9420 §12.4.3.2). */
  readonly commitMessage: MlsMessage;
  /** `staged.next` is our state in the new epoch; take it with {@link completeExternalJoin} once the Commit is accepted. */
  readonly staged: StagedCommit;
  /** The new epoch's GroupInfo, or null when not requested. */
  readonly groupInfo: MlsMessage | null;
}

function groupInfoOf(g: GroupInfo | MlsMessage): GroupInfo {
  if ("wireFormat" in g) {
    if (g.wireFormat !== wireFormats.mls_group_info) throw new UsageError("not_a_group_info", `expected an mls_group_info MLSMessage, got wire format ${g.wireFormat}`);
    return g.groupInfo;
  }
  return g;
}

function treeOf(gi: GroupInfo, outOfBand: TreeState | RatchetTree | undefined): TreeState {
  const t = ratchetTreeOf(gi);
  if (t !== null) return t;
  if (outOfBand === undefined) throw new UsageError("missing_ratchet_tree", "the GroupInfo has no ratchet_tree extension: pass the tree obtained out of band (RFC 9420 §12.4.3.3)");
  return outOfBand instanceof TreeState ? outOfBand : TreeState.fromRatchetTree(outOfBand);
}

/** The leaf a resyncing client replaces: the given one, or ours by signature key, or by the AS's client identity. */
function previousLeaf(cs: CipherSuite, config: GroupConfig, tree: TreeState, p: JoinExternallyParams): number {
  const r = p.resync!;
  if (r.removeLeaf !== undefined) {
    if (!Number.isInteger(r.removeLeaf) || r.removeLeaf < 0 || r.removeLeaf >= tree.nLeaves || tree.leaf(r.removeLeaf) === null) {
      throw new UsageError("blank_leaf", `resync: leaf ${r.removeLeaf} is not a member`);
    }
    return r.removeLeaf;
  }
  const bySig = tree.findLeafBySignatureKey(cs.signaturePublicKey(p.signaturePrivateKey));
  if (bySig !== undefined) return bySig;
  const as = config.authenticationService;
  const same = tree.members().filter((m) => as.isSameClient(m.leafNode.credential, p.credential));
  if (same.length === 0) throw new UsageError("no_previous_leaf", "resync: no leaf of the group belongs to our client");
  if (same.length > 1) throw new UsageError("ambiguous_previous_leaf", `resync: ${same.length} leaves belong to our client; pass "removeLeaf"`);
  return same[0]!.leafIndex;
}

/**
 * RFC 9420 §12.4.3.2: join a group with an external Commit. Nothing is final until the Delivery
 * Service accepts the Commit (another Commit may win the epoch; then fetch the new GroupInfo and
 * try again).
 */
export async function joinExternally(p: JoinExternallyParams): Promise<ExternalJoin> {
  const { cs, config } = p;
  const gi = groupInfoOf(p.groupInfo);
  const gc = gi.groupContext;
  if (gc.cipherSuite !== cs.params.id) throw new UsageError("wrong_cipher_suite", `the group uses suite ${gc.cipherSuite}, the given suite is ${cs.params.id}`);
  if (gc.version !== protocolVersions.mls10) throw new ValidationError("group_info_version", `GroupInfo version ${gc.version}`, RFC);
  checkNoDuplicateExtensions(gc.extensions, "GroupContext.extensions");
  const tree = treeOf(gi, p.ratchetTree);
  // Like a joiner by Welcome (RFC 9420 §12.4.3.1): the signer must be a member and sign the GroupInfo, the tree must be valid.
  verifyGroupInfoWithTree(cs, gi, tree);
  await validateJoinTree({ cs, config, tree, groupContext: gc });
  const ext = findExtension(gi.extensions, extensionTypes.external_pub);
  if (ext === null) throw new ValidationError("no_external_pub", "the GroupInfo has no external_pub extension: the group does not allow external joins", RFC);
  const { externalPub } = decodeExternalPub(ext.extensionData);

  // RFC 9420 §8.3: kem_output, context = SetupBaseS(external_pub, ""); init_secret = context.export("MLS 1.0 external init secret", KDF.Nh)
  const exported = await cs.hpkeExportSender(externalPub, EMPTY, EXTERNAL_INIT_LABEL, cs.params.Nh);
  const sender: Sender = { senderType: senderTypes.new_member_commit };
  const proposals: Proposal[] = [{ proposalType: proposalTypes.external_init, externalInit: { kemOutput: exported.kemOutput } }];
  if (p.resync !== undefined) proposals.push({ proposalType: proposalTypes.remove, remove: { removed: previousLeaf(cs, config, tree, p) } });
  for (const pskId of p.psks ?? []) {
    proposals.push({ proposalType: proposalTypes.psk, psk: { psk: { psktype: pskTypes.external, pskId, pskNonce: freshPskNonce(cs) } } });
  }

  const ctx: ValidationContext = { cs, config, tree, groupContext: gc };
  for (const pr of proposals) await validateProposal(ctx, pr, sender, { externalCommit: true, sending: true });
  const resolved: ResolvedProposal[] = proposals.map((proposal) => ({ proposal, sender, ref: null }));
  // RFC 9420 §12.2 for external Commits: one ExternalInit, at most one Remove, PSKs, nothing else.
  validateProposalList(ctx, resolved, { kind: "external" });
  const applied = applyProposals(tree, gc.extensions, resolved);
  checkAppliedProposals(ctx, applied);
  const pskSecret = pskSecretFor(cs, applied.psks, { external: p.externalPsks ? [p.externalPsks, config.externalPsks] : [config.externalPsks], resumption: () => null }, RFC);

  // RFC 9420 §12.4.2: the joiner takes "the leftmost blank leaf node in the new ratchet tree" (after the Remove).
  let capabilities = p.capabilities ?? buildCapabilities({ grease: (n) => cs.randomBytes(n) });
  capabilities = withCredentialType(capabilities, p.credential.credentialType);
  capabilities = withExtensionTypes(capabilities, [...applied.extensions, ...(p.leafExtensions ?? [])].map((e) => e.extensionType));
  const template = { signatureKey: cs.signaturePublicKey(p.signaturePrivateKey), credential: p.credential, capabilities, extensions: p.leafExtensions ?? [] };
  const leafKeyPair = await cs.hpkeKeyPair();
  const placeholder: LeafNode = { ...template, encryptionKey: leafKeyPair.publicKey, leafNodeSource: leafNodeSources.commit, parentHash: EMPTY, signature: EMPTY };
  const reserved = reserveJoinerLeaf(applied.tree, placeholder);
  const leafIndex = reserved.leafIndex;
  // RFC 9420 §12.4.3.2: "The Commit MUST contain a path field."
  const prepared = await preparePath({ cs, tree: reserved.tree, leafIndex, leaf: template, sign: { signaturePrivateKey: p.signaturePrivateKey, groupId: gc.groupId }, leafKeyPair });
  // The checks every member will run on our leaf (RFC 9420 §12.4.2, §7.3; a resync leaf must also
  // qualify as an Update of the removed one, §12.2), so that a Commit we send is one they accept.
  await validateLeafNode(cs, prepared.leafNode, {
    authService: config.authenticationService,
    expectedSource: leafNodeSources.commit,
    group: { groupId: gc.groupId, leafIndex },
    groupFacts: groupFactsOf(applied.tree, applied.extensions, gc.version),
    replaces: applied.removed[0]?.leafNode,
    now: config.now(),
    purpose: "commit",
  });
  checkUniqueLeafKeys(prepared.tree, [leafIndex]);

  const provisional = provisionalGroupContext(cs, gc, prepared.tree, applied.extensions);
  const path = await encryptPath(cs, prepared, encodeGroupContext(provisional));
  const authenticatedData = p.authenticatedData ?? EMPTY;
  const content: FramedContent = {
    groupId: gc.groupId,
    epoch: gc.epoch,
    sender,
    authenticatedData,
    contentType: contentTypes.commit,
    // RFC 9420 §12.4.3.2: "The Commit MUST NOT include any proposals by reference".
    commit: { proposals: proposals.map((proposal) => ({ type: proposalOrRefTypes.proposal, proposal })), path },
  };
  let next: NextEpoch | null = null;
  // RFC 9420 §6.1: a new_member_commit signs over the GroupContext; §8.2: new members compute the
  // interim transcript hash from the GroupInfo's confirmation_tag.
  const ac = signFramedContent({
    cs,
    signaturePrivateKey: p.signaturePrivateKey,
    wireFormat: wireFormats.mls_public_message,
    content,
    groupContext: encodeGroupContext(gc),
    confirmationTag: (signature) => {
      next = deriveNextEpoch({
        cs,
        interimTranscriptHash: interimTranscriptHash(cs, gc.confirmedTranscriptHash, gi.confirmationTag),
        provisional,
        commit: { wireFormat: wireFormats.mls_public_message, content, signature },
        initSecret: exported.secret,
        commitSecret: prepared.commitSecret,
        pskSecret,
      });
      return next.confirmationTag;
    },
  });
  wipe(exported.secret, prepared.commitSecret, pskSecret, ...prepared.pathSecrets);
  const epoch = next as NextEpoch | null;
  if (epoch === null) throw new InternalError("the confirmation tag callback did not run");
  wipe(epoch.keySchedule.joinerSecret, epoch.keySchedule.welcomeSecret);
  // RFC 9420 §12.1.8 / §6.2: a non-member sends a PublicMessage without membership_tag.
  const commitMessage: MlsMessage = { version: protocolVersions.mls10, wireFormat: wireFormats.mls_public_message, publicMessage: protectPublicMessage(cs, ac) };

  const secrets = epoch.keySchedule.epochSecrets;
  const newEpoch = epoch.groupContext.epoch;
  const runtime = EpochRuntime.create(cs, newEpoch, secrets.encryptionSecret, secrets.senderDataSecret, prepared.tree.nLeaves, config.ratchetLimits);
  wipe(secrets.encryptionSecret);
  const state = GroupState.fromFields(
    {
      cs,
      config,
      groupContext: epoch.groupContext,
      tree: prepared.tree,
      interimTranscriptHash: epoch.interimTranscriptHash,
      confirmationTag: epoch.confirmationTag,
      epochSecrets: secrets,
      runtime,
      ownLeafIndex: leafIndex,
      signaturePrivateKey: p.signaturePrivateKey,
      privateKeys: prepared.privateKeys,
      pendingProposals: new Map(),
      ownUpdateKeys: new Map(),
      resumptionPsks: [{ epoch: newEpoch, psk: secrets.resumptionPsk }],
      pastEpochs: [],
      status: { kind: "active" },
    },
    epoch.groupContextBytes,
  );
  const staged: StagedCommit = {
    origin: "own",
    groupId: gc.groupId,
    parentEpoch: gc.epoch,
    parentRuntime: null,
    parentTree: tree,
    committer: { kind: "external", leafIndex, identity: config.authenticationService.identity(p.credential) },
    next: state,
    changes: membershipChanges(state, applied, { leafIndex, leafNode: prepared.leafNode, previous: null }),
    proposals: resolved,
    hasPath: true,
    removedSelf: false,
    reinit: null,
    psks: applied.psks,
    extensionsChanged: false,
    authenticatedData,
    epochAuthenticator: state.epochAuthenticator(),
  };
  const groupInfo = (p.publishGroupInfo ?? true) ? groupInfoMessage(await createGroupInfo(state, { ratchetTree: p.ratchetTreeExtension })) : null;
  return { commitMessage, staged, groupInfo };
}

/**
 * The joiner's state once the Delivery Service accepted its external Commit (the external
 * counterpart of `mergeStagedCommit`: there is no earlier state to merge into).
 */
export function completeExternalJoin(staged: StagedCommit): GroupState {
  if (staged.origin !== "own" || staged.committer.kind !== "external" || staged.parentRuntime !== null) {
    throw new UsageError("not_external_join", "completeExternalJoin takes the StagedCommit of joinExternally; use mergeStagedCommit for other Commits");
  }
  return staged.next;
}

/** An external proposal ready to send: the PublicMessage and its ProposalRef (RFC 9420 §5.2). */
export interface ExternalProposal {
  readonly message: MlsMessage;
  readonly ref: Uint8Array;
  readonly proposal: Proposal;
}

function frameExternal(cs: CipherSuite, gc: GroupContext, sender: Sender, proposal: Proposal, signaturePrivateKey: Uint8Array, authenticatedData: Uint8Array): ExternalProposal {
  const content: FramedContent = { groupId: gc.groupId, epoch: gc.epoch, sender, authenticatedData, contentType: contentTypes.proposal, proposal };
  // RFC 9420 §6.1: external and new_member_proposal senders do not sign over the GroupContext.
  const ac: AuthenticatedContent = signFramedContent({ cs, signaturePrivateKey, wireFormat: wireFormats.mls_public_message, content });
  const message: MlsMessage = { version: protocolVersions.mls10, wireFormat: wireFormats.mls_public_message, publicMessage: protectPublicMessage(cs, ac) };
  return { message, ref: makeProposalRef(cs, encodeAuthenticatedContent(ac)), proposal };
}

export interface ExternalProposalParams {
  readonly cs: CipherSuite;
  /** The group's current GroupContext (e.g. `groupInfo.groupContext` or `PublicGroup.groupContext`). */
  readonly groupContext: GroupContext;
  /** Our index in the group's external_senders extension (RFC 9420 §12.1.8.1). */
  readonly senderIndex: number;
  /** The private key of that entry's signature_key. */
  readonly signaturePrivateKey: Uint8Array;
  /** Add, Remove, PreSharedKey, ReInit or GroupContextExtensions (RFC 9420 §12.1.8). */
  readonly proposal: Proposal;
  readonly authenticatedData?: Uint8Array;
}

/**
 * RFC 9420 §12.1.8: a proposal from an external sender (e.g. the Delivery Service removing an
 * inactive member): a PublicMessage with sender `external`, signed with the key listed at
 * `senderIndex` of the group's external_senders extension.
 */
export function createExternalProposal(p: ExternalProposalParams): ExternalProposal {
  const { cs, groupContext: gc, proposal } = p;
  if (gc.cipherSuite !== cs.params.id) throw new UsageError("wrong_cipher_suite", `the group uses suite ${gc.cipherSuite}, the given suite is ${cs.params.id}`);
  // RFC 9420 §12.1.8: "only the following types may be sent by an external sender".
  if (!externalSenderProposalTypes.has(proposal.proposalType)) {
    throw new UsageError("external_proposal_type", `an external sender cannot send proposal type ${proposal.proposalType} (RFC 9420 §12.1.8)`);
  }
  const ext = findExtension(gc.extensions, extensionTypes.external_senders);
  const entry = ext === null ? undefined : decodeExternalSenders(ext.extensionData)[p.senderIndex];
  // RFC 9420 §12.1.8.1: receivers verify with the signature_key at sender_index.
  if (entry === undefined) throw new UsageError("unknown_external_sender", `the group's external_senders extension has no entry ${p.senderIndex}`);
  if (!bytesEqual(entry.signatureKey, cs.signaturePublicKey(p.signaturePrivateKey))) {
    throw new UsageError("private_key_mismatch", `the signature private key does not match external sender ${p.senderIndex}`);
  }
  if (proposal.proposalType === proposalTypes.psk) checkPskProposalId(cs, proposal.psk.psk);
  return frameExternal(cs, gc, { senderType: senderTypes.external, senderIndex: p.senderIndex }, proposal, p.signaturePrivateKey, p.authenticatedData ?? EMPTY);
}

export interface NewMemberProposalParams {
  readonly cs: CipherSuite;
  /** The group's current GroupContext (e.g. from its GroupInfo). */
  readonly groupContext: GroupContext;
  /** Our KeyPackage for the group's suite. */
  readonly keyPackage: KeyPackage;
  /** Its signature private key (the proposal is verified with the KeyPackage's signature_key, RFC 9420 §6.1). */
  readonly signaturePrivateKey: Uint8Array;
  readonly authenticatedData?: Uint8Array;
}

/**
 * RFC 9420 §12.1.8: a client asks to be added (sender type new_member_proposal, an Add of its own
 * KeyPackage). A member commits it by reference and the client joins by Welcome.
 */
export function createNewMemberProposal(p: NewMemberProposalParams): ExternalProposal {
  const { cs, groupContext: gc, keyPackage } = p;
  if (gc.cipherSuite !== cs.params.id || keyPackage.cipherSuite !== cs.params.id) {
    throw new UsageError("wrong_cipher_suite", `group suite ${gc.cipherSuite}, KeyPackage suite ${keyPackage.cipherSuite}, given suite ${cs.params.id}`);
  }
  if (!bytesEqual(keyPackage.leafNode.signatureKey, cs.signaturePublicKey(p.signaturePrivateKey))) {
    throw new UsageError("private_key_mismatch", "the signature private key does not match the KeyPackage");
  }
  const proposal: Proposal = { proposalType: proposalTypes.add, add: { keyPackage } };
  return frameExternal(cs, gc, { senderType: senderTypes.new_member_proposal }, proposal, p.signaturePrivateKey, p.authenticatedData ?? EMPTY);
}
