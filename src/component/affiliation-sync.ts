/**
 * Membership synchronisation by the hub (XEP "Removal by the Delivery Service", RFC 9750 §5.3):
 * when an account loses its affiliation with a bound room, the hub — an entry of the group's
 * external_senders (RFC 9420 §12.1.8.1) — proposes the removal of every leaf whose credential
 * identity belongs to that account:
 *
 *   AffiliationRevoked(room, jid) ─► for each leaf of jid not yet proposed in this epoch, under the
 *     group's lock (Sequencer.appendOwnProposal): Remove(leaf) ─► createExternalProposal, signed
 *     with the hub's key for the group's suite, sender index = the hub's external_senders index
 *     ─► appended to the log ─► reflected into the room
 *   a Commit moves the group on while removals are still pending ─► issue them again (XEP: "If the
 *     epoch advances before the proposals are committed, the hub issues them again in the new
 *     epoch"), unless the account is affiliated again
 *   a view rebuilt after a restart ─► reconcile: every leaf of an account without affiliation
 *
 * Members commit the proposals (the hub refuses their Commits that leave them out:
 * `missing-proposals`, see ./observer-validator.ts).
 *
 * Idempotent: the leaves already proposed in the current epoch are read back from the log (the
 * hub's own entries), so a repeated event, a re-join or a restart does not propose a leaf twice in
 * one epoch. The leaves come from the observer's view; for a group the observer does not follow
 * (PrivateMessage handshakes) the stored GroupInfo serves when it is of the current epoch and
 * carries ratchet_tree, otherwise nothing can be proposed (logged).
 * @module
 */
import { isCipherSuiteId, type CryptoProvider } from "../crypto/cipher-suite.js";
import { XmppMlsError } from "../errors.js";
import { contentTypes, proposalTypes, wireFormats } from "../mls/core/protocol.js";
import { decodeMlsMessage, encodeMlsMessage } from "../mls/framing/mls-message.js";
import { createExternalProposal } from "../mls/group/external.js";
import { ratchetTreeOf } from "../mls/group/group-info-ops.js";
import { PublicGroup } from "../mls/group/public-group.js";
import { wipe } from "../util/bytes.js";
import type { DsIdentity } from "./ds-identity.js";
import type { Logger } from "./log.js";
import { affiliationAtLeast } from "./muc.js";
import { accountOf, hubIndexIn, type AffiliationSource } from "./observer-policy.js";
import { observerGroupConfig } from "./observer-views.js";
import type { Sequencer } from "./sequencer.js";
import type { DsStore, GroupRecord, LogEntry } from "./store/types.js";

export interface AffiliationSyncOptions {
  readonly store: DsStore;
  readonly sequencer: Pick<Sequencer, "appendOwnProposal">;
  readonly identity: DsIdentity;
  readonly provider: CryptoProvider;
  /** The hub's JID: the sender of its own log entries. */
  readonly domain: string;
  readonly logger: Logger;
  readonly affiliations: AffiliationSource;
  /** The observer's view of a group at its current epoch, or null (./observer-validator.ts `viewOf`). */
  readonly viewOf?: (group: GroupRecord) => Promise<PublicGroup | null>;
  /** ms since 1970 (for views built from a stored GroupInfo). Default `Date.now`. */
  readonly now?: () => number;
}

/** Thrown inside `appendOwnProposal`'s build to append nothing. */
class NothingToPropose extends Error {}

/** At most this many Removes per account and event (devices per account are few). */
const MAX_LEAVES_PER_ACCOUNT = 1000;
const PAGE = 500;

export class AffiliationSync {
  readonly #o: AffiliationSyncOptions;
  readonly #log: Logger;
  /** Group id → accounts whose removal is pending. */
  readonly #pending = new Map<string, Set<string>>();

  constructor(options: AffiliationSyncOptions) {
    this.#o = options;
    this.#log = options.logger.child({ module: "affiliation-sync" });
  }

