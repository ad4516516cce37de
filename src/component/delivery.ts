/**
 * Delivery of accepted handshakes (XEP "Delivery"):
 *
 * - reflection: every accepted proposal and commit goes into the bound room as a groupchat
 *   message from the DS occupant, in `seq` order (`<mls kind group epoch seq/>` + XEP-0380
 *   marker + XEP-0334 store hint, no body);
 * - Welcome: with the winning commit only, to each added device's full JID as a `normal` message
 *   with the store hint (offline storage); each routing record is then marked delivered.
 *
 * Welcome recipients: the commit's added devices as the validator reports them (the credential
 * identity of each Add, for PublicMessage commits); otherwise the Welcome's `new_member`
 * KeyPackageRefs are looked up in the {@link ClaimLedger}, which remembers the device of every
 * KeyPackage this DS handed out. A ref found in neither is logged and skipped.
 * @module
 */
import { fromHex, toHex } from "../util/bytes.js";
import { buildHandshakeMessage, buildWelcomeMessage } from "../xmpp/delivery-stanzas.js";
import type { XmppPort } from "./entity.js";
import type { Logger } from "./log.js";
import type { MucRooms } from "./muc.js";
import type { DsStore, GroupRecord, WelcomeRecipient } from "./store/types.js";

/** One accepted handshake to reflect. */
export interface Reflection {
  readonly kind: "commit" | "proposal";
  /** FramedContent.epoch of the message. */
  readonly epoch: bigint;
  readonly seq: number;
  readonly bytes: Uint8Array;
}

/**
 * KeyPackageRef → device full JID of KeyPackages handed out by claims, bounded (oldest dropped)
 * and aged out after `ttlMs`. In memory: after a restart, Welcomes of PrivateMessage commits for
 * KeyPackages claimed before it can only be routed through the submitter's Add identities.
 */
export class ClaimLedger {
  readonly #max: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, { readonly jid: string; readonly at: number }>();

  constructor(options: { max?: number; ttlMs?: number; now?: () => number } = {}) {
    this.#max = options.max ?? 100_000;
    this.#ttlMs = options.ttlMs ?? 30 * 24 * 3600 * 1000;
    this.#now = options.now ?? Date.now;
  }

  remember(ref: string, deviceJid: string): void {
    this.#entries.delete(ref);
    this.#entries.set(ref, { jid: deviceJid, at: this.#now() });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
  }

  lookup(ref: string): string | undefined {
    const e = this.#entries.get(ref);
    if (e === undefined) return undefined;
    if (this.#now() - e.at > this.#ttlMs) {
      this.#entries.delete(ref);
      return undefined;
    }
    return e.jid;
  }

  get size(): number {
    return this.#entries.size;
  }
}

export interface DeliveryOptions {
  readonly xmpp: XmppPort;
  readonly muc: MucRooms;
  readonly store: DsStore;
  /** The DS JID, `from` of every stanza. */
  readonly domain: string;
  readonly logger: Logger;
  readonly claims: ClaimLedger;
}

export class Delivery {
  readonly #o: DeliveryOptions;
  readonly #log: Logger;

  constructor(options: DeliveryOptions) {
    this.#o = options;
    this.#log = options.logger.child({ module: "delivery" });
  }

  get claims(): ClaimLedger {
    return this.#o.claims;
  }

  /**
   * Reflect accepted handshakes into the group's room (joining it first if needed), in order.
   * Failures are logged, not thrown: the entries are in the log and clients catch up from there.
   */
  async reflect(group: GroupRecord, entries: readonly Reflection[]): Promise<boolean> {
    try {
      await this.#o.muc.ensureJoined(group.roomJid);
      const gid = fromHex(group.groupId);
      for (const e of entries) {
        const msg = buildHandshakeMessage({
          to: group.roomJid,
          id: `mls-${group.groupId.slice(0, 16)}-${e.seq}`,
          mls: { kind: e.kind, group: gid, epoch: e.epoch, seq: e.seq, message: e.bytes },
        });
        msg.attrs.from = this.#o.domain;
        await this.#o.xmpp.send(msg);
      }
      return true;
    } catch (e) {
      this.#log.error("reflection into the room failed", { group: group.groupId, room: group.roomJid, seqs: entries.map((x) => x.seq), error: e });
      return false;
    }
  }

  /**
   * Resolve the devices a Welcome goes to: `added` when known, else the claim ledger, for each
   * of `newMemberRefs` (hex). Unroutable refs are returned separately.
   */
  recipients(newMemberRefs: readonly string[], added: readonly { jid: string; keyPackageRef: string }[] | undefined): { recipients: WelcomeRecipient[]; unroutable: string[] } {
    const recipients: WelcomeRecipient[] = [];
    const unroutable: string[] = [];
    for (const ref of newMemberRefs) {
      const jid = added?.find((a) => a.keyPackageRef === ref)?.jid ?? this.#o.claims.lookup(ref);
      if (jid === undefined) unroutable.push(ref);
      // One Welcome per device: a device named twice (not a valid commit anyway) is sent it once.
      else if (!recipients.some((r) => r.keyPackageRef === ref || r.jid === jid)) recipients.push({ jid, keyPackageRef: ref });
    }
    return { recipients, unroutable };
  }

  /** Send the Welcome of the commit `commitSeq` to each recipient and mark it delivered. */
  async deliverWelcome(group: GroupRecord, p: { commitSeq: number; epoch: bigint; bytes: Uint8Array; recipients: readonly WelcomeRecipient[] }): Promise<void> {
    const gid = fromHex(group.groupId);
    for (const [i, r] of p.recipients.entries()) {
      try {
        const msg = buildWelcomeMessage({
          from: this.#o.domain,
          to: r.jid,
          id: `w-${group.groupId.slice(0, 16)}-${p.commitSeq}-${i + 1}`,
          welcome: { group: gid, room: group.roomJid, epoch: p.epoch, seq: p.commitSeq, welcome: p.bytes },
        });
        await this.#o.xmpp.send(msg);
        this.#o.store.markWelcomeDelivered(group.groupId, p.commitSeq, r.jid);
      } catch (e) {
        this.#log.error("Welcome delivery failed", { group: group.groupId, seq: p.commitSeq, to: r.jid, error: e });
      }
    }
  }
}

/** Lowercase hex of each EncryptedGroupSecrets.new_member (see welcomeNewMembers). */
export function newMemberRefs(refs: readonly Uint8Array[]): string[] {
  return refs.map((r) => toHex(r));
}
