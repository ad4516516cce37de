/**
 * The Delivery Service's view of a group (OpenMLS PublicGroup, mls-rs ExternalGroup): the public
 * state only — GroupContext, ratchet tree, transcript hashes, the epoch's proposals — followed
 * through the group's PublicMessage handshakes without any secret.
 *
 *   PublicGroup.fromGroupInfo(GroupInfo, tree?) ─► signature + full tree validation
 *   processProposal(PublicMessage) ─► signature (member leaf │ external sender │ KeyPackage)
 *       ─► §12.1 validation ─► cache by ProposalRef ─► new PublicGroup
 *   validateCommit(PublicMessage) ─► signature ─► resolve proposals (cache │ by value) ─► §12.2
 *       ─► §12.3 apply ─► UpdatePath public keys, parent hashes (§7.9.2) ─► new tree hash,
 *          GroupContext, confirmed and interim transcript hashes (§8.2) ─► CommitValidation
 *   applyCommit(CommitValidation) ─► PublicGroup of the next epoch
 *
 * What an observer cannot check, for lack of the epoch secrets:
 * - the membership_tag of members' PublicMessages (RFC 9420 §6.2: it needs membership_key), so a
 *   message signed by a member but not MACed with the current epoch's key is not detected here;
 * - the confirmation_tag of Commits (§6.1, needs confirmation_key): a Commit whose key schedule
 *   the members disagree with is accepted here (its interim transcript hash uses the tag as sent);
 * - the UpdatePath ciphertexts and the availability of PSKs (§12.4.2).
 * It can only follow groups whose members send handshakes as PublicMessage (`handshakeWireFormat:
 * "public"`); a PrivateMessage is refused with `usage.private_message`.
 *
 * Immutable: every operation returns a new PublicGroup; a failed one changes nothing.
 * @module
 */
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { makeProposalRef } from "../../crypto/labeled.js";
import { UsageError, ValidationError } from "../../errors.js";
import { bytesEqual, toHex } from "../../util/bytes.js";
import type { Credential } from "../core/credential.js";
import { extensionTypes, findExtension, type Extension } from "../core/extension.js";
import { decodeExternalSenders, type ExternalSender } from "../core/external-senders.js";
import type { PreSharedKeyId } from "../core/pre-shared-key-id.js";
import { contentTypes, leafNodeSources, proposalOrRefTypes, proposalTypes, senderTypes, wireFormats } from "../core/protocol.js";
import { verifyFramedContentSignature } from "../framing/content-auth.js";
import { confirmedTranscriptHashInput, encodeAuthenticatedContent, senderSignsGroupContext, type AuthenticatedContent } from "../framing/framed-content.js";
import { decodeMlsMessage, type MlsMessage } from "../framing/mls-message.js";
import type { PublicMessage } from "../framing/public-message.js";
import type { Sender } from "../framing/sender.js";
import type { GroupInfo } from "../messages/group-info.js";
import { keyPackageRef } from "../messages/key-package-ops.js";
import type { Proposal, ReInit } from "../messages/proposal.js";
import { encodeGroupContext, type GroupContext } from "../schedule/group-context.js";
import { confirmedTranscriptHash, interimTranscriptHash } from "../schedule/transcript-hash.js";
import type { LeafNode } from "../tree/leaf-node.js";
import { validateLeafNode } from "../tree/leaf-node-ops.js";
import type { RatchetTree } from "../tree/ratchet-tree.js";
import type { LeafIndex } from "../tree/tree-math.js";
import { TreeState } from "../tree/tree-state.js";
import { mergeUpdatePath } from "../tree/treekem.js";
import { applyProposals, reserveJoinerLeaf, type ResolvedProposal } from "./apply-proposals.js";
import { provisionalGroupContext } from "./epoch-transition.js";
import type { GroupConfig } from "./group-config.js";
import { checkUniqueLeafKeys, groupFactsOf } from "./group-facts.js";
import { ratchetTreeOf, verifyGroupInfoWithTree } from "./group-info-ops.js";
import type { PendingProposal } from "./group-state.js";
import { nonMemberSignatureKey } from "./inbound.js";
import { checkAppliedProposals, validateProposal, validateProposalList, type Committer, type ValidationContext } from "./proposal-validation.js";
import { validateJoinTree } from "./welcome.js";

