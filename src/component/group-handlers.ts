/**
 * Binding rooms to groups and publishing GroupInfo (XEP "Registering a Group", "GroupInfo
 * Publication"):
 *
 *   set <create group room><group-info>b64</group-info></create>
 *     1. the room is on one of this DS's MUC services and the requester is one of its owners
 *     2. the room is members-only, persistent, non-anonymous and archived; the DS is its admin
 *     3. neither group nor room is bound yet
 *     4-7. the GroupInfo ({@link checkRegistrationGroupInfo})
 *     → the DS joins the room, stores the group, tells the CommitValidator; empty result
 *   get <group-info group=…/> | <group-info room=…/>  → <group-info group room epoch>b64</group-info>
 *     readable by room members (policy `groupInfoReadableBy: members`) or by anyone.
 * @module
 */
import { fromHex, toHex } from "../util/bytes.js";
import { XmppProtocolError } from "../xmpp/errors.js";
import { buildGroupInfoResult, parseCreate, parseGroupInfoRequest } from "../xmpp/group-stanzas.js";
import { NS_MAM, NS_MLS } from "../xmpp/ns.js";
import type { Element } from "../xmpp/xml.js";
import { RemoteError } from "./entity.js";
import { checkRegistrationGroupInfo } from "./group-info-check.js";
import type { IqRequest, Router } from "./router.js";
import { requireMember, type DsServices } from "./services.js";
import type { GroupRecord } from "./store/types.js";
import { bareOf } from "./store/validate.js";

/** disco#info features a bound room must show (XEP "Room Requirements"). */
export const REQUIRED_ROOM_FEATURES = ["muc_membersonly", "muc_persistent", "muc_nonanonymous", NS_MAM] as const;

export interface GroupHandlerOptions {
  /** Accept registrations of existing groups (epoch > 0, several members). Default false (XEP check 5). */
  readonly allowExistingGroups?: boolean;
}

export function registerGroups(router: Router, s: DsServices, options: GroupHandlerOptions = {}): void {
  router.set(NS_MLS, "create", (req) => create(s, req, options));
  router.get(NS_MLS, "group-info", (req) => groupInfo(s, req));
}

function roomConfigError(room: string, why: string, cause?: unknown): XmppProtocolError {
  return new XmppProtocolError("ds.room_not_configured", `${room}: ${why}`, cause === undefined ? {} : { cause });
}

/** Ask the room; a refusal or silence means the DS lacks the rights it needs there. */
async function ask<T>(room: string, what: string, q: () => Promise<T>): Promise<T> {
  try {
    return await q();
  } catch (e) {
    if (e instanceof RemoteError) throw roomConfigError(room, `the room does not let the DS read its ${what} (${e.condition}); grant the DS the admin affiliation`, e);
    throw e;
  }
}

async function create(s: DsServices, req: IqRequest, options: GroupHandlerOptions): Promise<void> {
  const c = parseCreate(req.element, s.limits.parseLimits);
  const room = c.room.toLowerCase();
  const groupId = toHex(c.group);
  const requester = bareOf(req.from).toLowerCase();

  // Check 1: a room of our server, owned by the requester.
  const service = room.slice(room.indexOf("@") + 1);
  if (!s.config.mucServices.includes(service)) throw new XmppProtocolError("ds.not_owner", "the room is not hosted by a MUC service of this DS");
  const owners = await ask(room, "owner list", () => s.muc.affiliationList(room, "owner"));
  if (!owners.includes(requester)) throw new XmppProtocolError("ds.not_owner", "only an owner of the room may bind it");

  // Check 2: room configuration, and the DS is admin (or owner).
  const features = await ask(room, "configuration", () => s.muc.roomFeatures(room));
  const missing = REQUIRED_ROOM_FEATURES.filter((f) => !features.has(f));
  if (missing.length > 0) throw roomConfigError(room, `the room lacks ${missing.join(", ")}`);
  const admins = await ask(room, "admin list", () => s.muc.affiliationList(room, "admin"));
  if (!admins.includes(s.domain) && !owners.includes(s.domain)) throw roomConfigError(room, "the DS does not have the admin affiliation");

  // Check 3.
  if (s.store.findGroup(groupId) !== undefined || s.store.findGroupByRoom(room) !== undefined) {
    throw new XmppProtocolError("ds.group_exists", "the group or the room is already bound");
  }

  // Checks 4-7.
  const gi = checkRegistrationGroupInfo(c.groupInfo, {
    groupId, room, domain: s.domain, requester: req.from,
    allowedCipherSuites: s.config.limits.cipherSuites, provider: s.provider, identity: s.identity,
    requireFresh: !(options.allowExistingGroups ?? false),
  });

  try {
    await s.muc.ensureJoined(room);
  } catch (e) {
    if (e instanceof RemoteError) throw roomConfigError(room, `the DS cannot join the room (${e.condition})`, e);
    throw e;
  }
  const { policy } = s.config;
  const group = s.store.createGroup({
    groupId,
    roomJid: room,
    policy: { whoMayAdd: policy.whoMayAdd, whoMayRemove: policy.whoMayRemove, allowExternalJoin: policy.allowExternalJoin, groupInfoReadableBy: policy.groupInfoReadableBy },
    createdBy: req.from,
    epoch: gi.epoch,
    handshakeWireFormat: policy.handshakeWireFormat,
    createdAt: s.now(),
    groupInfo: c.groupInfo,
    externalSenders: gi.externalSenders,
  });
  s.logger.info("group registered", { group: groupId, room, by: req.from, epoch: gi.epoch, cipherSuite: gi.cipherSuite });
  try {
    await s.validator.groupCreated?.(group, c.groupInfo);
  } catch (e) {
    s.logger.error("the commit validator failed to take the new group", { group: groupId, error: e });
  }
}

async function groupInfo(s: DsServices, req: IqRequest): Promise<Element> {
  const q = parseGroupInfoRequest(req.element, s.limits.parseLimits);
  const group: GroupRecord | undefined = "group" in q ? s.store.findGroup(toHex(q.group)) : s.store.findGroupByRoom(q.room.toLowerCase());
  if (group === undefined) throw new XmppProtocolError("ds.unknown_group", "the group or room is not bound at this DS");
  if (group.policy.groupInfoReadableBy === "members") await requireMember(s, group, req.from);
  const gi = s.store.getGroupInfo(group.groupId);
  if (gi === undefined) throw new XmppProtocolError("ds.item_not_found", "no GroupInfo is stored for this group");
  return buildGroupInfoResult({ group: fromHex(group.groupId), room: group.roomJid, epoch: gi.epoch, groupInfo: gi.bytes }, s.limits.parseLimits);
}
