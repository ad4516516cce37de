/**
 * The hub's public views of its groups (./observer-validator.ts decides with them): one
 * {@link PublicGroup} per group whose handshakes are PublicMessages, in memory (least recently used
 * ones dropped), each rebuilt on demand from the store:
 *
 *   checkpoint (GroupInfo of epoch E + the tree of E) ─┐
 *   or the stored GroupInfo, if it carries ratchet_tree ┴─► PublicGroup.fromGroupInfo (signature,
 *     tree validation) ─► replay the log from E: each epoch's proposals, then its Commit ─► the
 *     view at the group's epoch
 *
 * The DS keeps the ratchet tree itself (the XEP makes ratchet_tree in submitted GroupInfos only a
 * SHOULD): checkpoints are written after Commits are durably appended, in their own transaction,
 * so one may lag behind the log but never run ahead of it; a crash between the two loses nothing.
 * A group that cannot be rebuilt (no usable anchor, a log that does not replay) is marked blind,
 * logged as an error, and sequenced without validation until a Commit brings a GroupInfo with
 * ratchet_tree to re-anchor on.
 * @module
 */
import { isCipherSuiteId, type CipherSuite, type CryptoProvider } from "../crypto/cipher-suite.js";
import { makeProposalRef } from "../crypto/labeled.js";
import { CodecError, UsageError, ValidationError, XmppMlsError } from "../errors.js";
import { credentialRejected, type AuthenticationService, type CredentialValidationContext } from "../mls/auth/authentication-service.js";
import type { Credential } from "../mls/core/credential.js";
import { contentTypes, credentialTypes, wireFormats } from "../mls/core/protocol.js";
import { encodeAuthenticatedContent } from "../mls/framing/framed-content.js";
import { decodeMlsMessage } from "../mls/framing/mls-message.js";
import { groupConfig, type GroupConfig } from "../mls/group/group-config.js";
import { ratchetTreeOf } from "../mls/group/group-info-ops.js";
import { PublicGroup } from "../mls/group/public-group.js";
import { decodeRatchetTree, encodeRatchetTree } from "../mls/tree/ratchet-tree.js";
import { TreeState } from "../mls/tree/tree-state.js";
import { fromUtf8, toHex } from "../util/bytes.js";
import { jidAuthenticationService, jidOfCredential } from "./kp-validator.js";
import type { Logger } from "./log.js";
import type { DsStore, GroupRecord, LogEntry } from "./store/types.js";
import { isBareJid, isFullJid } from "./store/validate.js";

/**
 * The hub's Authentication Service (RFC 9750 §4): members are BasicCredentials naming a full JID
 * (XEP "Credentials"); external senders (RFC 9420 §12.1.8.1) may be any JID, e.g. the hub's domain.
 */
export const observerAuthenticationService: AuthenticationService = Object.freeze({
  validateCredential(c: Credential, key: Uint8Array, ctx: CredentialValidationContext): void {
    if (ctx.purpose !== "external_sender") {
      jidAuthenticationService.validateCredential(c, key, ctx);
      return;
    }
    if (c.credentialType !== credentialTypes.basic) throw credentialRejected("an external sender needs a BasicCredential");
    let identity: string;
    try {
      identity = fromUtf8(c.identity);
    } catch (e) {
      throw credentialRejected("the external sender's identity is not UTF-8", e);
    }
    if (!isBareJid(identity) && !isFullJid(identity)) throw credentialRejected("the external sender's identity is not a JID");
  },
  identity: (c: Credential): string => jidOfCredential(c),
  isSameClient: (a: Credential, b: Credential): boolean => jidAuthenticationService.isSameClient(a, b),
});

/**
 * The GroupConfig the hub's views use (`now`: seconds since 1970). KeyPackage lifetimes are not
 * checked by the views, so that replaying an old Commit after a restart never fails because a
 * KeyPackage it added has expired since; the validator checks the lifetimes of live submissions.
 */
export function observerGroupConfig(now: () => number): GroupConfig {
  return groupConfig({ authenticationService: observerAuthenticationService, handshakeWireFormat: "public", now, lifetime: { checkReceived: false } });
}

/** What the hub knows of a group: a view at the group's epoch, or that it cannot follow it. */
export type ViewEntry =
  | { readonly kind: "following"; readonly view: PublicGroup; readonly checkpointEpoch: bigint }
  | { readonly kind: "blind"; readonly reason: string };

