/** Shared steps of the gateway unit tests: accounts, publishing, registering a group, reading replies. */
import { expect } from "vitest";
import type { StoredBlob } from "../../../src/component/store/types.js";
import { toHex } from "../../../src/util/bytes.js";
import { findErrorElement, fromErrorElement, type XmppProtocolError } from "../../../src/xmpp/errors.js";
import { buildCreate } from "../../../src/xmpp/group-stanzas.js";
import { buildKeyPackagePublish } from "../../../src/xmpp/key-package-stanzas.js";
import { xml, type Element } from "../../../src/xmpp/xml.js";
import { DOMAIN, type TestGateway } from "./fake-network.js";
import { makeGroupInfo, makeKeyPackage, type TestKeyPackage } from "./mls-fixtures.js";

export const ALICE = "alice@example.org";
export const ALICE_PHONE = `${ALICE}/phone`;
export const BOB = "bob@example.org";
export const BOB_DESKTOP = `${BOB}/desktop`;
export const BOB_PHONE = `${BOB}/phone`;
export const CAROL = "carol@example.org";
export const CAROL_LAPTOP = `${CAROL}/laptop`;

/** The `<error/>` of an error reply, read back as a typed error. */
export function errorOf(reply: Element): XmppProtocolError {
  expect(reply.attrs.type, `expected an error reply, got ${reply.toString().slice(0, 300)}`).toBe("error");
  const el = findErrorElement(reply);
  expect(el).toBeDefined();
  return fromErrorElement(el!);
}

/** Expect a result reply and return its child (if any). */
export function resultOf(reply: Element): Element | undefined {
  expect(reply.attrs.type, `expected a result, got ${reply.toString().slice(0, 400)}`).toBe("result");
  expect(reply.attrs.from).toBe(DOMAIN);
  return reply.getChildElements()[0];
}

/** The `<pubsub/>` publishing `kp` for `device`. */
export function publishElement(kp: TestKeyPackage, owner: string, device: string, lastResort = false): Element {
  return buildKeyPackagePublish({ owner, ref: kp.ref, keyPackage: { device, cipherSuite: 1, lastResort, keyPackage: kp.message } });
}

/** Publish a fresh KeyPackage of `owner/device`; expects success. */
export async function publish(t: TestGateway, owner: string, device: string, o: { lastResort?: boolean } = {}): Promise<TestKeyPackage> {
  const kp = await makeKeyPackage(`${owner}/${device}`, o.lastResort === true ? { lastResort: true } : {});
  const reply = await t.net.iq(`${owner}/${device}`, "set", publishElement(kp, owner, device, o.lastResort ?? false));
  resultOf(reply);
  return kp;
}

export interface RegisteredGroup {
  readonly room: string;
  readonly groupId: Uint8Array;
  readonly groupIdHex: string;
  readonly creator: TestKeyPackage;
}

/** A room owned by alice (DS admin), and a group bound to it by alice's phone. Bob is a member. */
export async function registerGroup(t: TestGateway, local = "room"): Promise<RegisteredGroup> {
  const room = t.net.addRoom(local, ALICE).jid;
  t.net.setAffiliation(room, BOB, "member");
  const creator = await makeKeyPackage(ALICE_PHONE);
  const gi = makeGroupInfo(creator, { room, ds: DOMAIN, identity: t.identity });
  const reply = await t.net.iq(ALICE_PHONE, "set", buildCreate({ group: gi.groupId, room, groupInfo: gi.bytes }));
  expect(reply.attrs.type, reply.toString().slice(0, 400)).toBe("result");
  return { room, groupId: gi.groupId, groupIdHex: toHex(gi.groupId), creator };
}

/** A comparable snapshot of everything the store holds. */
export function snapshot(t: TestGateway): string[] {
  return [...t.store.scanBlobs()].map((b: StoredBlob) => `${b.location}|${b.key}|${toHex(b.bytes)}`).sort();
}

/** An iq wrapper for a raw child element. */
export function iqOf(from: string, type: "get" | "set", child: Element, attrs: Record<string, string> = {}): Element {
  return xml("iq", { type, from, to: DOMAIN, ...attrs }, child);
}
