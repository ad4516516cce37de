/**
 * One room this device is in: its MLS group state and everything that arrives for it.
 *
 *   room groupchat <mls kind=commit|proposal seq>  (only from the hub's occupant) ─┐
 *   DS log entries (catch-up, gap fill)                                            ├─► SeqBuffer ─► applyHandshake
 *   room groupchat <mls kind=application>  (live, or from MAM while catching up) ─────► decrypt ─► `message`
 *
 * Every state change runs under the room's {@link Mutex}, so handshakes, our own Commits
 * (room-outbound.ts) and sends never interleave. After (re)connecting, {@link RoomSession.resync}
 * rejoins the room, fetches the log from our epoch and the archive from the last message seen,
 * and applies them interleaved: handshakes in seq order, each application message once the group
 * has reached the epoch it names (XEP "Catch-up"). Sends wait until that is done.
 * @module
 */
import { contentTypes, proposalTypes, senderTypes, wireFormats } from "../mls/core/protocol.js";
import { decodeMlsMessage, encodeMlsMessage, type MlsMessage } from "../mls/framing/mls-message.js";
import type { GroupState } from "../mls/group/group-state.js";
import { processMessage, type ProcessedMessage } from "../mls/group/process-message.js";
import { mergeStagedCommit, type StagedCommit } from "../mls/group/staged-commit.js";
import type { CreatedCommit } from "../mls/group/staged-commit.js";
import type { SentProposal } from "../mls/group/proposals.js";
import { bytesEqual, toHex } from "../util/bytes.js";
import { parseMlsMessageStanza, type ReceivedMlsMessage } from "../xmpp/delivery-stanzas.js";
import { bareJid } from "../xmpp/jid.js";
import type { LogEntry } from "../xmpp/log-stanzas.js";
import { envelopeBody, parseEnvelope } from "../xmpp/sce.js";
import type { Element } from "../xmpp/xml.js";
import type { DsClient } from "./ds-client.js";
import { MlsClientError } from "./errors.js";
import { deviceRef, membershipEvent } from "./events.js";
import { joinRoom, mamAll, type ArchivedMessage, type OccupantPresence } from "./muc.js";
import { Mutex } from "./mutex.js";
import { checkFrame, RecentSet, REMEMBERED_IDS, type Handshake, type RoomContext, type RoomRecord } from "./room-common.js";
import { SeqBuffer } from "./seq-buffer.js";
import { verificationCode } from "./verification-code.js";

/** An application message whose decryption has started (see RoomSession.#startApplication). */
interface StartedApplication {
  readonly m: ReceivedMlsMessage;
  readonly delayed: boolean;
  readonly id: string | undefined;
  readonly processed: Promise<ProcessedMessage>;
}

/** Archived messages decrypted together at most (one batch of signature checks). */
const RUN_MAX = 256;

export class RoomSession {
  readonly room: string;
  readonly groupId: Uint8Array;
  readonly groupHex: string;
  readonly hubJid: string;
  readonly nick: string;
  /** @internal */ readonly ctx: RoomContext;
  /** @internal */ readonly mutex = new Mutex();
  /** @internal */ readonly seq: SeqBuffer<Handshake>;
  /** @internal Proposals we submitted and the DS accepted, by seq, until their reflection is processed. */
  readonly ownProposals = new Map<number, SentProposal>();
  /** @internal The Commit we are submitting (recognised if the log shows it was accepted). */
  inflight: CreatedCommit | null = null;
  /** @internal Commits of this epoch whose verdict never came (hub unreachable): the log may still show one accepted. */
  readonly unconfirmed: CreatedCommit[] = [];
  /** @internal */ lastUpdateAt: number;
  /** @internal */ sentSinceUpdate: number;
  /** @internal origin-ids of messages we sent (their reflections are not decrypted). */
  readonly ownOriginIds = new RecentSet(REMEMBERED_IDS);
  #state: GroupState;
  #lastMamId: string | null;
  #mamStart: string | null;
  #ready = false;
  #readyWaiters: (() => void)[] = [];
  readonly #occupants = new Map<string, string | undefined>();
  readonly #seenIds = new RecentSet(REMEMBERED_IDS);
  #commitTimer: ReturnType<typeof setTimeout> | undefined;
  #gone = false;

