/**
 * Acceptance: a removed member cannot read what is sent after its removal.
 *
 * Bob's last saved group state is copied from his store before alice removes him. After the
 * removal alice and carol keep talking (and carol commits a self-update). Then:
 * - bob's connection tries to rejoin the room and read its archive. Prosody refuses both, and
 *   none of the later messages reaches his connection. ejabberd 23.01 lets him back in (it keeps a
 *   moderated room's old role by bare JID after the affiliation is gone), so his connection gets
 *   the later messages live and from the archive;
 * - every later message bob's connection could get hold of (live, archive) and every later message
 *   as the members received it on the wire fails to decrypt with bob's saved state, with a typed
 *   error, both before and after that state applies the Commit that removed him; a message of his
 *   last epoch that he had not read yet does decrypt with it (so the saved state is usable and
 *   the failures are due to the removal);
 * - carol reads them all.
 */
import { beforeAll, expect, it } from "vitest";
import { XmppMlsError } from "../../src/errors.js";
import { mergeStagedCommit } from "../../src/mls/group/staged-commit.js";
import { processMessage } from "../../src/mls/group/process-message.js";
import { parseMlsMessageStanza } from "../../src/xmpp/delivery-stanzas.js";
import { fromErrorElement } from "../../src/xmpp/errors.js";
import { NS_MLS } from "../../src/xmpp/ns.js";
import { parseEnvelope, envelopeBody } from "../../src/xmpp/sce.js";
import type { Element } from "../../src/xmpp/xml.js";
import { describeEachServer } from "../servers/context.js";
import { errorCondition, joinRoom, mamQuery, uniqueId } from "../servers/stanzas.js";
import type { ServerInfo } from "../servers/types.js";
import { converge, errorsOf, gatewayErrors, loadSavedState, savedStateAt, scenario, threeInRoom, waitEvent, type Dev } from "./helpers/acceptance.js";

