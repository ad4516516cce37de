/**
 * What this device sends into a room: Commits and proposals through the hub, application
 * messages through the room.
 *
 *   commit(intent) ─► createCommit ─► <submit> ─┬─ accepted ─► merge (only now), events
 *                                               ├─ wrong-epoch ─► drop it, read the log, rebase, retry
 *                                               ├─ missing-proposals ─► read the log (the hub's Removes), retry
 *                                               └─ rate-limited ─► wait retry-after, retry
 *   sendText ─► wait until caught up ─► commit pending proposals ─► SCE envelope ─► PrivateMessage ─► groupchat
 *
 * Retries follow XEP "Retries": at most `commitAttempts` tries, waiting uniformly 0..2^n × base
 * before try n+1. Callers hold the room's mutex (these functions do not take it themselves).
 * @module
 */
import { UsageError, type XmppMlsError } from "../errors.js";
import { protect } from "../mls/group/application.js";
import { createCommit, selectPendingProposals } from "../mls/group/commit-create.js";
import { proposeRemove } from "../mls/group/proposals.js";
import { rebaseProposals, type StagedCommit } from "../mls/group/staged-commit.js";
import type { Proposal } from "../mls/messages/proposal.js";
import { encodeMlsMessage } from "../mls/framing/mls-message.js";
import { buildApplicationMessage } from "../xmpp/delivery-stanzas.js";
import type { XmppProtocolError } from "../xmpp/errors.js";
import { buildEnvelope, textContent } from "../xmpp/sce.js";
import { MlsClientError } from "./errors.js";
import type { RoomSession } from "./room-session.js";

