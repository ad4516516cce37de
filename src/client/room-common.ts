/**
 * The shapes a room session shares with the plugin and the store: what it needs from the plugin
 * ({@link RoomContext}), what it persists ({@link RoomRecord}), and the attribute check of
 * received MLS messages.
 * @module
 */
import { contentTypes, wireFormats } from "../mls/core/protocol.js";
import type { MlsMessage } from "../mls/framing/mls-message.js";
import { bytesEqual } from "../util/bytes.js";
import type { Device } from "./device.js";
import type { DsClient } from "./ds-client.js";
import { MlsClientError } from "./errors.js";
import type { EmitFn } from "./events.js";
import type { Io } from "./io.js";
import type { ResolvedOptions } from "./options.js";
import type { RoomSession } from "./room-session.js";

/** What a room session needs from the plugin. */
export interface RoomContext {
  readonly io: Io;
  readonly device: Device;
  readonly opts: ResolvedOptions;
  readonly emit: EmitFn;
  /** A client for the hub of a group (the DS named by its xmpp_binding). */
  readonly hub: (jid: string) => DsClient;
  /** Persist the room record and group state. */
  readonly persist: (s: RoomSession) => Promise<void>;
  /** The session ended: we were removed. */
  readonly dropped: (s: RoomSession) => void;
}

/** The persisted part of a room besides the group state. */
export interface RoomRecord {
  readonly v: 1;
  readonly room: string;
  /** Group id, hex. */
  readonly group: string;
  /** The hub's JID (from xmpp_binding). */
  readonly hub: string;
  readonly nick: string;
  readonly lastSeq: number;
  /** The room stanza-id of the last archived message processed. */
  readonly lastMamId: string | null;
  /** For a device that joined by Welcome and has not seen a message yet: fetch the archive from here. */
  readonly mamStart: string | null;
  readonly lastUpdateAt: number;
  readonly sentSinceUpdate: number;
}

export interface Handshake {
  readonly message: Uint8Array;
  /** The 'epoch' attribute (or log entry epoch) the message must carry. */
  readonly epoch: bigint;
  readonly kind: "commit" | "proposal";
}

const KIND_OF: Readonly<Record<number, string>> = { [contentTypes.application]: "application", [contentTypes.proposal]: "proposal", [contentTypes.commit]: "commit" };

/**
 * XEP "Value Formats": 'group', 'epoch' and 'kind' repeat what is inside the MLSMessage; a
 * mismatch makes the message invalid.
 */
export function checkFrame(msg: MlsMessage, group: Uint8Array, epoch: bigint, kind: string): void {
  const f =
    msg.wireFormat === wireFormats.mls_public_message ? msg.publicMessage.content
    : msg.wireFormat === wireFormats.mls_private_message ? msg.privateMessage
    : null;
  if (f === null) throw new MlsClientError("client.bad_message", `wire format ${msg.wireFormat} is not a group message`);
  if (!bytesEqual(f.groupId, group) || f.epoch !== epoch || KIND_OF[f.contentType] !== kind) {
    throw new MlsClientError("client.bad_message", "the group, epoch or kind attribute disagrees with the MLS message");
  }
}

export const REMEMBERED_IDS = 2000;

/** A set that forgets its oldest entries beyond `max`. */
export class RecentSet {
  readonly #items = new Set<string>();
  constructor(readonly max: number) {}
  has(v: string): boolean {
    return this.#items.has(v);
  }
  add(v: string): void {
    this.#items.add(v);
    if (this.#items.size > this.max) this.#items.delete(this.#items.values().next().value as string);
  }
}