  constructor(ctx: RoomContext, record: RoomRecord, state: GroupState) {
    this.ctx = ctx;
    this.room = record.room;
    this.groupId = state.groupId;
    this.groupHex = toHex(state.groupId);
    this.hubJid = record.hub;
    this.nick = record.nick;
    this.seq = new SeqBuffer(record.lastSeq);
    this.#state = state;
    this.#lastMamId = record.lastMamId;
    this.#mamStart = record.mamStart;
    this.lastUpdateAt = record.lastUpdateAt;
    this.sentSinceUpdate = record.sentSinceUpdate;
  }

  get state(): GroupState {
    return this.#state;
  }

  get epoch(): bigint {
    return this.#state.epoch;
  }

  get ready(): boolean {
    return this.#ready;
  }

  get gone(): boolean {
    return this.#gone;
  }

  get hub(): DsClient {
    return this.ctx.hub(this.hubJid);
  }

  record(): RoomRecord {
    return {
      v: 1,
      room: this.room,
      group: this.groupHex,
      hub: this.hubJid,
      nick: this.nick,
      lastSeq: this.seq.last,
      lastMamId: this.#lastMamId,
      mamStart: this.#mamStart,
      lastUpdateAt: this.lastUpdateAt,
      sentSinceUpdate: this.sentSinceUpdate,
    };
  }

