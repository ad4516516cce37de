/**
 * Acceptance: messaging in one MLS room over a real server, the real DS gateway and real clients.
 * - three users exchange messages in every direction;
 * - a member offline during two Commits and ten messages catches up and reads exactly those ten,
 *   in order; one offline during 150 messages reads all of them, in order;
 * - a user with two devices gets both added, and both read (and send) messages.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { describeEachServer } from "../servers/context.js";
import { uniqueId } from "../servers/stanzas.js";
import type { ServerInfo } from "../servers/types.js";
import { converge, errorsOf, gatewayErrors, roomWith, scenario, threeDevices, waitEvent, type Dev } from "./helpers/acceptance.js";

describeEachServer("acceptance: messaging", (server: ServerInfo) => {
  const h = scenario(server);
  const room = `${uniqueId("acc-msg")}@${server.mucDomain}`;
  const jid = (u: string): string => `${u}@${server.domain}`;
  let alice: Dev, bob: Dev, carol: Dev;

  beforeAll(async () => {
    await h.startGateway();
    [alice, bob, carol] = await threeDevices(h);
    const invited = await roomWith(h, room, alice, [bob, carol]);
    expect(invited.map((r) => r.added.map((a) => a.jid))).toEqual([[jid("bob")], [jid("carol")]]);
  });

  describe("three users in one room", () => {
    it("every member's message is read by each of the other two, never by its sender", async () => {
      const all = [alice, bob, carol];
      const sent = new Map<Dev, string>();
      for (const d of all) {
        const text = `from ${d.user} ${uniqueId("m")}`;
        sent.set(d, text);
        const s = await d.mls.sendText(room, text);
        expect(s.epoch).toBe(2n);
      }
      for (const sender of all) {
        const text = sent.get(sender)!;
        for (const receiver of all.filter((x) => x !== sender)) {
          const m = await waitEvent(receiver, "message", (x) => x.text === text, `${receiver.name} reads ${sender.user}'s message`);
          expect(m.from).toBe(jid(sender.user));
          expect(m.device).toBe(sender.resource);
          expect(m.room).toBe(room);
          expect(m.epoch).toBe(2n);
          expect(m.delayed).toBe(false);
        }
      }
      // Each receiver got each message exactly once, and nobody decrypted their own.
      for (const d of all) {
        const texts = (d.events.message ?? []).map((m) => m.text);
        const expected = all.filter((x) => x !== d).map((x) => sent.get(x)!);
        expect([...texts].sort()).toEqual([...expected].sort());
      }
      expect(new Set(all.map((d) => d.mls.verificationCode(room))).size).toBe(1);
    });
  });

  describe("carol offline during two commits and ten messages", () => {
    it("catches up on reconnect and reads exactly the ten messages, in order", async () => {
      const start = alice.mls.epoch(room);
      const before = (carol.events.message ?? []).length;
      await h.offline(carol);
      const texts: string[] = [];
      const epochs: bigint[] = [];
      // Alternate senders; each message is seen by the other sender before the next is sent, so
      // the room's order is the order of this list.
      const send = async (i: number): Promise<void> => {
        const [from, to] = i % 2 === 0 ? [alice, bob] : [bob, alice];
        const text = `while carol is away #${i} ${uniqueId("t")}`;
        const s = await from.mls.sendText(room, text);
        texts.push(text);
        epochs.push(s.epoch);
        await waitEvent(to, "message", (x) => x.text === text, `${to.name} reads #${i}`);
      };
      for (let i = 0; i < 4; i++) await send(i);
      const e1 = await alice.mls.updateKeys(room);
      await converge([alice, bob], room, e1);
      for (let i = 4; i < 7; i++) await send(i);
      const e2 = await bob.mls.updateKeys(room);
      await converge([alice, bob], room, e2);
      for (let i = 7; i < 10; i++) await send(i);
      expect([e1, e2]).toEqual([start + 1n, start + 2n]);
      expect(epochs).toEqual([...Array(4).fill(start), ...Array(3).fill(start + 1n), ...Array(3).fill(start + 2n)]);

      await h.online(carol);
      await waitEvent(carol, "message", (x) => x.text === texts[9], "carol reads the last message");
      await new Promise((r) => setTimeout(r, 300)); // anything duplicated would arrive meanwhile
      const got = (carol.events.message ?? []).slice(before);
      expect(got.map((m) => m.text)).toEqual(texts);
      expect(got.map((m) => m.epoch)).toEqual(epochs);
      expect(got.map((m) => m.from)).toEqual(texts.map((_, i) => jid(i % 2 === 0 ? "alice" : "bob")));
      expect(got.every((m) => m.delayed)).toBe(true);
      // Both Commits were applied: same epoch and verification code as the others.
      expect(carol.mls.epoch(room)).toBe(start + 2n);
      expect(carol.mls.verificationCode(room)).toBe(alice.mls.verificationCode(room));
      const updates = (carol.events.membership ?? []).filter((m) => m.epoch > start).map((m) => [m.epoch, m.updated.map((u) => u.jid)]);
      expect(updates).toEqual([[start + 1n, [jid("alice")]], [start + 2n, [jid("bob")]]]);
      // And carol can talk again.
      const back = `carol is back ${uniqueId("b")}`;
      await carol.mls.sendText(room, back);
      await waitEvent(alice, "message", (x) => x.text === back, "alice reads carol");
    });
  });

  describe("carol offline during 150 messages of one epoch", () => {
    it("reads all 150 on reconnect, in order, once each (the archive decrypted in runs, signatures in batches)", async () => {
      const epoch = alice.mls.epoch(room);
      const before = (carol.events.message ?? []).length;
      await h.offline(carol);
      const texts = Array.from({ length: 150 }, (_, i) => `backlog #${i} ${uniqueId("k")}`);
      for (const t of texts) await alice.mls.sendText(room, t);
      await waitEvent(bob, "message", (x) => x.text === texts[149], "bob reads the last of the backlog");

      await h.online(carol);
      await waitEvent(carol, "message", (x) => x.text === texts[149], "carol reads the last of the backlog");
      await new Promise((r) => setTimeout(r, 300)); // anything duplicated would arrive meanwhile
      const got = (carol.events.message ?? []).slice(before);
      expect(got.map((m) => m.text)).toEqual(texts);
      expect(got.every((m) => m.delayed && m.epoch === epoch && m.from === jid("alice"))).toBe(true);
      expect(errorsOf(carol, room)).toEqual([]);
    });
  });

  describe("a user with two devices", () => {
    let tablet: Dev, watch: Dev;

    it("one invite adds both devices", async () => {
      [tablet, watch] = await Promise.all([h.device("dave", "tablet"), h.device("dave", "watch")]);
      const before = alice.mls.epoch(room);
      const r = await alice.mls.invite(room, jid("dave"));
      expect(r.added.map((a) => a.identity).sort()).toEqual([`${jid("dave")}/tablet`, `${jid("dave")}/watch`]);
      expect(r.epoch).toBe(before + 1n);
      for (const d of [tablet, watch]) {
        const j = await waitEvent(d, "joined", (x) => x.room === room, `${d.name} joined`);
        expect(j.epoch).toBe(before + 1n);
        expect(j.members.map((m) => m.identity).sort()).toEqual(
          [alice, bob, carol, tablet, watch].map((x) => x.mls.identity!).sort(),
        );
      }
      const bobSees = await waitEvent(bob, "membership", (m) => m.added.some((a) => a.jid === jid("dave")), "bob sees dave added");
      expect(bobSees.added.map((a) => a.device).sort()).toEqual(["tablet", "watch"]);
      await converge([alice, bob, carol, tablet, watch], room, before + 1n);
      expect(new Set([alice, bob, carol, tablet, watch].map((d) => d.mls.verificationCode(room))).size).toBe(1);
    });

    it("both devices read messages, and each reads what the other sends", async () => {
      const fromAlice = `to both of dave's devices ${uniqueId("x")}`;
      await alice.mls.sendText(room, fromAlice);
      for (const d of [tablet, watch]) {
        const m = await waitEvent(d, "message", (x) => x.text === fromAlice, `${d.name} reads alice`);
        expect(m.from).toBe(jid("alice"));
      }
      for (const [from, other] of [[tablet, watch], [watch, tablet]] as const) {
        const text = `dave on the ${from.resource} ${uniqueId("y")}`;
        await from.mls.sendText(room, text);
        const m = await waitEvent(other, "message", (x) => x.text === text, `${other.name} reads ${from.name}`);
        expect([m.from, m.device]).toEqual([jid("dave"), from.resource]);
        for (const d of [alice, bob, carol]) await waitEvent(d, "message", (x) => x.text === text, `${d.name} reads ${from.name}`);
      }
    });

    it("no device reported an error and the gateway logged none", () => {
      for (const d of h.devices) expect(errorsOf(d, room), d.name).toEqual([]);
      expect(gatewayErrors(h.gatewayLog)).toEqual([]);
    });
  });
});