const RFC = "RFC 9420 §12.4.2";

/** A member as the observer sees it. */
export interface PublicMember {
  readonly leafIndex: LeafIndex;
  readonly identity: string;
  readonly credential: Credential;
  readonly signatureKey: Uint8Array;
}

/** A member added by a Commit: by an Add (with its KeyPackageRef) or as an external committer (null). */
export interface AddedPublicMember extends PublicMember {
  readonly keyPackageRef: Uint8Array | null;
}

/** A leaf replaced by an Update or by the committer's UpdatePath. */
export interface UpdatedPublicMember extends PublicMember {
  readonly previousIdentity: string;
}

/** What a Commit does, as checked by {@link PublicGroup.validateCommit}; apply it with {@link PublicGroup.applyCommit}. */
export interface CommitValidation {
  readonly groupId: Uint8Array;
  readonly parentEpoch: bigint;
  readonly newEpoch: bigint;
  readonly committer: { readonly kind: "member" | "external"; readonly leafIndex: LeafIndex; readonly identity: string };
  readonly isExternal: boolean;
  readonly pathPresent: boolean;
  readonly added: readonly AddedPublicMember[];
  readonly removed: readonly PublicMember[];
  readonly updated: readonly UpdatedPublicMember[];
  readonly proposals: readonly ResolvedProposal[];
  readonly psks: readonly PreSharedKeyId[];
  readonly reinit: ReInit | null;
  readonly extensionsChanged: boolean;
  /** The GroupContext of the new epoch (tree hash, confirmed transcript hash, extensions). */
  readonly groupContext: GroupContext;
  readonly treeHash: Uint8Array;
  readonly confirmedTranscriptHash: Uint8Array;
  readonly interimTranscriptHash: Uint8Array;
}

/** A processed proposal and the group that caches it. */
export interface PublicProposal {
  readonly group: PublicGroup;
  readonly ref: Uint8Array;
  readonly proposal: Proposal;
  readonly sender: Sender;
}

interface Fields {
  readonly cs: CipherSuite;
  readonly config: GroupConfig;
  readonly groupContext: GroupContext;
  readonly groupContextBytes: Uint8Array;
  readonly tree: TreeState;
  readonly interimTranscriptHash: Uint8Array;
  readonly pending: ReadonlyMap<string, PendingProposal>;
  readonly reinit: ReInit | null;
}

/** The next group of each validation, private to this module (so a validation cannot be forged or reused on another group). */
const prepared = new WeakMap<CommitValidation, { readonly parent: PublicGroup; readonly next: PublicGroup }>();

export class PublicGroup {
  readonly #f: Fields;

  private constructor(f: Fields) {
    this.#f = f;
    Object.freeze(this);
  }

