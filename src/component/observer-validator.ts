/**
 * The hub's commit validator for groups whose handshakes are PublicMessages (XEP "Processing by
 * the Hub" checks 5 and 7, "Group Policy"; RFC 9750 §5.3, §6.4): a {@link CommitValidator} that
 * follows each group with the engine's observer, {@link PublicGroup}.
 *
 *   registration GroupInfo (ratchet_tree) ─► PublicGroup of epoch 0 ─► checkpoint in the store
 *   <proposal/> ─► framing ─► signature, §12.1 (processProposal) ─► sender = submitter ─► policy
 *   <commit/>   ─► framing ─► the epoch's proposals (log + submission) ─► signature, §12.2,
 *                  UpdatePath, new tree hash and transcript hashes (validateCommit) ─► sender =
 *                  submitter ─► policy per proposal ─► no duplicate device ─► the hub's pending
 *                  Removes included ─► the GroupInfo is the committer's, of the computed context
 *   durable append ─► apply: the view moves on; a checkpoint is written every `checkpointInterval`
 *                  epochs when the submission carried the GroupInfo
 *
 * The views themselves (memory, checkpoints in the store, rebuild by replaying the log after a
 * restart) are ./observer-views.ts; the policy table is ./observer-policy.ts.
 *
 * What the validator cannot do and leaves to others:
 * - PrivateMessage handshakes (`handshakeWireFormat: "private"` groups, chosen by the config's
 *   `policy.handshakeWireFormat`) are opaque: such groups get {@link framingCommitValidator}, i.e.
 *   sequencing only (RFC 9750 §5.3). That config value is how an operator turns the observer off.
 * - A group the DS cannot rebuild (see ./observer-views.ts) is sequenced with the framing checks
 *   only, logged as an error, until a Commit brings a GroupInfo with ratchet_tree to re-anchor on.
 * - membership_tag and confirmation_tag need epoch secrets (see public-group.ts); the hub checks
 *   signatures, the tree and the transcript hashes.
 * @module
 */
import { isCipherSuiteId, type CipherSuite, type CryptoProvider } from "../crypto/cipher-suite.js";
import { CodecError, CryptoError, UsageError, ValidationError, XmppMlsError } from "../errors.js";
import type { Credential } from "../mls/core/credential.js";
import { contentTypes, leafNodeSources, proposalTypes, senderTypes, wireFormats } from "../mls/core/protocol.js";
import type { FramedContentAuthData } from "../mls/framing/framed-content.js";
import { decodeMlsMessage } from "../mls/framing/mls-message.js";
import { verifyGroupInfoWithTree } from "../mls/group/group-info-ops.js";
import type { CommitValidation, PublicGroup } from "../mls/group/public-group.js";
import type { Proposal } from "../mls/messages/proposal.js";
import { encodeGroupContext } from "../mls/schedule/group-context.js";
import { DEFAULT_CLOCK_SKEW_SECONDS } from "../mls/tree/leaf-node-ops.js";
import { bytesEqual, toHex } from "../util/bytes.js";
import {
  checkFraming,
  framingCommitValidator,
  reject,
  type CommitValidator,
  type CommitVerdict,
  type HandshakeContext,
  type ProposalVerdict,
  type Rejection,
} from "./commit-validator.js";
import type { DsIdentity } from "./ds-identity.js";
import type { Logger } from "./log.js";
import { accountOf, canonicalJid, hubIndexIn, PolicyCheck, policySender, type AffiliationSource, type PolicySender } from "./observer-policy.js";
import { ObserverViews } from "./observer-views.js";
import type { DsStore, GroupRecord } from "./store/types.js";

export { observerAuthenticationService, observerGroupConfig } from "./observer-views.js";

export interface ObserverValidatorOptions {
  readonly store: DsStore;
  readonly provider: CryptoProvider;
  readonly affiliations: AffiliationSource;
  /** The hub's identity: its ExternalSender locates the hub in each group's external_senders. */
  readonly identity: DsIdentity;
  readonly logger: Logger;
  /** ms since 1970. Default `Date.now`. */
  readonly now?: () => number;
  /** Write a checkpoint once the view is this many epochs past the last one (and the Commit came with its GroupInfo). Default 1. */
  readonly checkpointInterval?: number;
  /** Views kept in memory; the least recently used beyond this are dropped and rebuilt on demand. Default 1000. */
  readonly maxViews?: number;
  /** A Commit moved a followed group to a new epoch (called after the durable append, under the group's lock). */
  readonly onCommitApplied?: (group: GroupRecord, view: PublicGroup) => void;
  /** A view was rebuilt from the store (after a restart or an eviction). */
  readonly onViewRebuilt?: (group: GroupRecord, view: PublicGroup) => void;
}

