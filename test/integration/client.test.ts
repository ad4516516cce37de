/**
 * The client plugin end to end: real Prosody / ejabberd, the DS gateway in-process (over
 * XEP-0114), three users. Alice creates a bound room, invites Bob and Carol, everybody talks;
 * then removal, offline catch-up and concurrent Commits.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { client, type Client } from "@xmpp/client";
import { xml, type Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileStore, mls, setupMls, type ClientStore, type MlsClient, type MlsPluginOptions } from "../../src/client/index.js";
import { MemoryStore } from "../../src/client/store/client-store.js";
import { startGateway, type Gateway } from "../../src/component/gateway.js";
import { createLogger } from "../../src/component/log.js";
import { connectClient, type TestClient } from "../servers/client.js";
import { describeEachServer } from "../servers/context.js";
import { formTrue, roomConfig, uniqueId } from "../servers/stanzas.js";
import type { ServerInfo } from "../servers/types.js";
import { convergeAtLeast, gatewayConfig, QUIET, record, testOptions, waitEvent, type Events } from "./helpers/acceptance.js";

interface Device {
  readonly name: string;
  readonly xmpp: TestClient;
  readonly mls: MlsClient;
  readonly store: MemoryStore;
  readonly events: Events;
}

/** A device whose plugin is attached before the connection starts (sees offline messages). */
interface RawDevice {
  readonly name: string;
  readonly xmpp: Client;
  readonly mls: MlsClient;
  readonly events: Events;
  stop(): Promise<void>;
}

const NS_SM = "urn:xmpp:sm:3";
const NS_STREAM = "http://etherx.jabber.org/streams";