  /** Accounts (lowercase bare JIDs) whose leaves the hub is removing from the group. */
  pending(groupId: string): string[] {
    return [...(this.#pending.get(groupId) ?? [])];
  }

  /**
   * Propose the removal of every leaf of `jid`'s account in `group` that has no Remove of the hub in
   * the current epoch yet. Resolves with the number of proposals appended.
   */
  async revoke(group: GroupRecord, jid: string): Promise<number> {
    const account = accountOf(jid);
    let set = this.#pending.get(group.groupId);
    if (set === undefined) this.#pending.set(group.groupId, (set = new Set()));
    set.add(account);
    let appended = 0;
    for (let i = 0; i < MAX_LEAVES_PER_ACCOUNT; i++) {
      try {
        const v = await this.#o.sequencer.appendOwnProposal(group.groupId, (g) => this.#build(g, account));
        appended++;
        this.#log.info("proposed the removal of a device whose account left the room", { group: group.groupId, account, seq: v.seq, epoch: v.epoch });
      } catch (e) {
        if (e instanceof NothingToPropose) break;
        throw e;
      }
    }
    return appended;
  }

  /** A Commit moved `group` on: issue the pending removals again (outside the caller's lock). */
  afterCommit(group: GroupRecord): void {
    const set = this.#pending.get(group.groupId);
    if (set === undefined || set.size === 0) return;
    for (const account of [...set]) {
      setImmediate(() => void this.#reissue(group, account));
    }
  }

  /** Propose removals for every leaf whose account has no affiliation (after a restart). Runs outside the caller's lock. */
  reconcileLater(group: GroupRecord, view: PublicGroup): void {
    const accounts = [...new Set(view.members().map((m) => accountOf(m.identity)))];
    setImmediate(() => void this.#reconcile(group, accounts));
  }

  async #reconcile(group: GroupRecord, accounts: readonly string[]): Promise<void> {
    try {
      for (const account of accounts) {
        const a = await this.#o.affiliations.affiliationOf(group.roomJid, account);
        if (!affiliationAtLeast(a, "member")) await this.revoke(group, account);
      }
    } catch (e) {
      this.#log.warn("cannot reconcile the group with the room's affiliations", { group: group.groupId, error: e });
    }
  }

  async #reissue(group: GroupRecord, account: string): Promise<void> {
    try {
      const a = await this.#o.affiliations.affiliationOf(group.roomJid, account);
      if (affiliationAtLeast(a, "member")) {
        this.#pending.get(group.groupId)?.delete(account);
        return;
      }
      await this.revoke(group, account);
    } catch (e) {
      this.#log.warn("cannot issue the pending removals again", { group: group.groupId, account, error: e });
    }
  }

  /** One Remove of a not yet proposed leaf of `account`, as MLSMessage bytes (under the group's lock). */
  async #build(group: GroupRecord, account: string): Promise<Uint8Array> {
    const view = await this.#view(group);
    if (view === null) {
      this.#log.warn("cannot propose removals: the hub has no view of the group's tree", { group: group.groupId });
      throw new NothingToPropose();
    }
    const leaves = view.members().filter((m) => accountOf(m.identity) === account);
    if (leaves.length === 0) {
      this.#pending.get(group.groupId)?.delete(account);
      throw new NothingToPropose();
    }
    const proposed = this.#proposedThisEpoch(group);
    const target = leaves.find((l) => !proposed.has(l.leafIndex));
    if (target === undefined) throw new NothingToPropose();
    const suite = view.cipherSuite;
    if (!isCipherSuiteId(suite)) throw new NothingToPropose();
    const senderIndex = this.#senderIndex(group, view, suite);
    if (senderIndex === null) {
      this.#log.error("cannot propose removals: the hub is not an external sender of the group", { group: group.groupId });
      throw new NothingToPropose();
    }
    const key = this.#o.identity.signaturePrivateKey(suite);
    try {
      // RFC 9420 §12.1.8: a Remove from an external sender, a PublicMessage of the current epoch.
      const p = createExternalProposal({
        cs: this.#o.provider.suite(suite),
        groupContext: view.groupContext,
        senderIndex,
        signaturePrivateKey: key,
        proposal: { proposalType: proposalTypes.remove, remove: { removed: target.leafIndex } },
      });
      return encodeMlsMessage(p.message);
    } finally {
      wipe(key);
    }
  }

  /** The hub's index in external_senders: the stored one (XEP: sender index = the hub's entry) when it still names the hub, else found by key. */
  #senderIndex(group: GroupRecord, view: PublicGroup, suite: Parameters<DsIdentity["externalSender"]>[0]): number | null {
    const senders = view.externalSenders();
    const hub = this.#o.identity.externalSender(suite);
    const stored = this.#o.store.getExternalSenders(group.groupId)?.dsIndex ?? null;
    const atStored = stored === null ? undefined : senders[stored];
    if (stored !== null && atStored !== undefined && hubIndexIn([atStored], hub) === 0) return stored;
    return hubIndexIn(senders, hub);
  }

  /** Leaves the hub already proposed to remove in the group's current epoch (from the log). */
  #proposedThisEpoch(group: GroupRecord): Set<number> {
    const out = new Set<number>();
    let afterSeq: number | undefined;
    for (;;) {
      const page = this.#o.store.readLog(group.groupId, { afterEpoch: group.epoch, max: PAGE, ...(afterSeq !== undefined && { afterSeq }) });
      for (const e of page.entries) {
        const leaf = e.epoch === group.epoch ? this.#removedBy(e) : null;
        if (leaf !== null) out.add(leaf);
      }
      if (page.complete || page.last === undefined) return out;
      afterSeq = page.last;
    }
  }

  #removedBy(e: LogEntry): number | null {
    if (e.kind !== "proposal" || e.sender !== this.#o.domain) return null;
    try {
      const m = decodeMlsMessage(e.bytes);
      if (m.wireFormat !== wireFormats.mls_public_message) return null;
      const c = m.publicMessage.content;
      return c.contentType === contentTypes.proposal && c.proposal.proposalType === proposalTypes.remove ? c.proposal.remove.removed : null;
    } catch (err) {
      if (err instanceof XmppMlsError) return null;
      throw err;
    }
  }

  /** The observer's view, else one from the stored GroupInfo of the current epoch with its tree. */
  async #view(group: GroupRecord): Promise<PublicGroup | null> {
    const v = await this.#o.viewOf?.(group);
    if (v !== undefined && v !== null) return v;
    const gi = this.#o.store.getGroupInfo(group.groupId);
    if (gi === undefined || gi.epoch !== group.epoch) return null;
    try {
      const msg = decodeMlsMessage(gi.bytes);
      if (msg.wireFormat !== wireFormats.mls_group_info || ratchetTreeOf(msg.groupInfo) === null) return null;
      const suite = msg.groupInfo.groupContext.cipherSuite;
      if (!isCipherSuiteId(suite) || !this.#o.provider.supports(suite)) return null;
      const now = this.#o.now ?? Date.now;
      return await PublicGroup.fromGroupInfo(this.#o.provider.suite(suite), msg, { config: observerGroupConfig(() => Math.floor(now() / 1000)) });
    } catch (e) {
      if (e instanceof XmppMlsError) return null;
      throw e;
    }
  }
}
