/**
 * The Delivery Service's parts, built once per gateway and shared by the handlers:
 *
 *   config ─┬─ RequestLimits ── KeyDirectory (kp-validator on the MLS engine)
 *           ├─ MucRooms (occupancy, affiliation view) ── Delivery (reflection, Welcomes, ClaimLedger)
 *           ├─ Sequencer (per-group lock, CommitValidator: by default the observer,
 *           │    ./observer-validator.ts, which follows PublicMessage groups and enforces the policy)
 *           └─ AffiliationSync (the hub's Remove proposals)     store: DsStore   identity: DsIdentity
 *
 * Nothing here touches the network directly: every stanza goes through the {@link XmppPort}.
 * @module
 */
import type { CryptoProvider } from "../crypto/cipher-suite.js";
import { XmppProtocolError } from "../xmpp/errors.js";
import { AffiliationSync } from "./affiliation-sync.js";
import { reject, type CommitValidator } from "./commit-validator.js";
import type { GatewayConfig } from "./config.js";
import { ClaimLedger, Delivery } from "./delivery.js";
import type { DsIdentity } from "./ds-identity.js";
import { RemoteError, type XmppPort } from "./entity.js";
import { KeyDirectory, type ValidateKeyPackage } from "./key-directory.js";
import { createKeyPackageValidator, withPublishHints, type PublishHints } from "./kp-validator.js";
import { RequestLimits } from "./limits.js";
import type { Logger } from "./log.js";
import { affiliationAtLeast, MucRooms, type Affiliation } from "./muc.js";
import type { AffiliationSource } from "./observer-policy.js";
import { createObserverValidator, type ObserverValidator } from "./observer-validator.js";
import { Sequencer } from "./sequencer.js";
import type { DsStore, GroupRecord } from "./store/types.js";
import { bareOf } from "./store/validate.js";

export interface DsServices {
  readonly config: GatewayConfig;
  /** The DS JID (config `domain`). */
  readonly domain: string;
  readonly store: DsStore;
  readonly logger: Logger;
  readonly xmpp: XmppPort;
  readonly provider: CryptoProvider;
  readonly identity: DsIdentity;
  readonly limits: RequestLimits;
  readonly directory: KeyDirectory;
  /** The attributes of each publish in flight, keyed by its payload (see {@link withPublishHints}). */
  readonly publishHints: WeakMap<Uint8Array, PublishHints>;
  readonly muc: MucRooms;
  readonly delivery: Delivery;
  readonly sequencer: Sequencer;
  readonly validator: CommitValidator;
  /** The observer when it is the validator (the default), else null. */
  readonly observer: ObserverValidator | null;
  /** The hub's Remove proposals for accounts that left a room (the default affiliationRevoked hook). */
  readonly affiliationSync: AffiliationSync;
  /** ms since 1970. */
  readonly now: () => number;
}

export interface ServicesInput {
  readonly config: GatewayConfig;
  readonly store: DsStore;
  readonly logger: Logger;
  readonly xmpp: XmppPort;
  readonly provider: CryptoProvider;
  readonly identity: DsIdentity;
  /**
   * Default: the observer ({@link createObserverValidator}): validation and policy for groups with
   * PublicMessage handshakes, sequencing only (framing checks) for PrivateMessage ones.
   */
  readonly validator?: CommitValidator;
  /** Default: the MLS engine with the configured suites ({@link createKeyPackageValidator}). */
  readonly validateKeyPackage?: ValidateKeyPackage;
  /** ms since 1970. Default `Date.now`. */
  readonly now?: () => number;
  /** MUC nick of the DS. Default `mls-ds`. */
  readonly nick?: string;
  /** Timeout of room joins, ms. */
  readonly joinTimeoutMs?: number;
}