  /**
   * From a GroupInfo (RFC 9420 §12.4.3) and the tree (its ratchet_tree extension, or given out of
   * band): the signer must be a member and the signature must verify; the tree is validated like a
   * joiner validates it (§12.4.3.1). The confirmation_tag cannot be checked (no confirmation_key)
   * and is taken as is for the interim transcript hash (§8.2).
   */
  static async fromGroupInfo(cs: CipherSuite, groupInfo: GroupInfo | MlsMessage, opts: { readonly config: GroupConfig; readonly ratchetTree?: TreeState | RatchetTree }): Promise<PublicGroup> {
    let gi: GroupInfo;
    if ("wireFormat" in groupInfo) {
      if (groupInfo.wireFormat !== wireFormats.mls_group_info) throw new UsageError("not_a_group_info", `expected an mls_group_info MLSMessage, got wire format ${groupInfo.wireFormat}`);
      gi = groupInfo.groupInfo;
    } else {
      gi = groupInfo;
    }
    const gc = gi.groupContext;
    if (gc.cipherSuite !== cs.params.id) throw new UsageError("wrong_cipher_suite", `the group uses suite ${gc.cipherSuite}, the given suite is ${cs.params.id}`);
    let tree = ratchetTreeOf(gi);
    if (tree === null) {
      const t = opts.ratchetTree;
      if (t === undefined) throw new UsageError("missing_ratchet_tree", "the GroupInfo has no ratchet_tree extension: pass the tree obtained out of band");
      tree = t instanceof TreeState ? t : TreeState.fromRatchetTree(t);
    }
    verifyGroupInfoWithTree(cs, gi, tree);
    await validateJoinTree({ cs, config: opts.config, tree, groupContext: gc });
    return new PublicGroup({
      cs,
      config: opts.config,
      groupContext: gc,
      groupContextBytes: encodeGroupContext(gc),
      tree,
      interimTranscriptHash: interimTranscriptHash(cs, gc.confirmedTranscriptHash, gi.confirmationTag),
      pending: new Map(),
      reinit: null,
    });
  }

  get cs(): CipherSuite {
    return this.#f.cs;
  }

  get groupContext(): GroupContext {
    return this.#f.groupContext;
  }

  get groupId(): Uint8Array {
    return this.#f.groupContext.groupId;
  }

  get epoch(): bigint {
    return this.#f.groupContext.epoch;
  }

  get cipherSuite(): number {
    return this.#f.groupContext.cipherSuite;
  }

  get treeHash(): Uint8Array {
    return this.#f.groupContext.treeHash;
  }

  get confirmedTranscriptHash(): Uint8Array {
    return this.#f.groupContext.confirmedTranscriptHash;
  }

  get interimTranscriptHash(): Uint8Array {
    return this.#f.interimTranscriptHash;
  }

  get extensions(): readonly Extension[] {
    return this.#f.groupContext.extensions;
  }

  get tree(): TreeState {
    return this.#f.tree;
  }

  /** The ReInit of the last Commit, when the group was reinitialized (it takes no further Commits). */
  get reinit(): ReInit | null {
    return this.#f.reinit;
  }

  /** The external_senders extension's entries (RFC 9420 §12.1.8.1), empty without one. */
  externalSenders(): ExternalSender[] {
    const ext = findExtension(this.extensions, extensionTypes.external_senders);
    return ext === null ? [] : decodeExternalSenders(ext.extensionData);
  }

  /** The current members by leaf index (O(n)). */
  members(): PublicMember[] {
    return this.#f.tree.members().map((m) => this.#member(m.leafIndex, m.leafNode));
  }

  /** The proposals cached in this epoch, in arrival order. */
  proposals(): PendingProposal[] {
    return [...this.#f.pending.values()];
  }

  /** The ratchet tree to hand to joiners that need it out of band (RFC 9420 §12.4.3.3). */
  ratchetTree(): RatchetTree {
    return this.#f.tree.toRatchetTree();
  }

  #member(leafIndex: number, leaf: LeafNode): PublicMember {
    return { leafIndex: leafIndex as LeafIndex, identity: this.#f.config.authenticationService.identity(leaf.credential), credential: leaf.credential, signatureKey: leaf.signatureKey };
  }

  #ctx(): ValidationContext {
    const f = this.#f;
    return { cs: f.cs, config: f.config, tree: f.tree, groupContext: f.groupContext };
  }

