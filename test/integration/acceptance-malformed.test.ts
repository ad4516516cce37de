/**
 * Acceptance: malformed input to the Delivery Service over the real server.
 *
 * Alice's own connection (a room owner and group member) sends bad `<submit/>`s: malformed
 * base64, a truncated MLS message, bit flips (in the epoch field and in the signature), a wrong
 * group (unknown, and another bound group), stanzas above the DS's limits (but below the server's
 * 8 MiB stanza limit), and a replay of an accepted Commit. Each gets the error the XEP's table
 * names (condition, type, our application element) — the replay gets its original verdict — the
 * DS keeps answering normal requests after each, and its SQLite store (log, epochs, GroupInfo,
 * KeyPackages, Welcome routes) is byte-for-byte what it was.
 */
import { randomBytes } from "node:crypto";
import { beforeAll, expect, it } from "vitest";
import { createCommit } from "../../src/mls/group/commit-create.js";
import { decodeMlsMessage, encodeMlsMessage } from "../../src/mls/framing/mls-message.js";
import { wireFormats } from "../../src/mls/core/protocol.js";
import { fromHex, toHex } from "../../src/util/bytes.js";
import { buildLogRequest, parseLogResult } from "../../src/xmpp/log-stanzas.js";
import { NS_DISCO_INFO, NS_MLS } from "../../src/xmpp/ns.js";
import { parseAccepted } from "../../src/xmpp/submit-stanzas.js";
import { xml, type Element } from "../../src/xmpp/xml.js";
import { describeEachServer } from "../servers/context.js";
import { uniqueId } from "../servers/stanzas.js";
import type { ServerInfo } from "../servers/types.js";
import { converge, errorsOf, gatewayErrors, loadSavedState, savedStateAt, scenario, snapshotStore, stanzaError, waitEvent, type Dev } from "./helpers/acceptance.js";

const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64");