export interface CommitIntent {
  /** For logs and errors: "invite bob@example.org", "self-update", … */
  readonly label: string;
  /** Proposals by value. */
  readonly proposals?: readonly Proposal[];
  /** An UpdatePath even if no proposal needs one (self-update). */
  readonly forcePath?: boolean;
  /** Commit the valid pending proposals of the epoch too. Default true. */
  readonly includePending?: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function codeOf(e: unknown): string | undefined {
  return (e as XmppMlsError | undefined)?.code;
}

function appReason(e: unknown): string | undefined {
  const app = (e as XmppProtocolError | undefined)?.app;
  return app !== undefined && "reason" in app ? app.reason : undefined;
}

function backoff(s: RoomSession, attempt: number): number {
  return Math.random() * 2 ** attempt * s.ctx.opts.retryBaseDelayMs;
}

/**
 * Commit under the room's mutex, retrying lost races. Resolves with the merged StagedCommit, or
 * null when nothing was left to commit (e.g. another member already added the devices).
 */
export async function commit(s: RoomSession, intent: CommitIntent): Promise<StagedCommit | null> {
  const opts = s.ctx.opts;
  const includePending = intent.includePending ?? true;
  let proposals: readonly Proposal[] = intent.proposals ?? [];
  for (let attempt = 0; attempt < opts.commitAttempts; attempt++) {
    if (s.gone) throw new MlsClientError("client.removed", `no longer a member of ${s.room}`);
    const state = s.state;
    const pending = includePending ? selectPendingProposals(state, true).length : 0;
    if (proposals.length === 0 && pending === 0 && intent.forcePath !== true) return null;
    const created = await createCommit(state, { proposals, forcePath: intent.forcePath === true, includePending });
    s.inflight = created;
    let accepted;
    try {
      accepted = await s.hub.submit({
        group: s.groupId,
        epoch: state.epoch,
        proposals: [],
        commit: encodeMlsMessage(created.commitMessage),
        ...(created.welcome !== null && { welcome: encodeMlsMessage(created.welcome) }),
        ...(created.groupInfo !== null && { groupInfo: encodeMlsMessage(created.groupInfo) }),
      });
    } catch (e) {
      const code = codeOf(e);
      if (code === "ds.wrong_epoch" || (code === "ds.policy_violation" && appReason(e) === "missing-proposals")) {
        // XEP "Retries": discard the losing Commit, catch up, rebase, try again.
        s.inflight = null;
        s.ctx.opts.logger.info("commit lost the epoch race; catching up and retrying", { room: s.room, what: intent.label, attempt, epoch: String(state.epoch) });
        await s.catchUpLog();
        if (s.state.epoch !== state.epoch) proposals = rebaseProposals(created.staged, s.state);
        await sleep(backoff(s, attempt));
        continue;
      }
      if (code === "ds.rate_limited") {
        s.inflight = null;
        const app = (e as XmppProtocolError).app;
        const after = app?.name === "rate-limited" && app.retryAfter !== undefined ? app.retryAfter * 1000 : backoff(s, attempt + 2);
        await sleep(after);
        continue;
      }
      if (code === undefined) {
        // No verdict (timeout, disconnect): the log tells whether the Commit went through.
        await s.catchUpLog().catch(() => {});
        if (s.inflight === null && s.state.epoch === state.epoch + 1n) return created.staged;
        // Still unknown (the hub is unreachable): a later catch-up may find it accepted (room-session.ts).
        if (s.state.epoch === state.epoch) s.unconfirmed.push(created);
      }
      s.inflight = null;
      throw e;
    }
    s.inflight = null;
    // RFC 9420 §12.4.2 / XEP: merge only after <accepted/>.
    s.seq.advance(accepted.seq);
    s.adoptCommit(created.staged, accepted.seq);
    // Saved before anything else happens: a restart must not find us in the epoch we just left.
    await s.flush();
    return created.staged;
  }
  throw new MlsClientError("client.retries_exhausted", `${intent.label} in ${s.room}: the Commit lost the race ${opts.commitAttempts} times`);
}

/** A Remove proposal for our own leaf (XEP "Adding and Leaving"); another member commits it. */
export async function proposeLeave(s: RoomSession): Promise<void> {
  const opts = s.ctx.opts;
  for (let attempt = 0; attempt < opts.commitAttempts; attempt++) {
    const state = s.state;
    const sent = await proposeRemove(state, state.ownLeafIndex);
    try {
      const accepted = await s.hub.submit({ group: s.groupId, epoch: state.epoch, proposals: [encodeMlsMessage(sent.message)] });
      // Cached when its reflection comes by, in seq order (room-session.ts #adoptOwn).
      s.ownProposals.set(accepted.seq, sent);
      return;
    } catch (e) {
      if (codeOf(e) !== "ds.wrong_epoch") throw e;
      await s.catchUpLog();
      await sleep(backoff(s, attempt));
    }
  }
  throw new MlsClientError("client.retries_exhausted", `leaving ${s.room}: the proposal lost the race ${opts.commitAttempts} times`);
}

export interface SentMessage {
  /** The XEP-0359 origin-id (and stanza id) of the groupchat message. */
  readonly id: string;
  readonly epoch: bigint;
}

/**
 * XEP "Sending": waits until the room has caught up, commits pending proposals (RFC 9420 §12.4:
 * a member that saw proposals commits before sending), then sends the envelope.
 */
export async function sendText(s: RoomSession, text: string): Promise<SentMessage> {
  for (;;) {
    await s.whenReady();
    const sent = await s.mutex.run(async (): Promise<SentMessage | null> => {
      if (s.gone) throw new MlsClientError("client.removed", `no longer a member of ${s.room}`);
      if (!s.ready) return null;
      if (s.state.pendingProposals.size > 0) {
        if (selectPendingProposals(s.state, true).length === 0) throw new UsageError("pending_own_removal", `cannot send in ${s.room}: our own removal is pending`);
        await commit(s, { label: "pending proposals" });
      }
      const { io, device } = s.ctx;
      const envelope = buildEnvelope({ content: textContent(text), from: device.identity });
      const state = s.state;
      const message = encodeMlsMessage(protect(state, envelope));
      // The sending ratchet moved: save it before the ciphertext leaves, so that a restart can
      // never encrypt with the same generation (key and nonce) again.
      await s.flush();
      const id = globalThis.crypto.randomUUID();
      s.ownOriginIds.add(id);
      await io.send(buildApplicationMessage({ to: s.room, id, originId: id, group: s.groupId, epoch: state.epoch, message }));
      s.sentSinceUpdate++;
      return { id, epoch: state.epoch };
    });
    if (sent !== null) return sent;
  }
}

/** Is a self-update due (XEP "Update Cadence": by time, or by messages sent)? */
export function updateDue(s: RoomSession, now = Date.now()): boolean {
  const { updateIntervalMs, updateAfterMessages } = s.ctx.opts;
  if (now - s.lastUpdateAt >= updateIntervalMs) return true;
  return updateAfterMessages !== undefined && s.sentSinceUpdate >= updateAfterMessages;
}