describeEachServer("acceptance: removal", (server: ServerInfo) => {
  const h = scenario(server);
  const room = `${uniqueId("acc-rm")}@${server.mucDomain}`;
  const jid = (u: string): string => `${u}@${server.domain}`;
  let alice: Dev, bob: Dev, carol: Dev;

  beforeAll(async () => {
    [alice, bob, carol] = await threeInRoom(h, room);
  });

  /** The groupchat `<mls kind=application/>` stanza with this origin-id, as `d`'s connection received it. */
  const wireCopy = (d: Dev, originId: string): Element | undefined =>
    d.xmpp.received.find(
      (el) => el.is("message") && el.attrs.type === "groupchat" && el.getChild("mls", NS_MLS)?.attrs.kind === "application" && el.getChild("origin-id", "urn:xmpp:sid:0")?.attrs.id === originId,
    );

  it("bob, removed, cannot decrypt anything sent after his removal; carol reads it all", async () => {
    const group = alice.mls.groupId(room);
    // Bob's last saved group state (what a device keeps on disk), at the current epoch.
    const saved = await savedStateAt(bob, group, 2n);

    // Sent in bob's last epoch after the copy: the copy has not used its key yet.
    const control = `control ${uniqueId("c")}`;
    const controlSent = await alice.mls.sendText(room, control);
    await waitEvent(bob, "message", (m) => m.text === control, "bob reads the control message live");

    const removed = await alice.mls.remove(room, jid("bob"));
    expect(removed.map((r) => r.identity)).toEqual([bob.mls.identity]);
    const ev = await waitEvent(bob, "removed", (r) => r.room === room, "bob learns he was removed");
    expect(ev.epoch).toBe(3n);
    expect(bob.mls.rooms()).toEqual([]);
    await converge([alice, carol], room, 3n);

    // Bob's connection tries to get back into the room. Prosody refuses (members-only). ejabberd
    // 23.01 lets him in: with moderated rooms it keeps his old role by bare JID after the
    // affiliation is gone. Either way, whatever his connection gets is what he may try to decrypt.
    const bobReceivedBefore = bob.xmpp.received.length;
    const join = await joinRoom(bob.xmpp, room, "bob-again");
    const rejoined = join.attrs.type !== "error";
    if (!rejoined) expect(errorCondition(join)).toBe("registration-required");

    // After the removal: alice and carol talk, carol commits a self-update, alice talks again.
    const after: { text: string; id: string; from: Dev; reader: Dev }[] = [];
    const say = async (from: Dev, reader: Dev): Promise<void> => {
      const text = `after bob left ${after.length} ${uniqueId("s")}`;
      const s = await from.mls.sendText(room, text);
      after.push({ text, id: s.id, from, reader });
      await waitEvent(reader, "message", (m) => m.text === text, `${reader.name} reads "${text}"`);
    };
    await say(alice, carol);
    await say(carol, alice);
    await say(alice, carol);
    const e4 = await carol.mls.updateKeys(room);
    expect(e4).toBe(4n);
    await converge([alice, carol], room, 4n);
    await say(carol, alice);
    await say(alice, carol);

    // 1. What bob's connection received live from the room after his removal.
    const isApp = (el: Element): boolean => el.is("message") && el.attrs.type === "groupchat" && el.getChild("mls", NS_MLS)?.attrs.kind === "application";
    const live = bob.xmpp.received.slice(bobReceivedBefore).filter((el) => isApp(el) && el.attrs.from?.startsWith(`${room}/`) === true);
    // Refused: nothing reaches him. Let back in by the server: he gets the ciphertexts.
    const ids = new Set(after.map((a) => a.id));
    const liveAfter = live.filter((el) => ids.has(el.getChild("origin-id", "urn:xmpp:sid:0")?.attrs.id ?? ""));
    expect(liveAfter.length).toBe(rejoined ? after.length : 0);
    // 2. What the archive gives him (refused unless the server let him back in).
    const mam = await mamQuery(bob.xmpp, room).then(
      (r) => ({ ok: true as const, messages: r.messages }),
      (e: unknown) => ({ ok: false as const, error: e as { element?: Element } }),
    );
    const archived = mam.ok ? mam.messages.filter(isApp) : [];
    if (!mam.ok) {
      const el = mam.error.element;
      expect(el === undefined ? "no stanza error" : fromErrorElement(el).condition).toMatch(/^(forbidden|not-allowed|registration-required|not-authorized)$/);
    }
    expect(mam.ok).toBe(rejoined);

    // 3. The stanzas as the members received them (bob would have got the same bytes).
    const stanzas = after.map((a) => {
      const el = wireCopy(a.reader, a.id);
      expect(el, `${a.reader.name} received "${a.text}" on the wire`).toBeDefined();
      return el!;
    });
    expect(stanzas.map((el) => parseMlsMessageStanza(el).mls.epoch)).toEqual([3n, 3n, 3n, 4n, 4n]);
    // Everything bob could get hold of that was sent after his removal (epoch 3 and later).
    const payloads = [...stanzas, ...liveAfter, ...archived].map((el) => parseMlsMessageStanza(el).mls).filter((p) => p.epoch >= 3n);
    expect(payloads.length).toBe(after.length * (rejoined ? 3 : 1));

    // The saved state works: the control message of bob's last epoch decrypts with it.
    const controlWire = wireCopy(carol, controlSent.id)!;
    const state = loadSavedState(saved);
    const ok = await processMessage(state, parseMlsMessageStanza(controlWire).mls.message);
    expect(ok.kind).toBe("application");
    if (ok.kind === "application") expect(envelopeBody(parseEnvelope(ok.data))).toBe(control);

    // The Commit that removed bob, from the DS log as reflected to carol; bob's saved state applies it.
    const removal = carol.xmpp.received.find((el) => el.is("message") && el.getChild("mls", NS_MLS)?.attrs.kind === "commit" && el.getChild("mls", NS_MLS)?.attrs.epoch === "2");
    expect(removal, "the removal commit was reflected").toBeDefined();
    const base = loadSavedState(saved);
    const staged = await processMessage(base, parseMlsMessageStanza(removal!).mls.message);
    expect(staged.kind).toBe("commit");
    if (staged.kind !== "commit") return;
    expect(staged.staged.removedSelf).toBe(true);
    const afterRemoval = mergeStagedCommit(base, staged.staged);
    expect(afterRemoval.status.kind).toBe("removed");

    // 4. Every later message fails to decrypt, with a typed error, from either state.
    const failures: string[] = [];
    for (const [i, p] of payloads.entries()) {
      for (const [label, st] of [["saved", loadSavedState(saved)], ["after-removal", afterRemoval]] as const) {
        const err = await processMessage(st, p.message).then(
          (r) => new Error(`message ${i} decrypted (${r.kind}) with the ${label} state`),
          (e: unknown) => e,
        );
        expect(err, `message ${i} (${label}): ${String(err)}`).toBeInstanceOf(XmppMlsError);
        failures.push(`${label}:${(err as XmppMlsError).code}`);
      }
    }
    expect(failures).toHaveLength(2 * payloads.length);
    // Validation errors (the messages are for epochs bob's state never reaches), never a crash.
    for (const f of failures) expect(f).toMatch(/^(saved|after-removal):(valid|crypto)\./);

    // 5. Carol read everything alice sent after the removal; alice read carol's.
    for (const a of after) {
      const m = await waitEvent(a.reader, "message", (x) => x.text === a.text, `${a.reader.name} reads "${a.text}"`);
      expect(m.from).toBe(jid(a.from.user));
    }
    const carolRead = (carol.events.message ?? []).map((m) => m.text);
    for (const a of after.filter((x) => x.from === alice)) expect(carolRead).toContain(a.text);
  });

  it("no member reported an error and the gateway logged none", () => {
    for (const d of [alice, carol]) expect(errorsOf(d, room), d.name).toEqual([]);
    expect(gatewayErrors(h.gatewayLog)).toEqual([]);
  });
});
