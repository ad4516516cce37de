/**
 * The hub's per-group ordering (XEP "Processing by the Hub", "Ordering", "Idempotency"):
 *
 *   submit ──KeyedMutex(group id)──▶ epoch check ──▶ validate proposals, then the commit
 *          ──▶ Welcome / GroupInfo checks ──▶ append proposals, then the commit (durable)
 *          ──▶ validator apply ──▶ reflect into the room ──▶ Welcomes ──▶ verdict
 *
 * Submissions of one group run strictly one after the other; different groups run concurrently.
 * The first valid commit for the current epoch wins; a later one for the same epoch gets
 * `wrong-epoch` with the current epoch — except an identical resubmission (same commit bytes for
 * the same epoch, or the same proposals), which gets the original verdict again, found in the
 * durable log. Nothing is stored unless everything in the submission is valid.
 * @module
 */
import { CodecError, InternalError, XmppMlsError } from "../errors.js";
import { wireFormats } from "../mls/core/protocol.js";
import { decodeMlsMessage } from "../mls/framing/mls-message.js";
import { welcomeNewMembers } from "../mls/messages/welcome.js";
import { bytesEqual, toHex } from "../util/bytes.js";
import { XmppProtocolError } from "../xmpp/errors.js";
import type { AddedDevice, CommitAcceptance, CommitValidator, HandshakeContext, Rejection } from "./commit-validator.js";
import { newMemberRefs, type Delivery, type Reflection } from "./delivery.js";
import { DsError, WrongEpochError } from "./errors.js";
import type { Logger } from "./log.js";
import type { DsStore, GroupRecord, LogEntry, WelcomeRecipient } from "./store/types.js";
import { bindingOf } from "../xmpp/binding-extension.js";

/** Runs async functions one at a time per key; keys are independent. */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const tail = prev.then(() => mine);
    this.#tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Keys with work queued or running. */
  get size(): number {
    return this.#tails.size;
  }
}

/** A parsed `<submit/>` plus its submitter. */
export interface Submission {
  /** Lowercase hex group id. */
  readonly groupId: string;
  readonly epoch: bigint;
  readonly proposals: readonly Uint8Array[];
  readonly commit?: Uint8Array;
  readonly welcome?: Uint8Array;
  readonly groupInfo?: Uint8Array;
  /** Full JID as stamped by the server. */
  readonly submitter: string;
}

/** The `<accepted seq epoch/>` verdict. */
export interface Verdict {
  /** seq of the commit, or of the last proposal of a proposals-only submission. */
  readonly seq: number;
  /** The group's epoch after the submission. */
  readonly epoch: bigint;
  /** True when this is the original verdict of an identical earlier submission. */
  readonly replayed: boolean;
}

export interface SequencerOptions {
  readonly store: DsStore;
  readonly validator: CommitValidator;
  readonly delivery: Delivery;
  /** The DS JID (sender of its own proposals). */
  readonly domain: string;
  readonly logger: Logger;
  /** ms since 1970, for log stamps. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * XEP "Group Policy" for Add: every added account is affiliated with the room. Called with the
   * devices a validated commit adds (when known); returns a rejection or nothing.
   */
  readonly checkAdded?: (group: GroupRecord, added: readonly AddedDevice[]) => Promise<Rejection | undefined>;
}

/** Scan at most this many log entries of one epoch when looking for a resubmission. */
const REPLAY_SCAN_LIMIT = 10_000;
const PAGE = 200;

/** A {@link Rejection} as the stanza error the XEP names. */
export function rejectionError(r: Rejection, where: string): XmppProtocolError {
  const message = `${where}: ${r.message}`;
  return r.kind === "policy"
    ? new XmppProtocolError("ds.policy_violation", message, { reason: r.reason })
    : new XmppProtocolError("ds.invalid_message", message, { reason: r.reason });
}

export class Sequencer {
  readonly #o: SequencerOptions;
  readonly #log: Logger;
  readonly #mutex = new KeyedMutex();
  readonly #now: () => number;
  /** Group id → cipher suite (from its GroupInfo). */
  readonly #suites = new Map<string, number>();

  constructor(options: SequencerOptions) {
    this.#o = options;
    this.#log = options.logger.child({ module: "sequencer" });
    this.#now = options.now ?? Date.now;
  }