export function createServices(input: ServicesInput): DsServices {
  const { config, store, logger, xmpp, provider, identity } = input;
  const now = input.now ?? Date.now;
  const domain = config.domain;
  const limits = new RequestLimits(config.limits, { now });
  const base =
    input.validateKeyPackage ??
    createKeyPackageValidator({ provider, cipherSuites: config.limits.cipherSuites, now: () => Math.floor(now() / 1000) });
  const { validate, hints: publishHints } = withPublishHints(base);
  const directory = new KeyDirectory({
    store,
    validateKeyPackage: validate,
    allowedCipherSuites: config.limits.cipherSuites,
    maxKeyPackagesPerDevice: config.limits.maxKeyPackagesPerDevice,
    lowWaterMark: config.limits.keyPackageLowWater,
    rateLimiter: limits.directoryLimiter,
    now,
  });
  const muc = new MucRooms({
    xmpp, domain, logger,
    ...(input.nick !== undefined && { nick: input.nick }),
    ...(input.joinTimeoutMs !== undefined && { joinTimeoutMs: input.joinTimeoutMs }),
  });
  const delivery = new Delivery({ xmpp, muc, store, domain, logger, claims: new ClaimLedger({ now }) });
  const affiliations: AffiliationSource = {
    affiliationOf: (room, jid) => affiliationOf(muc, room, jid),
    refresh: (room) => muc.invalidate(room),
  };
  // The observer and the sync refer to each other through these callbacks (the sync needs the sequencer).
  let sync: AffiliationSync | undefined;
  const observer =
    input.validator === undefined
      ? createObserverValidator({
          store, provider, identity, logger, now, affiliations,
          onCommitApplied: (group) => sync?.afterCommit(group),
          onViewRebuilt: (group, view) => sync?.reconcileLater(group, view),
        })
      : null;
  const validator = input.validator ?? observer!;
  const sequencer = new Sequencer({
    store, validator, delivery, domain, logger, now,
    // XEP "Affiliations Are Authoritative": re-read the affiliations before a commit adds members.
    checkAdded: async (group, added) => {
      muc.invalidate(group.roomJid);
      for (const jid of new Set(added.map((a) => bareOf(a.jid).toLowerCase()))) {
        const a = await affiliationOf(muc, group.roomJid, jid);
        if (!affiliationAtLeast(a, "member")) return reject("not-affiliated", `${jid} is not a member of the room`, "policy");
      }
      return undefined;
    },
  });
  const affiliationSync = new AffiliationSync({
    store, sequencer, identity, provider, domain, logger, affiliations, now,
    ...(observer !== null && { viewOf: (g: GroupRecord) => observer.viewOf(g) }),
  });
  sync = affiliationSync;
  return Object.freeze({ config, domain, store, logger, xmpp, provider, identity, limits, directory, publishHints, muc, delivery, sequencer, validator, observer, affiliationSync, now });
}

/** The group with this hex id. @throws `ds.unknown_group` */
export function requireGroup(s: DsServices, groupId: string): GroupRecord {
  const g = s.store.findGroup(groupId);
  if (g === undefined) throw new XmppProtocolError("ds.unknown_group", "the group is not bound at this DS");
  return g;
}

/** The requester's affiliation in `room`; a room that will not answer is a room-config problem. */
export function affiliationIn(s: DsServices, room: string, jid: string): Promise<Affiliation> {
  return affiliationOf(s.muc, room, jid);
}

async function affiliationOf(muc: MucRooms, room: string, jid: string): Promise<Affiliation> {
  try {
    return await muc.affiliationOf(room, jid);
  } catch (e) {
    if (e instanceof RemoteError) {
      throw new XmppProtocolError("ds.room_not_configured", `the affiliations of ${room} cannot be read (${e.condition})`, { cause: e });
    }
    throw e;
  }
}

/** XEP "not member": the requester's account must be member, admin or owner of the group's room. */
export async function requireMember(s: DsServices, group: GroupRecord, from: string): Promise<Affiliation> {
  // Being an occupant keeps the affiliation view current (the room broadcasts changes to us);
  // this also brings the DS back into a bound room it is not in (e.g. after a restart).
  await s.muc.ensureJoined(group.roomJid).catch((e: unknown) => s.logger.warn("cannot join a bound room", { room: group.roomJid, error: e }));
  const a = await affiliationIn(s, group.roomJid, from);
  if (!affiliationAtLeast(a, "member")) throw new XmppProtocolError("ds.not_member", "the requester is not a member of the group's room");
  return a;
}