export interface ObserverViewsOptions {
  readonly store: DsStore;
  readonly provider: CryptoProvider;
  readonly logger: Logger;
  /** ms since 1970. Default `Date.now`. */
  readonly now?: () => number;
  /** Views kept in memory. Default 1000. */
  readonly maxViews?: number;
  /** A view was rebuilt from the store (after a restart or an eviction). */
  readonly onViewRebuilt?: (group: GroupRecord, view: PublicGroup) => void;
}

const LOG_PAGE = 500;

export class ObserverViews {
  readonly #o: ObserverViewsOptions;
  readonly #log: Logger;
  readonly #config: GroupConfig;
  readonly #maxViews: number;
  /** Group id → entry; Map order is the LRU order (oldest first). */
  readonly #entries = new Map<string, ViewEntry>();

  constructor(o: ObserverViewsOptions) {
    this.#o = o;
    this.#log = o.logger.child({ module: "observer" });
    const now = o.now ?? Date.now;
    this.#config = observerGroupConfig(() => Math.floor(now() / 1000));
    this.#maxViews = Math.max(1, o.maxViews ?? 1000);
  }

  /** The entry of `group` at its current epoch; null for PrivateMessage groups. */
  async entry(group: GroupRecord): Promise<ViewEntry | null> {
    if (group.handshakeWireFormat !== "public") return null;
    const cached = this.#entries.get(group.groupId);
    if (cached !== undefined && (cached.kind === "blind" || cached.view.epoch === group.epoch)) {
      this.set(group.groupId, cached); // most recently used
      return cached;
    }
    const rebuilt = await this.#rebuild(group);
    this.set(group.groupId, rebuilt);
    if (rebuilt.kind === "following") this.#o.onViewRebuilt?.(group, rebuilt.view);
    return rebuilt;
  }

  set(groupId: string, e: ViewEntry): void {
    this.#entries.delete(groupId);
    this.#entries.set(groupId, e);
    while (this.#entries.size > this.#maxViews) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  #blind(group: GroupRecord, reason: string, error?: unknown): ViewEntry {
    this.#log.error("cannot follow the group: sequencing it without validation", { group: group.groupId, epoch: group.epoch, reason, ...(error !== undefined && { error }) });
    return { kind: "blind", reason };
  }

  /** The view from the checkpoint (or the stored GroupInfo) plus the log replayed up to the group's epoch. */
  async #rebuild(group: GroupRecord): Promise<ViewEntry> {
    const { store } = this.#o;
    const cp = store.getObserverCheckpoint(group.groupId);
    let view: PublicGroup | null;
    if (cp !== undefined) {
      let tree: TreeState;
      try {
        tree = TreeState.fromRatchetTree(decodeRatchetTree(cp.ratchetTree));
      } catch (e) {
        if (e instanceof XmppMlsError) return this.#blind(group, "the checkpoint's tree does not decode", e);
        throw e;
      }
      view = await this.anchor(group, cp.groupInfo, tree);
    } else {
      const gi = store.getGroupInfo(group.groupId);
      if (gi === undefined) return this.#blind(group, "no checkpoint and no GroupInfo");
      view = await this.anchor(group, gi.bytes, null);
    }
    if (view === null) return { kind: "blind", reason: "the anchor GroupInfo is unusable" };
    const checkpointEpoch = view.epoch;
    try {
      view = await this.#replay(group, view);
    } catch (e) {
      if (e instanceof XmppMlsError) return this.#blind(group, `the log does not replay: ${e.code}`, e);
      throw e;
    }
    if (view.epoch !== group.epoch) return this.#blind(group, `the log ends at epoch ${view.epoch}, the group is at ${group.epoch}`);
    this.#log.info("rebuilt the group's public view", { group: group.groupId, from: checkpointEpoch, epoch: view.epoch });
    return { kind: "following", view, checkpointEpoch };
  }

