/**
 * Binding a room to a group and publishing GroupInfo (XEP "Binding a Room to a Group",
 * "GroupInfo Publication"): `<create/>` and the three forms of `<group-info/>`.
 *
 *   create      <create group room><group-info>b64</group-info></create>     (iq set)
 *   request     <group-info group=…/>  or  <group-info room=…/>              (iq get)
 *   result      <group-info group room epoch>b64 MLSMessage(GroupInfo)</group-info>
 *   in submit   <group-info>b64</group-info>                                 (see submit-stanzas)
 * @module
 */
import { UsageError } from "../errors.js";
import { XmppProtocolError } from "./errors.js";
import { assertJid, jidAttr } from "./jid.js";
import { NS_MLS } from "./ns.js";
import {
  b64, checkOutgoing, childElements, epochAttr, expectElement, expectEmpty, groupIdAttr, hex, limitsOf,
  optionalAttr, payloadText, type Limits,
} from "./values.js";
import { Element, xml } from "./xml.js";

export function assertGroupId(group: Uint8Array, limits?: Partial<Limits>): void {
  const max = limitsOf(limits).maxGroupIdBytes;
  if (group.length < 1 || group.length > max) throw new UsageError("usage.bad_group_id", `"group" must be 1..${max} octets, got ${group.length}`);
}

export function assertEpoch(epoch: bigint, what = "epoch"): void {
  if (epoch < 0n || epoch >= 1n << 64n) throw new UsageError("usage.bad_epoch", `"${what}" must be 0..2^64-1`);
}

/** A payload-only child (`<group-info>` in create/submit, `<commit>`, `<welcome>`, `<proposal>` in submit). */
export function buildPayloadChild(name: string, bytes: Uint8Array, limits?: Partial<Limits>): Element {
  checkOutgoing(bytes, name, limitsOf(limits));
  return xml(name, { xmlns: NS_MLS }, b64(bytes));
}

export function parsePayloadChild(el: Element, name: string, limits: Limits): Uint8Array {
  expectElement(el, name);
  const extra = Object.keys(el.attrs).filter((a) => a !== "xmlns");
  if (extra.length > 0) throw new XmppProtocolError("xmpp.bad_attribute", `<${name}/> inside its parent takes no attributes, got ${extra.join(", ")}`);
  return payloadText(el, limits);
}

/** `<create group room><group-info>…</group-info></create>` */
export interface CreateGroup {
  readonly group: Uint8Array;
  /** Bare JID of the MUC room being bound. */
  readonly room: string;
  /** MLSMessage(GroupInfo) for epoch 0, signed by the creator. */
  readonly groupInfo: Uint8Array;
}

/** XEP example "Owner binds the room to a new group". */
export function buildCreate(v: CreateGroup, limits?: Partial<Limits>): Element {
  assertGroupId(v.group, limits);
  assertJid(v.room, "user", "room");
  return xml("create", { xmlns: NS_MLS, group: hex(v.group), room: v.room }, buildPayloadChild("group-info", v.groupInfo, limits));
}

export function parseCreate(el: Element, limits?: Partial<Limits>): CreateGroup {
  expectElement(el, "create");
  const lim = limitsOf(limits);
  const group = groupIdAttr(el, lim);
  const room = jidAttr(el, "room", "user");
  const kids = childElements(el, ["group-info"]);
  if (kids.length !== 1) throw new XmppProtocolError("xmpp.malformed", "<create/> must contain exactly one <group-info/>");
  return { group, room, groupInfo: parsePayloadChild(kids[0]!, "group-info", lim) };
}

/** GroupInfo lookup: by group id, or by room when the client does not know the group yet. */
export type GroupInfoRequest = { readonly group: Uint8Array } | { readonly room: string };

/** XEP example "Requesting the current GroupInfo". */
export function buildGroupInfoRequest(v: GroupInfoRequest): Element {
  if ("group" in v) {
    assertGroupId(v.group);
    return xml("group-info", { xmlns: NS_MLS, group: hex(v.group) });
  }
  assertJid(v.room, "user", "room");
  return xml("group-info", { xmlns: NS_MLS, room: v.room });
}

export function parseGroupInfoRequest(el: Element, limits?: Partial<Limits>): GroupInfoRequest {
  expectElement(el, "group-info");
  expectEmpty(el);
  const hasGroup = optionalAttr(el, "group") !== undefined;
  const hasRoom = optionalAttr(el, "room") !== undefined;
  if (hasGroup === hasRoom) throw new XmppProtocolError("xmpp.malformed", "a GroupInfo request names exactly one of 'group' or 'room'");
  if (optionalAttr(el, "epoch") !== undefined) throw new XmppProtocolError("xmpp.bad_attribute", "a GroupInfo request has no 'epoch'");
  return hasGroup ? { group: groupIdAttr(el, limitsOf(limits)) } : { room: jidAttr(el, "room", "user") };
}

/** `<group-info group room epoch>b64</group-info>` */
export interface GroupInfoResult {
  readonly group: Uint8Array;
  readonly room: string;
  readonly epoch: bigint;
  readonly groupInfo: Uint8Array;
}

/** XEP example "The DS returns the GroupInfo of the current epoch". */
export function buildGroupInfoResult(v: GroupInfoResult, limits?: Partial<Limits>): Element {
  assertGroupId(v.group, limits);
  assertJid(v.room, "user", "room");
  assertEpoch(v.epoch);
  checkOutgoing(v.groupInfo, "group-info", limitsOf(limits));
  return xml("group-info", { xmlns: NS_MLS, group: hex(v.group), room: v.room, epoch: v.epoch.toString() }, b64(v.groupInfo));
}

export function parseGroupInfoResult(el: Element, limits?: Partial<Limits>): GroupInfoResult {
  expectElement(el, "group-info");
  const lim = limitsOf(limits);
  return {
    group: groupIdAttr(el, lim),
    room: jidAttr(el, "room", "user"),
    epoch: epochAttr(el),
    groupInfo: payloadText(el, lim),
  };
}
