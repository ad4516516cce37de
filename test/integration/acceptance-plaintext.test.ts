/**
 * Acceptance: neither the Delivery Service nor the XMPP server stores message plaintext.
 *
 * Alice, bob and carol exchange messages carrying random markers (ASCII and non-ASCII); carol is
 * offline for part of it (so her Welcome goes through offline storage and she reads from the
 * archive). The receivers read every marker — so they were really sent. Then the bytes of
 * everything the DS stored (SQLite file, WAL, shared memory, the ds-keys file; while running and
 * after a clean stop) and everything the server stored (Prosody's data directory: MAM archives,
 * offline storage, room configs; ejabberd's mnesia directory) are searched for each marker:
 * none is found. Positive controls show the scan sees stored data: the server's files hold the
 * room's name (a marker the server is meant to see), the origin-id of every sent message, and a
 * marker bob sent once as a plain (unencrypted) groupchat body; the DS's files hold the room JID.
 */
import { randomBytes } from "node:crypto";
import { xml } from "@xmpp/xml";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { describeEachServer } from "../servers/context.js";
import { uniqueId } from "../servers/stanzas.js";
import type { ServerInfo } from "../servers/types.js";
import { errorsOf, filesUnder, grepFiles, poll, scenario, threeDevices, waitEvent, type Dev } from "./helpers/acceptance.js";

const marker = (prefix = "PLAINTEXT"): string => `${prefix}-${randomBytes(12).toString("hex")}`;

describeEachServer("acceptance: no plaintext at rest", (server: ServerInfo) => {
  const h = scenario(server);
  const room = `${uniqueId("acc-plain")}@${server.mucDomain}`;
  const roomName = `Room ${marker("ROOMNAME")}`;
  const jid = (u: string): string => `${u}@${server.domain}`;
  const serverStorage = join(server.runDir, server.kind === "prosody" ? "data" : "db");
  const dsFiles = (): string[] => [h.dbPath, `${h.dbPath}-wal`, `${h.dbPath}-shm`, `${h.dbPath}.ds-keys.json`].filter((f) => existsSync(f));
  const markers: string[] = [];
  const plainControl = marker("UNENCRYPTED");
  const originIds: string[] = [];
  let alice: Dev, bob: Dev, carol: Dev;

  beforeAll(async () => {
    await h.startGateway();
    [alice, bob, carol] = await threeDevices(h);
  });

  /** `from` sends a message carrying a fresh marker; every reader must read it. */
  const say = async (from: Dev, readers: Dev[], prefix?: string): Promise<void> => {
    const m = marker(prefix);
    markers.push(m);
    const text = `the secret is ${m} — keep it`;
    const sent = await from.mls.sendText(room, text);
    originIds.push(sent.id);
    for (const r of readers) {
      const got = await waitEvent(r, "message", (x) => x.text === text, `${r.name} reads ${m}`);
      expect(got.from).toBe(jid(from.user));
    }
  };

  it("a conversation with plaintext markers: every marker is read by its receivers", async () => {
    await alice.mls.createRoom(room, { name: roomName });
    await alice.mls.invite(room, jid("bob"));
    await waitEvent(bob, "joined", (j) => j.room === room, "bob joined");
    // Carol is offline when invited: her Welcome waits in offline storage, the messages in MAM.
    await h.offline(carol);
    await alice.mls.invite(room, jid("carol"));
    await say(alice, [bob]);
    await say(bob, [alice], "ÜNÏCØDÉ-PLAINTEXT");
    await h.online(carol);
    await waitEvent(carol, "joined", (j) => j.room === room, "carol joined from the offline Welcome");
    for (const m of markers) await waitEvent(carol, "message", (x) => x.text?.includes(m) === true, `carol reads ${m} from the archive`);
    await say(carol, [alice, bob]);
    await say(alice, [bob, carol], "日本語-PLAINTEXT");
    await bob.mls.updateKeys(room);
    await say(bob, [alice, carol]);
    expect(markers).toHaveLength(5);
    // The control: a body sent without MLS, as a client without the plugin would.
    await bob.xmpp.send(xml("message", { to: room, type: "groupchat", id: uniqueId("plain") }, xml("body", {}, `not encrypted: ${plainControl}`)));
    for (const d of [alice, bob, carol]) expect(errorsOf(d, room), d.name).toEqual([]);
  });

  it("the server stored the room and its (encrypted) messages, but no marker", async () => {
    // Positive controls: what the server is meant to see is found (its archive is flushed to disk).
    await poll(() => {
      const hits = grepFiles(filesUnder(serverStorage), [roomName, plainControl, ...originIds]);
      return [...hits.values()].every((files) => files.length > 0) ? hits : undefined;
    }, `the room name, the unencrypted control and every message's origin-id in ${serverStorage}`, 20_000, 250);
    const hits = grepFiles(filesUnder(serverStorage), markers);
    for (const [m, files] of hits) expect(files, `${m} found in the server's storage`).toEqual([]);
  });

  it("the DS stored the group and its log, but no marker, not the room name, not the unencrypted body (running, and after a clean stop)", async () => {
    const scan = (): void => {
      const files = dsFiles();
      expect(files).toContain(h.dbPath);
      expect(files).toContain(`${h.dbPath}.ds-keys.json`);
      const all = grepFiles(files, [room, ...markers, roomName, plainControl]);
      expect(all.get(room)!.length, "the room JID is in the DS's files").toBeGreaterThan(0);
      for (const m of [...markers, roomName, plainControl]) expect(all.get(m), `${m} found in the DS's files`).toEqual([]);
    };
    scan();
    await h.stopGateway(); // checkpoints the WAL into the database file
    scan();
  });
});