  /**
   * Sequence one submission. @throws DsError `ds.unknown_group`, WrongEpochError,
   * XmppProtocolError `ds.invalid_message` / `ds.policy_violation` / `ds.missing_welcome`.
   */
  submit(s: Submission): Promise<Verdict> {
    return this.#mutex.run(s.groupId, () => this.#submit(s));
  }

  /**
   * Append a proposal the DS itself made (e.g. a Remove as external sender), under the group's
   * lock: `build` receives the group at its current epoch and returns the MLSMessage bytes; the
   * proposal is logged with the DS as sender and reflected like any other.
   */
  appendOwnProposal(groupId: string, build: (group: GroupRecord) => Uint8Array | Promise<Uint8Array>): Promise<Verdict> {
    return this.#mutex.run(groupId, async () => {
      const group = this.#group(groupId);
      const bytes = await build(group);
      const r = this.#o.store.appendProposal(groupId, group.epoch, { sender: this.#o.domain, bytes, stamp: this.#now() });
      if (r.kind === "wrongEpoch") throw new WrongEpochError(r.currentEpoch, group.epoch);
      await this.#o.delivery.reflect(group, [{ kind: "proposal", epoch: group.epoch, seq: r.seq, bytes }]);
      return { seq: r.seq, epoch: group.epoch, replayed: false };
    });
  }

  /** The group's cipher suite from its stored GroupInfo (0 when unknown). */
  cipherSuiteOf(group: GroupRecord): number {
    const cached = this.#suites.get(group.groupId);
    if (cached !== undefined) return cached;
    const gi = this.#o.store.getGroupInfo(group.groupId);
    let suite = 0;
    if (gi !== undefined) {
      try {
        const m = decodeMlsMessage(gi.bytes);
        if (m.wireFormat === wireFormats.mls_group_info) suite = m.groupInfo.groupContext.cipherSuite;
      } catch (e) {
        this.#log.error("stored GroupInfo does not decode", { group: group.groupId, error: e });
      }
    }
    if (suite !== 0) this.#suites.set(group.groupId, suite);
    return suite;
  }

  #group(groupId: string): GroupRecord {
    const g = this.#o.store.findGroup(groupId);
    if (g === undefined) throw new DsError("ds.unknown_group", "the group is not bound at this DS");
    return g;
  }

  async #submit(s: Submission): Promise<Verdict> {
    const { store, validator } = this.#o;
    const group = this.#group(s.groupId);
    // XEP check 4: the current epoch (an identical resubmission gets its original verdict).
    if (s.epoch !== group.epoch || s.commit === undefined) {
      const replay = s.epoch <= group.epoch ? this.#findReplay(group, s) : undefined;
      if (replay !== undefined) {
        this.#log.info("resubmission answered with the original verdict", { group: s.groupId, seq: replay.seq });
        return replay;
      }
      if (s.epoch !== group.epoch) throw new WrongEpochError(group.epoch, s.epoch);
    }
    const epoch = group.epoch;
    const cipherSuite = this.cipherSuiteOf(group);
    const earlier = this.#epochEntries(group, epoch).filter((e) => e.kind === "proposal").map((e) => e.bytes);

    // XEP check 5: proposals first, in order, then the commit.
    const proposalApply: ((() => void | Promise<void>) | undefined)[] = [];
    for (const [i, p] of s.proposals.entries()) {
      const ctx: HandshakeContext = { group, cipherSuite, proposals: [...earlier, ...s.proposals.slice(0, i)] };
      const v = await validator.validateProposal(s.groupId, epoch, p, s.submitter, ctx);
      if (!v.ok) throw rejectionError(v, `proposal ${i + 1}`);
      proposalApply.push(v.apply);
    }
    let accepted: CommitAcceptance | undefined;
    let welcome: { bytes: Uint8Array; recipients: WelcomeRecipient[] } | undefined;
    if (s.commit !== undefined) {
      const ctx: HandshakeContext = {
        group, cipherSuite, proposals: [...earlier, ...s.proposals],
        ...(s.welcome !== undefined && { welcome: s.welcome }), ...(s.groupInfo !== undefined && { groupInfo: s.groupInfo }),
      };
      const v = await validator.validate(s.groupId, epoch, s.commit, s.submitter, ctx);
      if (!v.ok) throw rejectionError(v, "commit");
      if (v.newEpoch !== epoch + 1n) throw new InternalError(`validator moved the group from epoch ${epoch} to ${v.newEpoch}`);
      accepted = v;
      if (v.added !== undefined && v.added.length > 0 && this.#o.checkAdded !== undefined) {
        const refused = await this.#o.checkAdded(group, v.added);
        if (refused !== undefined) throw rejectionError(refused, "commit");
      }
      // XEP check 6, and the GroupInfo rules of "GroupInfo Publication".
      welcome = this.#checkWelcome(group, cipherSuite, s, v);
      if (s.groupInfo !== undefined) this.#checkGroupInfo(group, cipherSuite, epoch + 1n, s.groupInfo);
    }

    // Durable append: proposals, then the commit with its GroupInfo and Welcome.
    const stamp = this.#now();
    const reflections: Reflection[] = [];
    for (const [i, p] of s.proposals.entries()) {
      const r = store.appendProposal(s.groupId, epoch, { sender: s.submitter, bytes: p, stamp });
      if (r.kind === "wrongEpoch") throw new WrongEpochError(r.currentEpoch, epoch);
      reflections.push({ kind: "proposal", epoch, seq: r.seq, bytes: p });
      await proposalApply[i]?.();
    }
    let verdict: Verdict;
    let commitSeq: number | undefined;
    if (s.commit !== undefined && accepted !== undefined) {
      const groupInfo = accepted.groupInfo ?? s.groupInfo;
      // The store keeps a welcome-record only with its routing records (at least one recipient).
      const routed = welcome !== undefined && welcome.recipients.length > 0 ? welcome : undefined;
      const r = store.appendCommit(s.groupId, epoch, { sender: s.submitter, bytes: s.commit, stamp }, {
        ...(groupInfo !== undefined && { groupInfo }),
        ...(routed !== undefined && { welcome: routed }),
      });
      if (r.kind === "wrongEpoch") throw new WrongEpochError(r.currentEpoch, epoch);
      commitSeq = r.seq;
      reflections.push({ kind: "commit", epoch, seq: r.seq, bytes: s.commit });
      await accepted.apply?.();
      verdict = { seq: r.seq, epoch: r.epoch, replayed: false };
    } else {
      const last = reflections[reflections.length - 1];
      if (last === undefined) throw new InternalError("empty submission reached the sequencer");
      verdict = { seq: last.seq, epoch, replayed: false };
    }
    this.#log.info("submission accepted", { group: s.groupId, from: s.submitter, seq: verdict.seq, epoch: verdict.epoch, proposals: s.proposals.length, commit: s.commit !== undefined });

    // XEP "Processing by the Hub": reflect before answering, so the verdict cannot overtake it.
    const current = accepted === undefined ? group : { ...group, epoch: verdict.epoch };
    await this.#o.delivery.reflect(current, reflections);
    if (welcome !== undefined && commitSeq !== undefined && welcome.recipients.length > 0) {
      await this.#o.delivery.deliverWelcome(current, { commitSeq, epoch: verdict.epoch, bytes: welcome.bytes, recipients: welcome.recipients });
    }
    return verdict;
  }

  /** The Welcome rules (XEP check 6) and its recipients. */
  #checkWelcome(group: GroupRecord, suite: number, s: Submission, v: CommitAcceptance): { bytes: Uint8Array; recipients: WelcomeRecipient[] } | undefined {
    const added = v.added;
    if (s.welcome === undefined) {
      if (added !== undefined && added.length > 0) throw new XmppProtocolError("ds.missing_welcome", "the commit adds members but the submission has no <welcome/>");
      return undefined;
    }
    const mismatch = (why: string): XmppProtocolError => new XmppProtocolError("ds.invalid_message", `welcome: ${why}`, { reason: "welcome-mismatch" });
    let msg;
    try {
      msg = decodeMlsMessage(s.welcome);
    } catch (e) {
      if (e instanceof CodecError) throw new XmppProtocolError("ds.invalid_message", `welcome: not an MLSMessage (${e.code})`, { reason: "malformed" });
      throw e;
    }
    if (msg.wireFormat !== wireFormats.mls_welcome) throw new XmppProtocolError("ds.invalid_message", "welcome: not an MLSMessage(Welcome)", { reason: "malformed" });
    if (suite !== 0 && msg.welcome.cipherSuite !== suite) throw mismatch(`cipher suite ${msg.welcome.cipherSuite}, the group uses ${suite}`);
    const refs = newMemberRefs(welcomeNewMembers(msg.welcome));
    if (added !== undefined) {
      const want = new Set(added.map((a) => a.keyPackageRef));
      if (refs.length !== want.size || new Set(refs).size !== refs.length || !refs.every((r) => want.has(r))) {
        throw mismatch("its secrets do not address exactly the KeyPackages the commit adds");
      }
    }
    const { recipients, unroutable } = this.#o.delivery.recipients(refs, added);
    if (unroutable.length > 0) this.#log.warn("Welcome recipients unknown to the DS", { group: group.groupId, count: unroutable.length });
    return { bytes: s.welcome, recipients };
  }

  /** A submitted GroupInfo describes this group at the new epoch and keeps the binding. */
  #checkGroupInfo(group: GroupRecord, suite: number, newEpoch: bigint, bytes: Uint8Array): void {
    const bad = (why: string, reason = "invalid-group-info"): XmppProtocolError => new XmppProtocolError("ds.invalid_message", `group-info: ${why}`, { reason });
    let msg;
    try {
      msg = decodeMlsMessage(bytes);
    } catch (e) {
      if (e instanceof CodecError) throw bad(`not an MLSMessage (${e.code})`, "malformed");
      throw e;
    }
    if (msg.wireFormat !== wireFormats.mls_group_info) throw bad("not an MLSMessage(GroupInfo)", "malformed");
    const gc = msg.groupInfo.groupContext;
    if (toHex(gc.groupId) !== group.groupId) throw bad("it describes another group");
    if (gc.epoch !== newEpoch) throw bad(`it is for epoch ${gc.epoch}, the commit creates ${newEpoch}`);
    if (suite !== 0 && gc.cipherSuite !== suite) throw bad("its cipher suite differs from the group's");
    let binding;
    try {
      binding = bindingOf(gc.extensions);
    } catch (e) {
      if (e instanceof XmppMlsError || e instanceof TypeError) throw bad("its xmpp_binding does not decode", "binding-mismatch");
      throw e;
    }
    if (binding === null || binding.room !== group.roomJid || binding.deliveryService !== this.#o.domain) {
      throw new XmppProtocolError("ds.binding_mismatch", "group-info: xmpp_binding does not name this room and this DS");
    }
  }

  /** Log entries of `epoch` (proposals of the epoch and its commit), oldest first, bounded. */
  #epochEntries(group: GroupRecord, epoch: bigint): LogEntry[] {
    const out: LogEntry[] = [];
    let afterSeq: number | undefined;
    while (out.length < REPLAY_SCAN_LIMIT) {
      const page = this.#o.store.readLog(group.groupId, { afterEpoch: epoch, max: PAGE, ...(afterSeq !== undefined && { afterSeq }) });
      for (const e of page.entries) {
        if (e.epoch !== epoch) return out;
        out.push(e);
      }
      if (page.complete || page.last === undefined) break;
      afterSeq = page.last;
    }
    return out;
  }

  /** The original verdict of an identical earlier submission, if there was one. */
  #findReplay(group: GroupRecord, s: Submission): Verdict | undefined {
    const entries = this.#epochEntries(group, s.epoch);
    if (s.commit !== undefined) {
      const hit = entries.find((e) => e.kind === "commit" && bytesEqual(e.bytes, s.commit!));
      return hit === undefined ? undefined : { seq: hit.seq, epoch: s.epoch + 1n, replayed: true };
    }
    const proposals = entries.filter((e) => e.kind === "proposal");
    const seqs = s.proposals.map((p) => proposals.find((e) => bytesEqual(e.bytes, p))?.seq);
    if (seqs.length === 0 || seqs.some((q) => q === undefined)) return undefined;
    return { seq: Math.max(...(seqs as number[])), epoch: s.epoch, replayed: true };
  }
}