  /** RFC 9420 §6, §6.1: a handshake PublicMessage of this epoch, its signature verified (not its membership tag). */
  #verify(message: MlsMessage | PublicMessage | Uint8Array, contentType: number): AuthenticatedContent {
    const f = this.#f;
    if (f.reinit !== null) throw new UsageError("pending_reinit", "the group was reinitialized (RFC 9420 §11.2): it takes no further handshakes");
    const m = message instanceof Uint8Array ? decodeMlsMessage(message) : message;
    let pm: PublicMessage;
    if ("wireFormat" in m) {
      if (m.wireFormat === wireFormats.mls_private_message) {
        throw new UsageError("private_message", "an observer only follows PublicMessage handshakes: the members must send handshakes as PublicMessage");
      }
      if (m.wireFormat !== wireFormats.mls_public_message) throw new UsageError("not_a_handshake", `wire format ${m.wireFormat} is not a PublicMessage`);
      pm = m.publicMessage;
    } else {
      pm = m;
    }
    const c = pm.content;
    if (c.contentType !== contentType) throw new UsageError("wrong_content_type", `expected content type ${contentType}, got ${c.contentType}`);
    if (!bytesEqual(c.groupId, this.groupId)) throw new ValidationError("wrong_group", "the message is for another group", "RFC 9420 §6");
    if (c.epoch !== this.epoch) {
      throw new ValidationError(c.epoch > this.epoch ? "future_epoch" : "wrong_epoch", `message for epoch ${c.epoch}, group is at epoch ${this.epoch}`, contentType === contentTypes.commit ? RFC : "RFC 9420 §12.1");
    }
    const ac: AuthenticatedContent = { wireFormat: wireFormats.mls_public_message, content: c, auth: pm.auth };
    let key: Uint8Array;
    if (c.sender.senderType === senderTypes.member) {
      const leaf = c.sender.leafIndex < f.tree.nLeaves ? f.tree.leaf(c.sender.leafIndex) : null;
      if (leaf === null) throw new ValidationError("sender_not_member", `sender leaf ${c.sender.leafIndex} is not a member`, "RFC 9420 §6.1");
      key = leaf.signatureKey;
    } else {
      key = nonMemberSignatureKey(f.groupContext.extensions, ac);
    }
    // RFC 9420 §6.1: member and new_member_commit signatures cover the GroupContext.
    verifyFramedContentSignature(f.cs, key, ac, senderSignsGroupContext(c.sender) ? f.groupContextBytes : undefined);
    return ac;
  }

  /**
   * RFC 9420 §12.1: verify a proposal's signature, validate it and cache it by ProposalRef.
   * A proposal already cached returns this group unchanged.
   */
  async processProposal(message: MlsMessage | PublicMessage | Uint8Array): Promise<PublicProposal> {
    const ac = this.#verify(message, contentTypes.proposal);
    const c = ac.content;
    if (c.contentType !== contentTypes.proposal) throw new UsageError("wrong_content_type", "expected a proposal");
    const ref = makeProposalRef(this.cs, encodeAuthenticatedContent(ac));
    const key = toHex(ref);
    const cached = this.#f.pending.get(key);
    if (cached !== undefined) return { group: this, ref, proposal: cached.proposal, sender: cached.sender };
    if (c.proposal.proposalType === proposalTypes.external_init) {
      throw new ValidationError("external_init_outside_external_commit", "ExternalInit is only valid by value in an external Commit", "RFC 9420 §12.1.6");
    }
    await validateProposal(this.#ctx(), c.proposal, c.sender);
    const pending = new Map(this.#f.pending);
    pending.set(key, { ref, proposal: c.proposal, sender: c.sender });
    return { group: new PublicGroup({ ...this.#f, pending }), ref, proposal: c.proposal, sender: c.sender };
  }

  /**
   * RFC 9420 §12.4.2 without secrets: verify and validate a Commit and compute the next epoch's
   * public state, without applying it (this group is unchanged; see {@link applyCommit}).
   */
  async validateCommit(message: MlsMessage | PublicMessage | Uint8Array): Promise<CommitValidation> {
    const f = this.#f;
    const { cs, config, tree: oldTree } = f;
    const ac = this.#verify(message, contentTypes.commit);
    const c = ac.content;
    if (c.contentType !== contentTypes.commit) throw new UsageError("wrong_content_type", "expected a commit");
    const sender = c.sender;
    if (sender.senderType !== senderTypes.member && sender.senderType !== senderTypes.new_member_commit) {
      throw new ValidationError("commit_sender", `a Commit cannot come from sender type ${sender.senderType}`, "RFC 9420 §6.1");
    }
    const external = sender.senderType === senderTypes.new_member_commit;
    // RFC 9420 §6.1: the MAC is unverifiable here, but it must at least have the MAC's length.
    if (ac.auth.confirmationTag === undefined || ac.auth.confirmationTag.length !== cs.params.Nh) {
      throw new ValidationError("confirmation_tag_length", `the confirmation_tag has ${ac.auth.confirmationTag?.length ?? 0} bytes, expected ${cs.params.Nh}`, "RFC 9420 §6.1");
    }
    const ctx = this.#ctx();
    const commit = c.commit;
    const resolved: ResolvedProposal[] = [];
    for (const por of commit.proposals) {
      if (por.type === proposalOrRefTypes.reference) {
        if (external) throw new ValidationError("external_commit_by_reference", "an external Commit may not reference proposals", "RFC 9420 §12.4.3.2");
        const cached = f.pending.get(toHex(por.reference));
        if (cached === undefined) throw new ValidationError("unknown_proposal_ref", `the Commit references an unknown proposal ${toHex(por.reference).slice(0, 16)}…`, RFC);
        resolved.push({ proposal: cached.proposal, sender: cached.sender, ref: cached.ref });
      } else {
        await validateProposal(ctx, por.proposal, sender, { externalCommit: external });
        resolved.push({ proposal: por.proposal, sender, ref: null });
      }
    }
    const committer: Committer = sender.senderType === senderTypes.member ? { kind: "member", leafIndex: sender.leafIndex } : { kind: "external" };
    // RFC 9420 §12.4.2: "Verify that the proposals vector is valid according to the rules in Section 12.2."
    validateProposalList(ctx, resolved, committer);
    const applied = applyProposals(oldTree, f.groupContext.extensions, resolved);
    checkAppliedProposals(ctx, applied);
    if (applied.pathRequired && commit.path === null) throw new ValidationError("path_required", "the Commit's proposals require a path", RFC);

    let tree = applied.tree;
    let committerLeaf: LeafIndex;
    let previous: LeafNode | null = null;
    let treeForPath = applied.tree;
    if (sender.senderType === senderTypes.member) {
      committerLeaf = sender.leafIndex as LeafIndex;
      previous = oldTree.leaf(sender.leafIndex);
    } else {
      if (commit.path === null) throw new ValidationError("path_required", "an external Commit must contain a path", "RFC 9420 §12.4.3.2");
      const reserved = reserveJoinerLeaf(applied.tree, commit.path.leafNode);
      treeForPath = reserved.tree;
      committerLeaf = reserved.leafIndex;
    }
    if (commit.path !== null) {
      const path = commit.path;
      // RFC 9420 §12.4.2: "Validate the LeafNode as specified in Section 7.3. The leaf_node_source field MUST be set to commit."
      await validateLeafNode(cs, path.leafNode, {
        authService: config.authenticationService,
        expectedSource: leafNodeSources.commit,
        group: { groupId: this.groupId, leafIndex: committerLeaf },
        groupFacts: groupFactsOf(applied.tree, applied.extensions, f.groupContext.version),
        replaces: external ? applied.removed[0]?.leafNode : (previous ?? undefined),
        now: config.now(),
        purpose: "commit",
      });
      const excluded = new Set<number>(applied.added.map((a) => a.leafIndex));
      const { copath } = treeForPath.filteredPath(committerLeaf);
      // RFC 9420 §7.6: one ciphertext per node of each copath node's resolution (new members excluded).
      if (copath.length === path.nodes.length) {
        for (let i = 0; i < copath.length; i++) {
          const want = treeForPath.resolution(copath[i]!, excluded).length;
          const got = path.nodes[i]!.encryptedPathSecret.length;
          if (want !== got) throw new ValidationError("update_path_ciphertexts", `UpdatePath node ${i} has ${got} ciphertexts for a resolution of ${want}`, "RFC 9420 §7.6");
        }
      }
      // RFC 9420 §7.5, §7.9.2, §12.4.2: path length, fresh keys, parent hash of the new leaf; merge.
      tree = mergeUpdatePath(cs, treeForPath, committerLeaf, path).tree;
      checkUniqueLeafKeys(tree, [committerLeaf]);
    }

    // RFC 9420 §8.2: the new GroupContext and transcript hashes (the confirmation tag as sent).
    const provisional = provisionalGroupContext(cs, f.groupContext, tree, applied.extensions);
    const confirmed = confirmedTranscriptHash(cs, f.interimTranscriptHash, confirmedTranscriptHashInput(ac));
    const groupContext: GroupContext = { ...provisional, confirmedTranscriptHash: confirmed };
    const interim = interimTranscriptHash(cs, confirmed, ac.auth.confirmationTag);

    const as = config.authenticationService;
    const added: AddedPublicMember[] = applied.added.map((a) => ({ ...this.#member(a.leafIndex, a.keyPackage.leafNode), keyPackageRef: keyPackageRef(cs, a.keyPackage) }));
    const updated: UpdatedPublicMember[] = applied.updated.map((u) => ({ ...this.#member(u.leafIndex, u.leafNode), previousIdentity: as.identity(u.previous.credential) }));
    if (commit.path !== null) {
      const leaf = commit.path.leafNode;
      if (previous === null) added.push({ ...this.#member(committerLeaf, leaf), keyPackageRef: null });
      else updated.push({ ...this.#member(committerLeaf, leaf), previousIdentity: as.identity(previous.credential) });
    }
    const committerLeafNode = commit.path?.leafNode ?? previous;
    const validation: CommitValidation = {
      groupId: this.groupId,
      parentEpoch: this.epoch,
      newEpoch: groupContext.epoch,
      committer: { kind: committer.kind, leafIndex: committerLeaf, identity: committerLeafNode === null ? "" : as.identity(committerLeafNode.credential) },
      isExternal: external,
      pathPresent: commit.path !== null,
      added,
      removed: applied.removed.map((r) => this.#member(r.leafIndex, r.leafNode)),
      updated,
      proposals: resolved,
      psks: applied.psks,
      reinit: applied.reinit,
      extensionsChanged: applied.extensionsChanged,
      groupContext,
      treeHash: groupContext.treeHash,
      confirmedTranscriptHash: confirmed,
      interimTranscriptHash: interim,
    };
    const next = new PublicGroup({
      cs,
      config,
      groupContext,
      groupContextBytes: encodeGroupContext(groupContext),
      tree,
      interimTranscriptHash: interim,
      pending: new Map(),
      reinit: applied.reinit,
    });
    prepared.set(validation, { parent: this, next });
    return validation;
  }

  /** The group at the Commit's epoch. `validation` must come from this group's {@link validateCommit}. */
  applyCommit(validation: CommitValidation): PublicGroup {
    const p = prepared.get(validation);
    if (p === undefined || p.parent !== this) throw new UsageError("wrong_epoch", `the validated Commit does not belong to this group at epoch ${this.epoch}`);
    return p.next;
  }

  /** {@link validateCommit} then {@link applyCommit}. */
  async processCommit(message: MlsMessage | PublicMessage | Uint8Array): Promise<{ readonly group: PublicGroup; readonly commit: CommitValidation }> {
    const commit = await this.validateCommit(message);
    return { group: this.applyCommit(commit), commit };
  }

  toString(): string {
    return `PublicGroup(${toHex(this.groupId)}, epoch ${this.epoch}, ${this.#f.tree.members().length} members)`;
  }
}