describeEachServer("acceptance: malformed input", (server: ServerInfo) => {
  const h = scenario(server);
  const room = `${uniqueId("acc-bad")}@${server.mucDomain}`;
  const other = `${uniqueId("acc-bad2")}@${server.mucDomain}`;
  const ds = server.componentDomain;
  let alice: Dev, bob: Dev;

  beforeAll(async () => {
    await h.startGateway();
    [alice, bob] = await Promise.all([h.device("alice", "laptop"), h.device("bob", "desktop")]);
    await alice.mls.createRoom(room);
    await alice.mls.invite(room, `bob@${server.domain}`);
    await waitEvent(bob, "joined", (j) => j.room === room, "bob joined");
    await alice.mls.createRoom(other);
  });

  const submit = (group: string, epoch: bigint | string, ...children: Element[]): Element => xml("submit", { xmlns: NS_MLS, group, epoch: String(epoch) }, ...children);
  const send = (payload: Element): Promise<Element> => alice.xmpp.iq(xml("iq", { type: "set", to: ds }, payload));

  /** A normal request answered correctly: the log of the room, as the store has it. */
  const healthy = async (): Promise<void> => {
    const res = await alice.xmpp.iq(xml("iq", { type: "get", to: ds }, buildLogRequest({ group: fromHex(alice.mls.groupId(room)), afterEpoch: 0n, rsm: { max: 100 } })));
    const log = parseLogResult(res.getChild("log", NS_MLS)!);
    expect(log.entries.map((e) => e.seq)).toEqual(snapshotStore(h.dbPath).log.filter((r) => r.group === alice.mls.groupId(room)).map((r) => r.seq));
    const disco = await alice.xmpp.iq(xml("iq", { type: "get", to: ds }, xml("query", { xmlns: NS_DISCO_INFO })));
    expect(disco.attrs.type).toBe("result");
  };

  it("a replayed Commit gets its original verdict and changes nothing", async () => {
    const epoch = await alice.mls.updateKeys(room);
    await converge([alice, bob], room, epoch);
    const req = alice.requests.filter((r) => r.name === "submit").at(-1)!;
    expect(req.accepted?.epoch).toBe(epoch);
    const before = snapshotStore(h.dbPath);
    const original = req.stanza.getChildElements()[0]!;
    const copy = xml(original.name, { ...original.attrs }, ...original.getChildElements().map((c) => xml(c.name, { ...c.attrs }, c.getText())));
    const res = await send(copy);
    expect(parseAccepted(res.getChild("accepted", NS_MLS)!)).toEqual(req.accepted);
    expect(snapshotStore(h.dbPath)).toEqual(before);
    // Not reflected again: bob saw one Commit for that epoch and is still in step.
    await new Promise((r) => setTimeout(r, 200));
    expect(bob.mls.epoch(room)).toBe(epoch);
    expect(errorsOf(bob, room)).toEqual([]);
    await healthy();
  });

  it("each malformed submission gets the XEP's error; the DS keeps serving; its store is intact", async () => {
    const group = alice.mls.groupId(room);
    const epoch = alice.mls.epoch(room);
    // A valid Commit for the current epoch, made from alice's saved state (never submitted as is).
    const saved = loadSavedState(await savedStateAt(alice, group, epoch));
    const created = await createCommit(saved, { forcePath: true });
    const good = encodeMlsMessage(created.commitMessage);
    const decoded = decodeMlsMessage(good);
    if (decoded.wireFormat !== wireFormats.mls_public_message) throw new Error("handshakes are PublicMessages in these rooms");
    const flip = (at: number): Uint8Array => {
      const b = good.slice();
      b[at]! ^= 0x01;
      return b;
    };
    // MLSMessage: version(2) wire_format(2) group_id<V> epoch(8) ...; group ids are < 64 octets (1-octet varint).
    const gid = decoded.publicMessage.content.groupId;
    expect(gid.length).toBeLessThan(64);
    const epochLastByte = 4 + 1 + gid.length + 7;
    const sig = decoded.publicMessage.auth.signature;
    const sigAt = Buffer.from(good).indexOf(Buffer.from(sig));
    expect(sigAt).toBeGreaterThan(0);
    const groupInfo = created.groupInfo === null ? [] : [xml("group-info", {}, b64(encodeMlsMessage(created.groupInfo)))];
    const commitEl = (bytes: Uint8Array | string): Element => xml("commit", {}, typeof bytes === "string" ? bytes : b64(bytes));
    const otherGroup = alice.mls.groupId(other);
    const limits = h.gateway!.services.limits;

    type Expected = { type: string; condition: string; app: unknown };
    const invalid = (reason: string): Expected => ({ type: "modify", condition: "bad-request", app: { name: "invalid-message", reason } });
    const cases: { name: string; payload: () => Element; want: Expected }[] = [
      { name: "malformed base64", payload: () => submit(group, epoch, commitEl("@@@ this is not base64 @@@")), want: { type: "modify", condition: "bad-request", app: undefined } },
      { name: "truncated MLS message", payload: () => submit(group, epoch, commitEl(good.slice(0, good.length - 10)), ...groupInfo), want: invalid("malformed") },
      { name: "bit flip in the epoch field", payload: () => submit(group, epoch, commitEl(flip(epochLastByte)), ...groupInfo), want: invalid("attribute-mismatch") },
      { name: "bit flip in the signature", payload: () => submit(group, epoch, commitEl(flip(sigAt + (sig.length >> 1))), ...groupInfo), want: invalid("verification-failed") },
      { name: "unknown group id", payload: () => submit(toHex(randomBytes(32)), epoch, commitEl(good)), want: { type: "cancel", condition: "item-not-found", app: { name: "unknown-group" } } },
      { name: "another bound group's id", payload: () => submit(otherGroup, 0n, commitEl(good)), want: invalid("wrong-group") },
      {
        name: "stanza above the DS's stanza limit",
        payload: () => submit(group, epoch, commitEl(randomBytes(limits.maxStanzaBytes))),
        want: { type: "modify", condition: "policy-violation", app: { name: "too-large", max: limits.maxStanzaBytes } },
      },
      {
        name: "payload above the DS's payload limit (stanza below the stanza limit)",
        payload: () => submit(group, epoch, commitEl(randomBytes(limits.maxPayloadBytes + 1024))),
        want: { type: "modify", condition: "policy-violation", app: { name: "too-large", max: limits.maxPayloadBytes } },
      },
    ];
    // The sizes are what the names say, and below the servers' 8 MiB stanza limit.
    expect(cases[6]!.payload().toString().length).toBeGreaterThan(limits.maxStanzaBytes);
    expect(cases[7]!.payload().toString().length).toBeLessThan(limits.maxStanzaBytes);

    const before = snapshotStore(h.dbPath);
    expect(before.log.length).toBeGreaterThan(0);
    expect(before.keyPackages.length).toBeGreaterThan(0);
    for (const c of cases) {
      const err = await stanzaError(send(c.payload()));
      expect({ type: err.type, condition: err.condition, app: err.app }, c.name).toEqual(c.want);
      await healthy();
    }
    expect(snapshotStore(h.dbPath)).toEqual(before);
    expect(alice.mls.epoch(room)).toBe(epoch);
    expect(bob.mls.epoch(room)).toBe(epoch);

    // The group goes on: a real Commit is accepted, reflected and applied; the store shows it.
    const next = await bob.mls.updateKeys(room);
    expect(next).toBe(epoch + 1n);
    await converge([alice, bob], room, next);
    expect(alice.mls.verificationCode(room)).toBe(bob.mls.verificationCode(room));
    const after = snapshotStore(h.dbPath);
    expect(after.log.length).toBe(before.log.length + 1);
    const text = `still talking ${uniqueId("t")}`;
    await alice.mls.sendText(room, text);
    await waitEvent(bob, "message", (m) => m.text === text, "bob reads alice");
  });

  it("no device reported an error and the gateway logged none", () => {
    for (const d of [alice, bob]) expect(errorsOf(d, room), d.name).toEqual([]);
    expect(gatewayErrors(h.gatewayLog)).toEqual([]);
  });
});
