/**
 * Events of the client plugin, and how MLS results become them.
 *
 * | event               | when                                                                      |
 * |---------------------|---------------------------------------------------------------------------|
 * | `message`           | an application message decrypted (live or from the archive)               |
 * | `membership`        | a Commit added, removed or updated devices (RFC 9750 §8.4.3.1)            |
 * | `verification-code` | every epoch change: the code members compare out of band                 |
 * | `joined`            | this device entered a group (created it, or a Welcome)                    |
 * | `removed`           | a Commit removed this device                                              |
 * | `online`            | caught up after (re)connecting: rooms rejoined, logs and archives applied |
 * | `error`             | something failed that no API call reports (a bad message, a replenish)    |
 * @module
 */
import { proposalTypes, senderTypes } from "../mls/core/protocol.js";
import type { StagedCommit } from "../mls/group/staged-commit.js";
import type { Element } from "../xmpp/xml.js";
import { splitIdentity } from "./device.js";

/** One device as the application sees it. */
export interface DeviceRef {
  /** Bare JID of the account. */
  readonly jid: string;
  readonly device: string;
  /** The credential identity `jid/device`. */
  readonly identity: string;
}

export interface MessageEvent {
  readonly room: string;
  /** Bare JID of the sender (from the MLS credential, checked against the envelope). */
  readonly from: string;
  readonly device: string;
  /** The body; undefined when the envelope carries other content only. */
  readonly text: string | undefined;
  /** The content elements of the SCE envelope. */
  readonly content: readonly Element[];
  /** The room's stanza-id (archive id), else the origin-id. */
  readonly id: string | undefined;
  /** The sender's `<time/>` stamp (XEP-0082). */
  readonly stamp: string;
  readonly epoch: bigint;
  /** Fetched from the archive while catching up. */
  readonly delayed: boolean;
}

export interface MembershipEvent {
  readonly room: string;
  /** The epoch the Commit created. */
  readonly epoch: bigint;
  /** Who committed. */
  readonly committer: DeviceRef;
  readonly added: readonly DeviceRef[];
  /** `byRoomService`: the DS proposed it because the account lost its affiliation (XEP "Removal by the Delivery Service"). */
  readonly removed: readonly (DeviceRef & { readonly byRoomService: boolean })[];
  readonly updated: readonly DeviceRef[];
}

export interface VerificationCodeEvent {
  readonly room: string;
  readonly epoch: bigint;
  readonly code: string;
}

export interface JoinedEvent {
  readonly room: string;
  readonly epoch: bigint;
  readonly members: readonly DeviceRef[];
  /** True for the room's creator. */
  readonly created: boolean;
}

export interface RemovedEvent {
  readonly room: string;
  readonly epoch: bigint;
  readonly by: DeviceRef | null;
}

export interface ErrorEvent {
  readonly error: unknown;
  readonly room?: string;
  /** What the plugin was doing. */
  readonly context: string;
}

export interface MlsEvents {
  message: [MessageEvent];
  membership: [MembershipEvent];
  "verification-code": [VerificationCodeEvent];
  joined: [JoinedEvent];
  removed: [RemovedEvent];
  online: [];
  error: [ErrorEvent];
}

export type EmitFn = <K extends keyof MlsEvents>(event: K, ...args: MlsEvents[K]) => void;

export function deviceRef(identity: string): DeviceRef {
  const { jid, device } = splitIdentity(identity);
  return { jid, device, identity };
}

/** RFC 9750 §8.4.3.1: the membership changes of a merged Commit. */
export function membershipEvent(room: string, staged: StagedCommit): MembershipEvent {
  const dsRemoved = new Set<number>();
  for (const p of staged.proposals) {
    if (p.proposal.proposalType === proposalTypes.remove && p.sender.senderType === senderTypes.external) dsRemoved.add(p.proposal.remove.removed);
  }
  return {
    room,
    epoch: staged.parentEpoch + 1n,
    committer: deviceRef(staged.committer.identity),
    added: staged.changes.added.map((m) => deviceRef(m.identity)),
    removed: staged.changes.removed.map((m) => ({ ...deviceRef(m.identity), byRoomService: dsRemoved.has(m.leafIndex) })),
    updated: staged.changes.updated.map((m) => deviceRef(m.identity)),
  };
}