describeEachServer("client plugin", (server: ServerInfo) => {
  let gateway: Gateway;
  const open: Device[] = [];

  beforeAll(async () => {
    gateway = await startGateway(gatewayConfig(server, ":memory:"), { logger: createLogger({ level: QUIET ? "silent" : "debug" }) });
  });

  afterAll(async () => {
    for (const d of open.splice(0)) {
      await d.mls.stop();
      await d.xmpp.stop();
    }
    await gateway?.stop();
  });

  async function device(user: string, resource: string, store = new MemoryStore()): Promise<Device> {
    const xmpp = await connectClient(server, user, resource);
    const m = mls({ entity: xmpp.xmpp, middleware: xmpp.xmpp.middleware, iqCaller: xmpp.xmpp.iqCaller, iqCallee: xmpp.xmpp.iqCallee }, testOptions(store));
    const d: Device = { name: `${user}/${resource}`, xmpp, mls: m, store, events: {} };
    record(d);
    open.push(d);
    await m.ready();
    return d;
  }

  describe("alice creates a room, invites bob and carol, everybody talks", () => {
    let alice: Device, bob: Device, carol: Device;
    const room = `${uniqueId("mls")}@${server.mucDomain}`;

    it("all three devices come online with a device identity and KeyPackages", async () => {
      [alice, bob, carol] = await Promise.all([device("alice", "laptop"), device("bob", "desktop"), device("carol", "phone")]);
      expect(alice.mls.identity).toBe(`alice@${server.domain}/laptop`);
      expect(alice.mls.deliveryService).toBe(server.componentDomain);
      expect(bob.mls.deviceId).toBe("desktop");
    });

    it("alice creates the room and its group", async () => {
      await alice.mls.createRoom(room, { name: "MLS test" });
      expect(alice.mls.rooms()).toEqual([room]);
      expect(alice.mls.epoch(room)).toBe(0n);
      expect(alice.mls.members(room).map((m) => m.identity)).toEqual([alice.mls.identity]);
      await waitEvent(alice, "joined", (j) => j.room === room && j.created, "joined");
      // XEP "Room Requirements": members-only, persistent, non-anonymous, archived; the DS is an admin occupant.
      const cfg = await roomConfig(alice.xmpp, room);
      expect(formTrue(cfg.get("muc#roomconfig_membersonly"))).toBe(true);
      expect(formTrue(cfg.get("muc#roomconfig_persistentroom"))).toBe(true);
      expect(cfg.get("muc#roomconfig_whois")).toBe("anyone");
      expect(formTrue(cfg.get("muc#roomconfig_enablearchiving") ?? cfg.get("mam"))).toBe(true);
      expect(cfg.get("muc#roomconfig_roomname")).toBe("MLS test");
    });

    it("alice invites bob: bob joins from the Welcome", async () => {
      const r = await alice.mls.invite(room, `bob@${server.domain}`);
      expect(r.added.map((a) => a.identity)).toEqual([bob.mls.identity]);
      expect(r.epoch).toBe(1n);
      const j = await waitEvent(bob, "joined", (x) => x.room === room, "bob joined");
      expect(j.epoch).toBe(1n);
      expect(j.members.map((m) => m.jid).sort()).toEqual([`alice@${server.domain}`, `bob@${server.domain}`]);
    });

    it("alice invites carol: bob sees the membership change", async () => {
      await alice.mls.invite(room, `carol@${server.domain}`);
      await waitEvent(carol, "joined", (x) => x.room === room, "carol joined");
      const ev = await waitEvent(bob, "membership", (m) => m.room === room && m.added.some((a) => a.jid === `carol@${server.domain}`), "bob sees carol added");
      expect(ev.epoch).toBe(2n);
      expect(ev.committer.identity).toBe(alice.mls.identity);
      expect(bob.mls.epoch(room)).toBe(2n);
    });

    it("messages decrypt in both directions", async () => {
      await alice.mls.sendText(room, "hello from alice");
      for (const d of [bob, carol]) {
        const m = await waitEvent(d, "message", (x) => x.text === "hello from alice", `${d.name} gets alice's message`);
        expect(m.from).toBe(`alice@${server.domain}`);
        expect(m.device).toBe("laptop");
        expect(m.epoch).toBe(2n);
        expect(m.delayed).toBe(false);
      }
      await bob.mls.sendText(room, "hi alice, bob here");
      await carol.mls.sendText(room, "carol too");
      await waitEvent(alice, "message", (x) => x.text === "hi alice, bob here" && x.from === `bob@${server.domain}`, "alice gets bob's message");
      await waitEvent(alice, "message", (x) => x.text === "carol too", "alice gets carol's message");
      await waitEvent(bob, "message", (x) => x.text === "carol too", "bob gets carol's message");
      // Nobody decrypts its own message.
      expect((alice.events.message ?? []).filter((m) => m.from === `alice@${server.domain}`)).toEqual([]);
    });

    it("a handshake injected into the room by a member (not the hub) is not applied", async () => {
      const epoch = alice.mls.epoch(room);
      // XEP: handshakes count only from the hub's occupant. One of these seqs is the next one: a
      // client that trusted any occupant would try to apply it (and report a decoding error).
      for (let seq = 1; seq <= 30; seq++) {
        const forged = xml(
          "message",
          { to: room, type: "groupchat", id: uniqueId("forged") },
          xml("mls", { xmlns: "urn:x-xmpp-mls:0", kind: "commit", group: alice.mls.groupId(room), epoch: String(epoch), seq: String(seq) }, Buffer.from("not an MLS message").toString("base64")),
        );
        await bob.xmpp.send(forged);
      }
      await alice.mls.sendText(room, "after the forgery");
      await waitEvent(carol, "message", (x) => x.text === "after the forgery", "carol still gets messages");
      expect(alice.mls.epoch(room)).toBe(epoch);
      expect(carol.mls.epoch(room)).toBe(epoch);
      for (const d of [alice, carol]) expect(d.events.error ?? []).toEqual([]);
    });

    it("all members show the same verification code", async () => {
      const codes = [alice, bob, carol].map((d) => d.mls.verificationCode(room));
      expect(codes[0]).toMatch(/^\d{5}( \d{5}){5}$/);
      expect(new Set(codes).size).toBe(1);
    });

    it("concurrent self-updates: one wins the epoch, the other rebases and retries", async () => {
      const before = alice.mls.epoch(room);
      const [eb, ec] = await Promise.all([bob.mls.updateKeys(room), carol.mls.updateKeys(room)]);
      expect([eb, ec].sort()).toEqual([before + 1n, before + 2n].sort());
      await convergeAtLeast([alice, bob, carol], room, before + 2n);
      const codes = [alice, bob, carol].map((d) => d.mls.verificationCode(room));
      expect(new Set(codes).size).toBe(1);
      const updated = (alice.events.membership ?? []).filter((m) => m.epoch > before).flatMap((m) => m.updated.map((u) => u.jid));
      expect(updated.sort()).toEqual([`bob@${server.domain}`, `carol@${server.domain}`]);
    });

    it("offline catch-up: bob misses messages across several epochs and decrypts them all on reconnect", async () => {
      await bob.xmpp.stop();
      const start = alice.mls.epoch(room);
      const update = async (d: Device): Promise<void> => {
        const e = await d.mls.updateKeys(room);
        await convergeAtLeast([alice, carol], room, e);
      };
      await alice.mls.sendText(room, "while you were away 1");
      await update(carol);
      await alice.mls.sendText(room, "while you were away 2");
      // More epochs than the group keeps for late messages: only interleaved processing decrypts message 1.
      for (let i = 0; i < 4; i++) await update(i % 2 === 0 ? alice : carol);
      await carol.mls.sendText(room, "while you were away 3");
      const final = alice.mls.epoch(room);
      expect(final).toBe(start + 5n);

      // Sent while offline: queued until bob has caught up, then encrypted in the current epoch.
      const queued = bob.mls.sendText(room, "queued while offline");
      await bob.xmpp.xmpp.start();
      await bob.mls.ready();
      expect((await queued).epoch).toBe(final);
      await waitEvent(alice, "message", (x) => x.text === "queued while offline" && x.epoch === final, "alice gets bob's queued message");
      const got: string[] = [];
      for (const text of ["while you were away 1", "while you were away 2", "while you were away 3"]) {
        const m = await waitEvent(bob, "message", (x) => x.text === text, `bob catches up "${text}"`);
        expect(m.delayed).toBe(true);
        got.push(`${m.epoch}`);
      }
      expect(got).toEqual([`${start}`, `${start + 1n}`, `${final}`]);
      expect(bob.mls.epoch(room)).toBe(final);
      expect(bob.mls.verificationCode(room)).toBe(alice.mls.verificationCode(room));
      // And bob can talk again.
      await bob.mls.sendText(room, "back online");
      await waitEvent(alice, "message", (x) => x.text === "back online", "alice gets bob's message after his catch-up");
    });

    it("a user with two devices: both are added by one invite", async () => {
      const [d1, d2] = await Promise.all([device("dave", "tablet"), device("dave", "watch")]);
      const r = await alice.mls.invite(room, `dave@${server.domain}`);
      expect(r.added.map((a) => a.device).sort()).toEqual(["tablet", "watch"]);
      await waitEvent(d1, "joined", (x) => x.room === room, "dave/tablet joined");
      await waitEvent(d2, "joined", (x) => x.room === room, "dave/watch joined");
      await d2.mls.sendText(room, "dave on the watch");
      await waitEvent(d1, "message", (x) => x.text === "dave on the watch" && x.device === "watch", "dave's other device gets it");
      await waitEvent(bob, "message", (x) => x.text === "dave on the watch", "bob gets dave's message");
    });

    it("alice removes dave: both devices leave the group, the others see it", async () => {
      const removed = await alice.mls.remove(room, `dave@${server.domain}`);
      expect(removed.map((r) => r.device).sort()).toEqual(["tablet", "watch"]);
      const dave = open.filter((d) => d.name.startsWith("dave/"));
      for (const d of dave) {
        await waitEvent(d, "removed", (x) => x.room === room, `${d.name} removed`);
        expect(d.mls.rooms()).toEqual([]);
      }
      const ev = await waitEvent(bob, "membership", (m) => m.removed.some((x) => x.jid === `dave@${server.domain}`), "bob sees dave removed");
      expect(ev.removed.every((x) => !x.byRoomService)).toBe(true);
      expect(bob.mls.members(room).some((m) => m.jid === `dave@${server.domain}`)).toBe(false);
      await alice.mls.sendText(room, "dave is gone");
      await waitEvent(bob, "message", (x) => x.text === "dave is gone", "bob still gets messages");
    });

    it("carol leaves: her Remove proposal is committed by another member", async () => {
      await carol.mls.leave(room);
      const r = await waitEvent(carol, "removed", (x) => x.room === room, "carol removed");
      expect([alice.mls.identity, bob.mls.identity]).toContain(r.by?.identity);
      await waitEvent(alice, "membership", (m) => m.removed.some((x) => x.jid === `carol@${server.domain}`), "alice sees carol leave");
      expect(alice.mls.members(room).map((m) => m.jid).sort()).toEqual([`alice@${server.domain}`, `bob@${server.domain}`]);
      await bob.mls.sendText(room, "just us");
      await waitEvent(alice, "message", (x) => x.text === "just us", "alice gets bob's message");
    });

    it("KeyPackages consumed by the invites were replaced", async () => {
      // Each invitee published 3 ordinary + 1 last-resort KeyPackage. A claim left 2 (<= the DS's
      // low-water mark): the notice made the device publish one more; the Welcome then consumed the
      // claimed one, whose keys were deleted. So: 3 ordinary + 1 last-resort, as at the start.
      for (const d of open.filter((x) => x.name !== "alice/laptop")) {
        const t0 = Date.now();
        while (d.store.names().filter((n) => n.startsWith("kp/")).length !== 4 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
        expect(d.store.names().filter((n) => n.startsWith("kp/")), d.name).toHaveLength(4);
      }
    });

    it("no device reported an error", () => {
      for (const d of open) expect((d.events.error ?? []).map((e) => `${e.context}: ${String(e.error)}`)).toEqual([]);
    });
  });

  describe("offline Welcome, restart with a FileStore, update cadence", () => {
    const room = `${uniqueId("mls")}@${server.mucDomain}`;
    const raw: RawDevice[] = [];
    let dir = "";
    let alice: RawDevice, erin: RawDevice;
    const pass = "erin's passphrase";

    afterAll(async () => {
      for (const d of raw.splice(0)) await d.stop();
      if (dir !== "") await rm(dir, { recursive: true, force: true });
    });

    /** Like a real application: the plugin is set up before `start()`. */
    async function rawDevice(user: string, resource: string, store: ClientStore, extra: Partial<MlsPluginOptions> = {}): Promise<RawDevice> {
      const x = client({
        service: `xmpp://${server.host}:${server.c2sPort}`,
        domain: server.domain,
        resource,
        credentials: (auth) => auth({ username: user, password: server.password }, "PLAIN"),
      });
      x.on("error", () => {});
      x.prependListener("element", (el: Element) => {
        if (el.is("features", NS_STREAM)) el.remove("sm", NS_SM);
      });
      const m = setupMls(x, testOptions(store, extra));
      x.on("online", () => void x.send(xml("presence")).catch(() => {}));
      const d: RawDevice = {
        name: `${user}/${resource}`,
        xmpp: x,
        mls: m,
        events: {},
        stop: async () => {
          await m.stop();
          x.reconnect.stop();
          await x.stop().catch(() => {});
        },
      };
      record(d);
      raw.push(d);
      await x.start();
      await m.ready();
      return d;
    }

    it("erin, offline when invited, joins from the stored Welcome in a new process that reopens her FileStore", async () => {
      dir = await mkdtemp(join(tmpdir(), "xmpp-mls-client-"));
      const fast = { scrypt: { N: 1 << 10, r: 8, p: 1 } };
      const first = await rawDevice("erin", "laptop", await FileStore.open(dir, pass, fast));
      const identity = first.mls.identity;
      await first.stop();

      alice = await rawDevice("alice", "desktop", new MemoryStore(), { updateAfterMessages: 2 });
      await alice.mls.createRoom(room);
      const r = await alice.mls.invite(room, `erin@${server.domain}`);
      expect(r.added.map((a) => a.identity)).toEqual([identity]);
      await alice.mls.sendText(room, "welcome, erin");

      // A new plugin instance on the same store: same device, and the KeyPackage keys survived.
      erin = await rawDevice("erin", "laptop", await FileStore.open(dir, pass));
      expect(erin.mls.identity).toBe(identity);
      const j = await waitEvent(erin, "joined", (x) => x.room === room, "erin joined from the offline Welcome");
      expect(j.epoch).toBe(1n);
      const m = await waitEvent(erin, "message", (x) => x.text === "welcome, erin", "erin gets the message sent before she came online");
      expect(m.delayed).toBe(true);
      expect(erin.mls.verificationCode(room)).toBe(alice.mls.verificationCode(room));
    });

    it("updateAfterMessages: the second message triggers a self-update the others see", async () => {
      const before = alice.mls.epoch(room);
      await alice.mls.sendText(room, "one more"); // the second message since the invite's path
      const ev = await waitEvent(erin, "membership", (x) => x.room === room && x.epoch === before + 1n, "erin sees alice's self-update");
      expect(ev.updated.map((u) => u.identity)).toEqual([alice.mls.identity]);
      expect(ev.committer.identity).toBe(alice.mls.identity);
      await waitEvent(erin, "message", (x) => x.text === "one more", "erin gets the message");
      await convergeAtLeast([alice, erin], room, before + 1n);
      expect(erin.mls.verificationCode(room)).toBe(alice.mls.verificationCode(room));
    });

    it("erin restarts again: the room and its group state come back from the FileStore, and she catches up", async () => {
      await erin.stop();
      await alice.mls.sendText(room, "while erin restarts");
      const e = await alice.mls.updateKeys(room);
      await alice.mls.sendText(room, "in the next epoch");

      erin = await rawDevice("erin", "laptop", await FileStore.open(dir, pass));
      expect(erin.mls.rooms()).toEqual([room]);
      for (const text of ["while erin restarts", "in the next epoch"]) {
        const m = await waitEvent(erin, "message", (x) => x.text === text, `restarted erin gets "${text}"`);
        expect(m.delayed).toBe(true);
      }
      expect(erin.mls.epoch(room)).toBe(e);
      expect(erin.mls.verificationCode(room)).toBe(alice.mls.verificationCode(room));
      await erin.mls.sendText(room, "erin is back");
      await waitEvent(alice, "message", (x) => x.text === "erin is back", "alice gets erin's message");
      // Nothing from before the restart is delivered twice.
      expect((erin.events.message ?? []).filter((x) => x.text === "one more")).toEqual([]);
    });

    it("no device reported an error", () => {
      for (const d of raw) expect((d.events.error ?? []).map((e) => `${e.context}: ${String(e.error)}`)).toEqual([]);
    });
  });
});
