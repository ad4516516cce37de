/**
 * Acceptance: a group whose handshakes travel as PrivateMessage (the DS only sequences them; it
 * cannot read or validate them). Members join, talk, update and remove exactly as with PublicMessage
 * handshakes, on both servers.
 */
import { beforeAll, expect, it } from "vitest";
import { describeEachServer } from "../servers/context.js";
import { uniqueId } from "../servers/stanzas.js";
import type { ServerInfo } from "../servers/types.js";
import { converge, roomWith, scenario, snapshotStore, threeDevices, waitEvent, type Dev } from "./helpers/acceptance.js";

describeEachServer("acceptance: PrivateMessage handshakes", (server: ServerInfo) => {
  const h = scenario(server);
  const room = `${uniqueId("acc-priv")}@${server.mucDomain}`;
  const jid = (u: string): string => `${u}@${server.domain}`;
  let alice: Dev, bob: Dev, carol: Dev;

  beforeAll(async () => {
    await h.startGateway({}, { policy: { handshakeWireFormat: "private" } });
    [alice, bob, carol] = await threeDevices(h, { handshakeWireFormat: "private" });
    await roomWith(h, room, alice, [bob, carol]);
  });

  it("members talk, update keys and remove a member; handshakes in the DS log are PrivateMessages", async () => {
    const text = `private handshakes ${uniqueId("m")}`;
    await bob.mls.sendText(room, text);
    for (const d of [alice, carol]) await waitEvent(d, "message", (m) => m.text === text, `${d.name} reads bob`);

    const epoch = await carol.mls.updateKeys(room);
    expect(epoch).toBe(3n);
    await converge([alice, bob, carol], room, 3n);

    await alice.mls.remove(room, jid("bob"));
    await converge([alice, carol], room, 4n);
    const after = `after bob left ${uniqueId("m")}`;
    await alice.mls.sendText(room, after);
    await waitEvent(carol, "message", (m) => m.text === after, "carol reads alice");
    expect((bob.events.message ?? []).some((m) => m.text === after)).toBe(false);
    expect(alice.mls.verificationCode(room)).toBe(carol.mls.verificationCode(room));

    // Every Commit the DS sequenced is an MLSMessage with wire_format mls_private_message (0x0002).
    const commits = snapshotStore(h.dbPath).log.filter((r) => r.kind === "commit");
    expect(commits.length).toBeGreaterThanOrEqual(4);
    for (const c of commits) expect(c.bytes.slice(0, 8)).toBe("00010002");
  });
});