  /** The verification code of the current epoch. */
  verificationCode(): string {
    return verificationCode(this.#state.epochAuthenticator());
  }

  #log(level: "debug" | "info" | "warn" | "error", msg: string, data: Record<string, unknown> = {}): void {
    this.ctx.opts.logger[level](msg, { room: this.room, epoch: String(this.#state.epoch), ...data });
  }

  /** Report a failure no API call returns (the plugin logs it and emits `error`). */
  #fail(context: string, error: unknown): void {
    this.ctx.emit("error", { error, room: this.room, context });
  }

  /** Resolves once the session has caught up since the last (re)connect. */
  whenReady(): Promise<void> {
    if (this.#ready) return Promise.resolve();
    if (this.#gone) return Promise.reject(new MlsClientError("client.removed", `no longer a member of ${this.room}`));
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  #setReady(): void {
    this.#ready = true;
    for (const w of this.#readyWaiters.splice(0)) w();
  }

  // ---------------------------------------------------------------- lifecycle

  /** The connection dropped: everything live is suspect until the next resync. */
  offline(): void {
    this.#ready = false;
    this.seq.clear();
    this.#occupants.clear();
    if (this.#commitTimer !== undefined) clearTimeout(this.#commitTimer);
    this.#commitTimer = undefined;
  }

  /** We were removed (or left): stop everything. */
  end(): void {
    this.offline();
    this.#gone = true;
    for (const w of this.#readyWaiters.splice(0)) w();
  }

  /**
   * After (re)connecting: rejoin the room, then apply the log and the archive interleaved
   * (XEP "Catch-up"), then let queued sends go.
   */
  resync(): Promise<void> {
    return this.mutex.run(async () => {
      if (this.#gone) return;
      this.#ready = false;
      try {
        await joinRoom(this.ctx.io, this.room, this.nick, this.ctx.opts.requestTimeoutMs);
      } catch (joinError) {
        await this.#afterRefusedJoin();
        if (this.#gone) return;
        throw joinError;
      }
      let entries: LogEntry[];
      try {
        entries = await this.#fetchLog();
      } catch (e) {
        // The room let us in but the hub says we are not a member (ejabberd keeps a moderated
        // room's old role after the affiliation is gone): we are out all the same.
        if (this.#outIfNotMember(e)) return;
        throw e;
      }
      let next = 0;
      const applyUntil = async (epoch: bigint): Promise<void> => {
        for (let refetched = false; this.#state.epoch < epoch; ) {
          const e = entries[next];
          if (e === undefined) {
            if (refetched) return;
            entries = await this.#fetchLog();
            next = 0;
            refetched = true;
            continue;
          }
          next++;
          await this.applyLogEntry(e);
          if (this.#gone) return;
        }
      };
      const archived = await this.#fetchArchive();
      // Runs of archived messages of epochs we already have are decrypted together: each is
      // started at once, in archive order, so their signatures are verified as one batch (on
      // worker threads with `workers`); results are handled in order.
      let run: StartedApplication[] = [];
      const finishRun = async (): Promise<void> => {
        const started = run;
        run = [];
        for (const a of started) {
          if (this.#gone) return;
          await this.#finishApplication(a);
        }
      };
      for (const m of archived) {
        if (this.#gone) return;
        const parsed = this.#parseRoomMessage(m.message);
        if (parsed === null || parsed.mls.kind !== "application") continue;
        if (parsed.mls.epoch > this.#state.epoch) {
          await finishRun();
          await applyUntil(parsed.mls.epoch);
          if (this.#gone) return;
          if (parsed.mls.epoch > this.#state.epoch) {
            await this.#handleApplication(parsed, true, m.id); // the log does not reach it: reported there
            continue;
          }
        }
        const a = this.#startApplication(parsed, true, m.id);
        if (a !== null) run.push(a);
        if (run.length >= RUN_MAX) await finishRun();
      }
      await finishRun();
      if (this.#gone) return;
      for (; next < entries.length && !this.#gone; next++) await this.applyLogEntry(entries[next]!);
      // Anything accepted while we were reading the archive.
      if (!this.#gone) await this.catchUpLog();
      this.#log("debug", "caught up", { seq: this.seq.last, archived: archived.length });
      await this.ctx.persist(this);
      this.#setReady();
    });
  }

  /**
   * The room refused us. Maybe a Commit removed us while we were away (the log says so), or our
   * affiliation was revoked and the hub no longer answers us (`not-member`): either way we are out.
   */
  async #afterRefusedJoin(): Promise<void> {
    try {
      await this.catchUpLog();
    } catch (e) {
      this.#outIfNotMember(e);
    }
  }

  /** The hub answered `not-member` (our affiliation is gone): we are out. */
  #outIfNotMember(e: unknown): boolean {
    if ((e as { code?: string }).code !== "ds.not_member") return false;
    this.ctx.emit("removed", { room: this.room, epoch: this.#state.epoch, by: null });
    this.end();
    this.ctx.dropped(this);
    return true;
  }

  async #fetchLog(): Promise<LogEntry[]> {
    try {
      return await this.hub.log(this.groupId, this.#state.epoch, this.seq.last, this.ctx.opts.pageSize);
    } catch (e) {
      if ((e as { code?: string }).code === "ds.epoch_expired") {
        throw new MlsClientError("client.catch_up_failed", `the log of ${this.room} no longer reaches epoch ${this.#state.epoch}: rejoin needed`, { cause: e });
      }
      throw e;
    }
  }

  async #fetchArchive(): Promise<ArchivedMessage[]> {
    const q = { pageSize: this.ctx.opts.pageSize };
    if (this.#lastMamId !== null) {
      try {
        return await mamAll(this.ctx.io, this.room, { ...q, after: this.#lastMamId });
      } catch (e) {
        this.#log("warn", "the archive does not know our last message id; fetching from the join time", { error: String(e) });
      }
    }
    return mamAll(this.ctx.io, this.room, this.#mamStart === null ? q : { ...q, start: this.#mamStart });
  }

  // ---------------------------------------------------------------- inbound

  /** Presence from the room: track real JIDs (to recognise the hub's occupant). */
  onPresence(p: OccupantPresence): void {
    if (p.unavailable) this.#occupants.delete(p.nick);
    else this.#occupants.set(p.nick, p.realJid === undefined ? undefined : bareJid(p.realJid).toLowerCase());
  }

  #parseRoomMessage(stanza: Element): ReceivedMlsMessage | null {
    try {
      const m = parseMlsMessageStanza(stanza);
      return toHex(m.mls.group) === this.groupHex ? m : null;
    } catch {
      return null;
    }
  }

  /** A live groupchat message of this room. */
  onGroupchat(stanza: Element): void {
    const parsed = this.#parseRoomMessage(stanza);
    if (parsed === null) return;
    const kind = parsed.mls.kind;
    if (kind === "application") {
      void this.mutex.run(() => (this.#ready ? this.#handleApplication(parsed, false, parsed.stanzaId) : undefined)).catch((e: unknown) => this.#fail("processing a message", e));
      return;
    }
    // XEP: handshakes count only from the occupant whose real JID is the hub (else: ask the log).
    const nick = parsed.from.slice(parsed.from.indexOf("/") + 1);
    const fromHub = this.#occupants.get(nick) === this.hubJid.toLowerCase();
    void this.mutex
      .run(async () => {
        if (!this.#ready || this.#gone) return;
        if (!fromHub) {
          this.#log("debug", "handshake from an occupant not known as the hub; reading the log instead", { nick });
          await this.catchUpLog();
          return;
        }
        this.seq.offer(parsed.mls.seq!, { message: parsed.mls.message, epoch: parsed.mls.epoch, kind });
        await this.#drain();
        const gap = this.seq.gap();
        if (gap !== null) {
          this.#log("debug", "gap in the reflected handshakes; reading the log", { from: gap.from, to: gap.to });
          await this.catchUpLog();
          await this.#drain();
        }
      })
      .catch((e: unknown) => this.#fail("processing a handshake", e));
  }

  async #drain(): Promise<void> {
    for (let n = this.seq.next(); n !== null && !this.#gone; n = this.seq.next()) await this.applyHandshake(n.seq, n.item);
  }

  /** @internal Fetch and apply everything after our last seq. Runs under the mutex. */
  async catchUpLog(): Promise<void> {
    for (const e of await this.#fetchLog()) {
      if (this.#gone) return;
      await this.applyLogEntry(e);
    }
  }

  /** @internal */
  async applyLogEntry(e: LogEntry): Promise<void> {
    if (e.seq <= this.seq.last) return;
    this.seq.advance(e.seq);
    // "Members ignore welcome-records".
    if (e.kind === "welcome-record") return;
    await this.applyHandshake(e.seq, { message: e.message, epoch: e.epoch, kind: e.kind });
  }

  /** @internal Apply one handshake in seq order. */
  async applyHandshake(seq: number, h: Handshake): Promise<void> {
    let msg: MlsMessage;
    try {
      msg = decodeMlsMessage(h.message);
      checkFrame(msg, this.groupId, h.epoch, h.kind);
    } catch (e) {
      this.#fail(`decoding handshake ${seq}`, e);
      return;
    }
    try {
      const r = await processMessage(this.#state, msg);
      switch (r.kind) {
        case "proposal": {
          // XEP: members MUST reject external proposals from the hub other than Remove.
          if (r.sender.senderType === senderTypes.external && r.proposal.proposalType !== proposalTypes.remove) {
            this.#log("warn", "ignoring an external proposal that is not a Remove", { seq, type: r.proposal.proposalType });
            return;
          }
          this.#state = r.state;
          this.scheduleProposalCommit();
          break;
        }
        case "commit":
          this.adoptCommit(r.staged, seq);
          break;
        case "own":
          this.#adoptOwn(seq, r.contentType, h.message);
          break;
        case "application":
          this.#log("warn", "an application message arrived as a handshake", { seq });
          break;
      }
    } catch (e) {
      this.#fail(`applying handshake ${seq}`, e);
    }
    this.#persistSoon();
  }

  /** Our own proposal or Commit came back (reflection or log). */
  #adoptOwn(seq: number, contentType: number, bytes: Uint8Array): void {
    const sent = this.ownProposals.get(seq);
    if (sent !== undefined) {
      this.ownProposals.delete(seq);
      const pending = new Map(this.#state.pendingProposals);
      pending.set(toHex(sent.ref), { ref: sent.ref, proposal: sent.proposal, sender: { senderType: senderTypes.member, leafIndex: this.#state.ownLeafIndex } });
      this.#state = this.#state.with({ pendingProposals: pending });
      return;
    }
    const inflight = this.inflight;
    if (inflight !== null && inflight.staged.parentEpoch === this.#state.epoch && contentType === contentTypes.commit) {
      // Our Commit was accepted but the verdict was lost (XEP "Idempotency").
      this.inflight = null;
      this.adoptCommit(inflight.staged, seq);
      return;
    }
    // XEP "Idempotency": a Commit whose verdict was lost with the hub, accepted after all.
    const lost = contentType === contentTypes.commit ? this.unconfirmed.find((c) => c.staged.parentEpoch === this.#state.epoch && bytesEqual(encodeMlsMessage(c.commitMessage), bytes)) : undefined;
    if (lost !== undefined) {
      this.adoptCommit(lost.staged, seq);
      return;
    }
    this.#log("warn", "our own handshake came back without local state for it", { seq, contentType });
  }

  /** @internal Merge a Commit (received, or ours once accepted) and tell the application. */
  adoptCommit(staged: StagedCommit, seq: number): void {
    const next = mergeStagedCommit(this.#state, staged);
    this.#state = next;
    this.ownProposals.clear();
    this.unconfirmed.length = 0;
    if (staged.changes.added.length > 0) this.seq.mayBeSkipped(seq + 1);
    if (staged.origin === "own" && staged.hasPath) {
      this.lastUpdateAt = Date.now();
      this.sentSinceUpdate = 0;
    }
    const room = this.room;
    if (staged.removedSelf || next.status.kind === "removed") {
      this.ctx.emit("removed", { room, epoch: staged.parentEpoch + 1n, by: deviceRef(staged.committer.identity) });
      this.end();
      this.ctx.dropped(this);
      return;
    }
    const ev = membershipEvent(room, staged);
    if (ev.added.length + ev.removed.length + ev.updated.length > 0) this.ctx.emit("membership", ev);
    this.ctx.emit("verification-code", { room, epoch: next.epoch, code: this.verificationCode() });
    this.#persistSoon();
  }

  /** Application data: decrypt, check the envelope, emit `message`. */
  async #handleApplication(m: ReceivedMlsMessage, delayed: boolean, archiveId: string | undefined): Promise<void> {
    if (!this.#admit(m, archiveId)) return;
    if (m.mls.epoch > this.#state.epoch) {
      // XEP "Receiving": a newer epoch means we missed a Commit: catch up first.
      await this.catchUpLog();
      if (m.mls.epoch > this.#state.epoch) {
        this.#fail("decrypting a message", new MlsClientError("client.catch_up_failed", `a message for epoch ${m.mls.epoch} while the log ends at ${this.#state.epoch}`));
        return;
      }
    }
    const a = this.#startDecoding(m, delayed, archiveId);
    if (a !== null) await this.#finishApplication(a);
  }

  /**
   * Note the message's archive id (dedup, resume point); false if it was seen already or is our
   * own message coming back.
   */
  #admit(m: ReceivedMlsMessage, archiveId: string | undefined): boolean {
    const id = archiveId ?? m.stanzaId;
    if (id !== undefined) {
      if (this.#seenIds.has(id)) return false;
      this.#seenIds.add(id);
      this.#lastMamId = id;
      this.#mamStart = null;
    }
    return m.originId === undefined || !this.ownOriginIds.has(m.originId);
  }

  /**
   * Checks, decodes and starts decrypting one application message of an epoch we have (the
   * decryption itself runs now; its signature check may wait for a batch). Null when there is
   * nothing to do (seen already, our own, undecodable: reported).
   */
  #startApplication(m: ReceivedMlsMessage, delayed: boolean, archiveId: string | undefined): StartedApplication | null {
    return this.#admit(m, archiveId) ? this.#startDecoding(m, delayed, archiveId) : null;
  }

  #startDecoding(m: ReceivedMlsMessage, delayed: boolean, archiveId: string | undefined): StartedApplication | null {
    let msg: MlsMessage;
    try {
      msg = decodeMlsMessage(m.mls.message);
      if (msg.wireFormat !== wireFormats.mls_private_message) throw new MlsClientError("client.bad_message", "application data must be a PrivateMessage (RFC 9420 §6)");
      checkFrame(msg, this.groupId, m.mls.epoch, "application");
    } catch (e) {
      this.#fail("decoding a message", e);
      return null;
    }
    const processed = processMessage(this.#state, msg);
    processed.catch(() => undefined); // handled in #finishApplication, in order
    return { m, delayed, id: archiveId ?? m.stanzaId, processed };
  }

  async #finishApplication({ m, delayed, id, processed }: StartedApplication): Promise<void> {
    try {
      const r = await processed;
      if (r.kind !== "application") return;
      const env = parseEnvelope(r.data);
      // XEP "Plaintext": <from/> MUST equal the credential identity of the MLS sender.
      if (env.from !== r.sender.identity) throw new MlsClientError("client.binding_mismatch", `the envelope says ${env.from}, the MLS sender is ${r.sender.identity}`);
      const sender = deviceRef(r.sender.identity);
      const nick = m.from.slice(m.from.indexOf("/") + 1);
      const real = this.#occupants.get(nick);
      if (!delayed && real !== undefined && real !== sender.jid.toLowerCase()) {
        this.#log("warn", "the occupant's real JID differs from the MLS sender", { occupant: real, sender: sender.jid });
      }
      this.ctx.emit("message", {
        room: this.room,
        from: sender.jid,
        device: sender.device,
        text: envelopeBody(env),
        content: env.content,
        id: id ?? m.originId,
        stamp: env.time,
        epoch: r.epoch,
        delayed,
      });
    } catch (e) {
      // While catching up, messages from before we joined cannot be decrypted: not an error.
      if (delayed && (e as { code?: string }).code === "valid.wrong_epoch") return;
      this.#fail("decrypting a message", e);
    }
    this.#persistSoon();
  }

  // ---------------------------------------------------------------- proposals to commit

  /**
   * XEP "Removal by the Delivery Service": commit pending proposals after a random delay if no
   * Commit arrived by then. The hub's ordering resolves races.
   */
  scheduleProposalCommit(): void {
    if (this.#commitTimer !== undefined || this.#gone) return;
    const { min, max } = this.ctx.opts.proposalCommitDelayMs;
    const delay = min + Math.random() * (max - min);
    this.#commitTimer = setTimeout(() => {
      this.#commitTimer = undefined;
      this.onCommitTimer?.();
    }, delay);
    this.#commitTimer.unref?.();
  }

  /** Set by the outbound side: commits pending proposals. */
  onCommitTimer: (() => void) | undefined;

  #persistTimer: ReturnType<typeof setTimeout> | undefined;

  /** Save now (cancelling a pending coalesced save). */
  async flush(): Promise<void> {
    if (this.#persistTimer !== undefined) clearTimeout(this.#persistTimer);
    this.#persistTimer = undefined;
    if (!this.#gone) await this.ctx.persist(this);
  }

  /** Coalesce persistence of bursts (a catch-up) into one write. */
  #persistSoon(): void {
    if (this.#persistTimer !== undefined || this.#gone) return;
    this.#persistTimer = setTimeout(() => {
      this.#persistTimer = undefined;
      this.ctx.persist(this).catch((e: unknown) => this.#fail("saving the room", e));
    }, 20);
  }
}
