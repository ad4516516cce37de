/**
 * Acceptance: an admin revoking room membership removes the account from the group.
 *
 * Alice (the owner) sets bob's affiliation to none with a plain XEP-0045 admin request — not the
 * plugin's remove(). The hub sees the change and proposes the removal of bob's leaf as the
 * group's external sender; the proposal is logged and reflected into the room by the hub's
 * occupant; a member commits it (the plugin does so after a short random delay); the other
 * members see bob removed "by the room service", his leaf is gone from every member's tree, and
 * he cannot read later messages (neither live nor with his last saved group state). When bob
 * reconnects he learns that he is out.
 */
import { beforeAll, expect, it } from "vitest";
import { XmppMlsError } from "../../src/errors.js";
import { processMessage } from "../../src/mls/group/process-message.js";
import { parseMlsMessageStanza } from "../../src/xmpp/delivery-stanzas.js";
import { NS_MLS } from "../../src/xmpp/ns.js";
import type { Element } from "../../src/xmpp/xml.js";
import { describeEachServer } from "../servers/context.js";
import { setAffiliation, uniqueId } from "../servers/stanzas.js";
import type { ServerInfo } from "../servers/types.js";
import { converge, errorsOf, gatewayErrors, loadSavedState, poll, savedStateAt, scenario, threeInRoom, waitEvent, type Dev } from "./helpers/acceptance.js";

describeEachServer("acceptance: affiliation revoked", (server: ServerInfo) => {
  const h = scenario(server);
  const room = `${uniqueId("acc-revoke")}@${server.mucDomain}`;
  const jid = (u: string): string => `${u}@${server.domain}`;
  let alice: Dev, bob: Dev, carol: Dev;

  beforeAll(async () => {
    [alice, bob, carol] = await threeInRoom(h, room);
  });

  const reflected = (d: Dev, kind: string): Element[] =>
    d.xmpp.received.filter((el) => el.is("message") && el.attrs.type === "groupchat" && el.getChild("mls", NS_MLS)?.attrs.kind === kind && el.attrs.from?.startsWith(`${room}/`) === true);

  it("the hub proposes bob's removal, a member commits it, his leaf is gone, and he cannot read what follows", async () => {
    const group = alice.mls.groupId(room);
    const saved = await savedStateAt(bob, group, 2n);
    const bobMessagesBefore = (bob.events.message ?? []).length;
    const proposalsBefore = reflected(carol, "proposal").length;

    // The owner revokes bob's membership in the room (XEP-0045 §10.6): nothing MLS-specific.
    await setAffiliation(alice.xmpp, room, jid("bob"), "none");

    // 1. The hub's Remove proposal, reflected into the room by the hub's occupant, for epoch 2.
    const proposal = await poll(() => reflected(carol, "proposal")[proposalsBefore], "the hub's proposal in the room");
    expect(proposal.attrs.from).toBe(`${room}/mls-ds`);
    const p = parseMlsMessageStanza(proposal).mls;
    expect([p.kind, p.epoch]).toEqual(["proposal", 2n]);
    // In the hub's log, with the hub as sender.
    const entries = h.gateway!.services.store.readLog(group, { afterEpoch: 2n, max: 100 }).entries;
    expect(entries.map((e) => [e.kind, e.sender, e.epoch])).toContainEqual(["proposal", server.componentDomain, 2n]);

    // 2. A member commits it; everybody else sees bob removed by the room service.
    await converge([alice, carol], room, 3n);
    for (const d of [alice, carol]) {
      const ev = await waitEvent(d, "membership", (m) => m.epoch === 3n, `${d.name} sees the removal commit`);
      expect(ev.removed.map((r) => [r.identity, r.byRoomService])).toEqual([[bob.mls.identity, true]]);
      expect(ev.added).toEqual([]);
      expect([alice.mls.identity, carol.mls.identity]).toContain(ev.committer.identity);
    }
    const commitEntry = h.gateway!.services.store.readLog(group, { afterEpoch: 2n, max: 100 }).entries.find((e) => e.kind === "commit" && e.epoch === 2n);
    expect(commitEntry).toBeDefined();
    expect([jid("alice"), jid("carol")]).toContain(commitEntry!.sender.split("/")[0]);

    // 3. Bob's leaf is gone from every remaining member's tree.
    for (const d of [alice, carol]) expect(d.mls.members(room).map((m) => m.jid).sort(), d.name).toEqual([jid("alice"), jid("carol")]);
    expect(alice.mls.verificationCode(room)).toBe(carol.mls.verificationCode(room));

    // 4. Later messages: carol reads them; bob's plugin reads none; his saved state decrypts none.
    const later: string[] = [];
    const ids: string[] = [];
    for (const [from, to] of [[alice, carol], [carol, alice]] as const) {
      const text = `after the revocation ${uniqueId("r")}`;
      const s = await from.mls.sendText(room, text);
      later.push(text);
      ids.push(s.id);
      await waitEvent(to, "message", (m) => m.text === text, `${to.name} reads it`);
    }
    expect((bob.events.message ?? []).slice(bobMessagesBefore).map((m) => m.text)).toEqual([]);
    const wire = ids.map((id) => {
      const el = [...alice.xmpp.received, ...carol.xmpp.received].find((x) => x.is("message") && x.getChild("origin-id", "urn:xmpp:sid:0")?.attrs.id === id);
      expect(el, "the message on the wire").toBeDefined();
      return parseMlsMessageStanza(el!).mls;
    });
    for (const m of wire) {
      expect(m.epoch).toBe(3n);
      const err = await processMessage(loadSavedState(saved), m.message).then(
        (r) => new Error(`decrypted (${r.kind}) with bob's saved state`),
        (e: unknown) => e,
      );
      expect(err, String(err)).toBeInstanceOf(XmppMlsError);
    }
  });

  it("bob, reconnecting, learns that he is no longer in the group", async () => {
    await h.offline(bob);
    await bob.xmpp.xmpp.start();
    const ev = await waitEvent(bob, "removed", (r) => r.room === room, "bob's removed event");
    expect(ev.epoch).toBeGreaterThanOrEqual(2n);
    await poll(() => bob.mls.rooms().length === 0, "bob's plugin dropping the room");
  });

  it("the members reported no error and the gateway logged none", () => {
    for (const d of [alice, carol]) expect(errorsOf(d, room), d.name).toEqual([]);
    expect(gatewayErrors(h.gatewayLog)).toEqual([]);
  });
});