/** A {@link CommitValidator} that also hands out its views (for the hub's own Remove proposals). */
export interface ObserverValidator extends CommitValidator {
  /** The public view of `group` at its current epoch (with the epoch's accepted proposals), or null when the DS does not follow it. */
  viewOf(group: GroupRecord): Promise<PublicGroup | null>;
}

export function createObserverValidator(options: ObserverValidatorOptions): ObserverValidator {
  return new Observer(options);
}

class Observer implements ObserverValidator {
  readonly #o: ObserverValidatorOptions;
  readonly #framing: CommitValidator;
  readonly #views: ObserverViews;
  readonly #interval: bigint;
  readonly #now: () => number;

  constructor(o: ObserverValidatorOptions) {
    this.#o = o;
    this.#framing = framingCommitValidator({ provider: o.provider });
    const now = o.now ?? Date.now;
    this.#views = new ObserverViews({
      store: o.store, provider: o.provider, logger: o.logger, now,
      ...(o.maxViews !== undefined && { maxViews: o.maxViews }),
      ...(o.onViewRebuilt !== undefined && { onViewRebuilt: o.onViewRebuilt }),
    });
    this.#interval = BigInt(Math.max(1, o.checkpointInterval ?? 1));
    this.#now = now;
  }

  // -------------------------------------------------------------------------------------------
  // CommitValidator
  // -------------------------------------------------------------------------------------------

  async groupCreated(group: GroupRecord, groupInfo: Uint8Array): Promise<void> {
    if (group.handshakeWireFormat !== "public") return;
    const anchored = await this.#views.anchor(group, groupInfo, null);
    if (anchored !== null) this.#views.checkpoint(group, anchored, groupInfo);
  }

  async viewOf(group: GroupRecord): Promise<PublicGroup | null> {
    const e = await this.#views.entry(group);
    return e?.kind === "following" ? e.view : null;
  }

  async validateProposal(groupId: string, epoch: bigint, bytes: Uint8Array, submitter: string, ctx: HandshakeContext): Promise<ProposalVerdict> {
    const f = checkFraming(bytes, groupId, epoch, contentTypes.proposal, ctx.group);
    if ("ok" in f) return f;
    if (f.wireFormat === "private") return this.#framing.validateProposal(groupId, epoch, bytes, submitter, ctx);
    const entry = await this.#views.entry(ctx.group);
    if (entry?.kind !== "following") return this.#framing.validateProposal(groupId, epoch, bytes, submitter, ctx);
    const view = await this.#views.withProposals(entry.view, ctx.proposals);
    let processed;
    try {
      processed = await view.processProposal(bytes);
    } catch (e) {
      return rejectionOf(e, "invalid-proposal");
    }
    const expired = this.#lifetime(processed.proposal);
    if (expired !== undefined) return expired;
    const hubIndex = this.#hubIndex(view);
    const sender = policySender(view, f.content.sender, hubIndex, { proposal: processed.proposal });
    if ("ok" in sender) return sender;
    const mismatch = senderIsSubmitter(sender, submitter);
    if (mismatch !== undefined) return mismatch;
    const refused = await new PolicyCheck(ctx.group, view, this.#o.affiliations, hubIndex).proposal(processed.proposal, sender);
    if (refused !== undefined) return refused;
    const next = processed.group;
    return { ok: true, apply: () => this.#views.set(groupId, { kind: "following", view: next, checkpointEpoch: entry.checkpointEpoch }) };
  }

  async validate(groupId: string, epoch: bigint, bytes: Uint8Array, submitter: string, ctx: HandshakeContext): Promise<CommitVerdict> {
    const f = checkFraming(bytes, groupId, epoch, contentTypes.commit, ctx.group);
    if ("ok" in f) return f;
    if (f.wireFormat === "private") return this.#framing.validate(groupId, epoch, bytes, submitter, ctx);
    const entry = await this.#views.entry(ctx.group);
    if (entry?.kind !== "following") {
      const v = await this.#framing.validate(groupId, epoch, bytes, submitter, ctx);
      // A group the DS lost track of re-anchors on a GroupInfo that carries the tree.
      if (!v.ok || entry?.kind !== "blind" || ctx.groupInfo === undefined) return v;
      const gi = ctx.groupInfo;
      return { ...v, apply: async () => void (await this.#views.reanchor(ctx.group, v.newEpoch, gi)) };
    }
    const view = await this.#views.withProposals(entry.view, ctx.proposals);
    let v: CommitValidation;
    try {
      v = await view.validateCommit(bytes);
    } catch (e) {
      return rejectionOf(e, "invalid-commit");
    }
    const refused = await this.#commitPolicy(ctx, view, v, f.content.sender, submitter, f.content.contentType === contentTypes.commit ? f.content.commit.path?.leafNode.credential : undefined);
    if (refused !== undefined) return refused;
    const next = view.applyCommit(v);
    if (ctx.groupInfo !== undefined) {
      const bad = checkGroupInfo(view.cs, ctx.groupInfo, v, next, f.auth);
      if (bad !== undefined) return bad;
    } else if (ctx.group.policy.allowExternalJoin) {
      // XEP "GroupInfo Publication": MUST when the room allows external joins.
      return reject("invalid-group-info", "the room allows external joins: a Commit must come with the new epoch's GroupInfo");
    }
    const groupInfo = ctx.groupInfo;
    return {
      ok: true,
      newEpoch: v.newEpoch,
      added: v.added.flatMap((a) => (a.keyPackageRef === null ? [] : [{ jid: a.identity, keyPackageRef: toHex(a.keyPackageRef) }])),
      removed: v.removed.map((r) => r.leafIndex),
      apply: () => {
        let checkpointEpoch = entry.checkpointEpoch;
        const group = { ...ctx.group, epoch: v.newEpoch };
        if (groupInfo !== undefined && v.newEpoch - checkpointEpoch >= this.#interval && this.#views.checkpoint(group, next, groupInfo)) checkpointEpoch = v.newEpoch;
        this.#views.set(groupId, { kind: "following", view: next, checkpointEpoch });
        this.#o.onCommitApplied?.(group, next);
      },
    };
  }

  // -------------------------------------------------------------------------------------------
  // Policy of a Commit
  // -------------------------------------------------------------------------------------------

  async #commitPolicy(ctx: HandshakeContext, view: PublicGroup, v: CommitValidation, rawSender: Parameters<typeof policySender>[1], submitter: string, joiner: Credential | undefined): Promise<Rejection | undefined> {
    const { group } = ctx;
    const hubIndex = this.#hubIndex(view);
    const committer = policySender(view, rawSender, hubIndex, joiner === undefined ? {} : { joiner });
    if ("ok" in committer) return committer;
    const mismatch = senderIsSubmitter(committer, submitter);
    if (mismatch !== undefined) return mismatch;
    const check = new PolicyCheck(group, view, this.#o.affiliations, hubIndex);
    if (v.isExternal) {
      // XEP "Group Policy", ExternalInit: enabled, and the joiner's account is affiliated.
      if (!group.policy.allowExternalJoin) return reject("external-join-disabled", "external commits are not allowed in this group", "policy");
      if (!(await check.affiliated(committer.kind === "hub" ? "" : committer.account))) return reject("not-affiliated", "the joining account is not a member of the room", "policy");
    }
    for (const p of v.proposals) {
      const expired = p.ref === null ? this.#lifetime(p.proposal) : undefined;
      if (expired !== undefined) return expired;
      const sender = p.ref === null ? committer : policySender(view, p.sender, hubIndex, { proposal: p.proposal });
      if ("ok" in sender) return sender;
      const refused = await check.proposal(p.proposal, sender, v.isExternal);
      if (refused !== undefined) return refused;
    }
    // XEP "Group Policy", Add: a device is in the group at most once (unless its old leaf goes).
    const removed = new Set<number>(v.removed.map((r) => r.leafIndex));
    const present = new Set(view.members().flatMap((m) => (removed.has(m.leafIndex) ? [] : [canonicalJid(m.identity)])));
    for (const a of v.added) {
      const jid = canonicalJid(a.identity);
      if (present.has(jid)) return reject("duplicate-device", `${jid} is already in the group`, "policy");
      present.add(jid);
    }
    // XEP "Removal by the Delivery Service": a member's Commit carries out the hub's pending Removes
    // (by reference, or by removing the same leaf otherwise: §12.2 allows one Remove per leaf).
    if (!v.isExternal && hubIndex !== null) {
      const missing = view.proposals().filter(
        (p) => p.sender.senderType === senderTypes.external && p.sender.senderIndex === hubIndex && p.proposal.proposalType === proposalTypes.remove && !removed.has(p.proposal.remove.removed),
      );
      if (missing.length > 0) return reject("missing-proposals", `the Commit leaves out ${missing.length} Remove proposal(s) of the hub`, "policy");
    }
    return undefined;
  }

  /** RFC 9420 §7.3: an added KeyPackage is within its lifetime now (the views skip this, see observer-views.ts). */
  #lifetime(p: Proposal): Rejection | undefined {
    if (p.proposalType !== proposalTypes.add) return undefined;
    const leaf = p.add.keyPackage.leafNode;
    if (leaf.leafNodeSource !== leafNodeSources.key_package) return undefined;
    const now = BigInt(Math.floor(this.#now() / 1000));
    const skew = BigInt(DEFAULT_CLOCK_SKEW_SECONDS);
    if (now + skew < leaf.lifetime.notBefore || now - skew > leaf.lifetime.notAfter) {
      return reject("invalid-key-package", "an added KeyPackage is outside its lifetime (RFC 9420 §7.3)");
    }
    return undefined;
  }

  #hubIndex(view: PublicGroup): number | null {
    if (!isCipherSuiteId(view.cipherSuite)) return null;
    try {
      return hubIndexIn(view.externalSenders(), this.#o.identity.externalSender(view.cipherSuite));
    } catch (e) {
      if (e instanceof XmppMlsError) return null;
      throw e;
    }
  }
}

/** XEP check 5: the message's sender is the submitting account (the hub only speaks for itself). */
function senderIsSubmitter(sender: PolicySender, submitter: string): Rejection | undefined {
  if (sender.kind !== "hub" && sender.account === accountOf(submitter)) return undefined;
  return reject("identity-mismatch", "the sender's credential identity does not belong to the submitting account");
}

/** XEP "GroupInfo Publication": signed by the committer, for the context the hub computed. */
function checkGroupInfo(cs: CipherSuite, bytes: Uint8Array, v: CommitValidation, next: PublicGroup, auth: FramedContentAuthData): Rejection | undefined {
  let msg;
  try {
    msg = decodeMlsMessage(bytes);
  } catch (e) {
    if (e instanceof CodecError) return reject("malformed", `group-info: not an MLSMessage (${e.code})`);
    throw e;
  }
  if (msg.wireFormat !== wireFormats.mls_group_info) return reject("malformed", "group-info: not an MLSMessage(GroupInfo)");
  const gi = msg.groupInfo;
  if (!bytesEqual(encodeGroupContext(gi.groupContext), encodeGroupContext(v.groupContext))) {
    return reject("invalid-group-info", `group-info: its group context is not the one of epoch ${v.newEpoch} the Commit creates`);
  }
  if (gi.signer !== v.committer.leafIndex) return reject("invalid-group-info", "group-info: not signed by the committer");
  if (auth.confirmationTag === undefined || !bytesEqual(gi.confirmationTag, auth.confirmationTag)) {
    return reject("invalid-group-info", "group-info: its confirmation_tag is not the Commit's");
  }
  try {
    verifyGroupInfoWithTree(cs, gi, next.tree);
  } catch (e) {
    if (e instanceof CryptoError) return reject("verification-failed", "group-info: the signature does not verify");
    if (e instanceof ValidationError) return reject("invalid-group-info", `group-info: ${e.code}`);
    throw e;
  }
  return undefined;
}

/** An engine failure as the XEP's reason (`fallback` for rule violations of the message itself). */
function rejectionOf(e: unknown, fallback: "invalid-proposal" | "invalid-commit"): Rejection {
  if (e instanceof CryptoError) return reject("verification-failed", "the signature does not verify");
  if (e instanceof CodecError) return reject("malformed", `the message does not decode: ${e.code}`);
  if (e instanceof ValidationError) {
    switch (e.code) {
      case "valid.sender_not_member":
      case "valid.unknown_external_sender":
      case "valid.no_external_senders":
        return reject("unknown-sender", e.message);
      case "valid.wrong_group":
        return reject("wrong-group", e.message);
      case "valid.wrong_epoch":
      case "valid.future_epoch":
        return reject("attribute-mismatch", e.message);
      default:
        return reject(fallback, `${e.code}: ${e.message}`);
    }
  }
  if (e instanceof UsageError) return reject("invalid", `${e.code}: ${e.message}`);
  throw e;
}