  /** A view from a GroupInfo (tree from it or given); logs and returns null when it is unusable. */
  async anchor(group: GroupRecord, groupInfo: Uint8Array, tree: TreeState | null): Promise<PublicGroup | null> {
    try {
      const msg = decodeMlsMessage(groupInfo);
      if (msg.wireFormat !== wireFormats.mls_group_info) throw new UsageError("not_a_group_info", "not an MLSMessage(GroupInfo)");
      const suite = msg.groupInfo.groupContext.cipherSuite;
      if (!isCipherSuiteId(suite) || !this.#o.provider.supports(suite)) throw new UsageError("unsupported_cipher_suite", `cipher suite ${suite}`);
      if (tree === null && ratchetTreeOf(msg.groupInfo) === null) throw new UsageError("missing_ratchet_tree", "the GroupInfo has no ratchet_tree and no tree is stored");
      return await PublicGroup.fromGroupInfo(this.#o.provider.suite(suite), msg, { config: this.#config, ...(tree !== null && { ratchetTree: tree }) });
    } catch (e) {
      if (!(e instanceof XmppMlsError)) throw e;
      this.set(group.groupId, this.#blind(group, `the GroupInfo is unusable: ${e.code}`, e));
      return null;
    }
  }

  /** Replay the log from `view`'s epoch: each epoch's proposals, then its Commit. */
  async #replay(group: GroupRecord, from: PublicGroup): Promise<PublicGroup> {
    let view = from;
    let afterSeq: number | undefined;
    for (;;) {
      const page = this.#o.store.readLog(group.groupId, { afterEpoch: from.epoch, max: LOG_PAGE, ...(afterSeq !== undefined && { afterSeq }) });
      for (const e of page.entries) view = await this.#replayEntry(group, view, e);
      if (page.complete || page.last === undefined) return view;
      afterSeq = page.last;
    }
  }

  async #replayEntry(group: GroupRecord, view: PublicGroup, e: LogEntry): Promise<PublicGroup> {
    if (e.kind === "welcome-record" || e.epoch < view.epoch) return view;
    if (e.epoch > view.epoch) throw new ValidationError("log_gap", `the log jumps from epoch ${view.epoch} to ${e.epoch}`);
    if (e.kind === "commit") return view.applyCommit(await view.validateCommit(e.bytes));
    try {
      return (await view.processProposal(e.bytes)).group;
    } catch (err) {
      if (!(err instanceof XmppMlsError)) throw err;
      // A proposal the view cannot take (e.g. sequenced before the observer ran) cannot be referenced either.
      this.#log.warn("skipping a logged proposal the view refuses", { group: group.groupId, seq: e.seq, error: err.code });
      return view;
    }
  }

  /** The view plus the proposals of `list` it does not have yet (those the hub appended itself, or of this submission). */
  async withProposals(view: PublicGroup, list: readonly Uint8Array[]): Promise<PublicGroup> {
    if (list.length === 0) return view;
    const known = new Set(view.proposals().map((p) => toHex(p.ref)));
    let out = view;
    for (const bytes of list) {
      const ref = proposalRefOf(view.cs, bytes);
      if (ref === null || known.has(ref)) continue;
      try {
        out = (await out.processProposal(bytes)).group;
        known.add(ref);
      } catch (e) {
        if (!(e instanceof XmppMlsError)) throw e;
        this.#log.debug("an earlier proposal of the epoch does not process", { error: e.code });
      }
    }
    return out;
  }

  /** Store a checkpoint for `view` (at `group`'s epoch); false when it could not be written. */
  checkpoint(group: GroupRecord, view: PublicGroup, groupInfo: Uint8Array): boolean {
    try {
      const r = this.#o.store.setObserverCheckpoint(group.groupId, { epoch: view.epoch, groupInfo, ratchetTree: encodeRatchetTree(view.ratchetTree()) });
      if (r.kind === "stored") return true;
      this.#log.warn("checkpoint refused: the group moved on", { group: group.groupId, epoch: view.epoch, current: r.currentEpoch });
    } catch (e) {
      this.#log.warn("cannot write the observer checkpoint", { group: group.groupId, error: e });
    }
    return false;
  }

  /** A group the DS lost track of: follow it again from a submitted GroupInfo with ratchet_tree (of `epoch`). */
  async reanchor(group: GroupRecord, epoch: bigint, groupInfo: Uint8Array): Promise<void> {
    const at = { ...group, epoch };
    const view = await this.anchor(at, groupInfo, null);
    if (view === null || view.epoch !== epoch) return;
    this.set(group.groupId, { kind: "following", view, checkpointEpoch: this.checkpoint(at, view, groupInfo) ? epoch : -1n });
    this.#log.info("following the group again from a submitted GroupInfo", { group: group.groupId, epoch });
  }
}

/** ProposalRef (RFC 9420 §5.2) of a PublicMessage proposal, hex; null for anything else. */
function proposalRefOf(cs: CipherSuite, bytes: Uint8Array): string | null {
  try {
    const msg = decodeMlsMessage(bytes);
    if (msg.wireFormat !== wireFormats.mls_public_message || msg.publicMessage.content.contentType !== contentTypes.proposal) return null;
    const { content, auth } = msg.publicMessage;
    return toHex(makeProposalRef(cs, encodeAuthenticatedContent({ wireFormat: msg.wireFormat, content, auth })));
  } catch (e) {
    if (e instanceof CodecError) return null;
    throw e;
  }
}

