/**
 * `npm run demo`: three users, one MLS-encrypted room, a real Prosody and the Delivery Service.
 *
 *   Prosody 0.12 on 127.0.0.5 (c2s 26222, component 26347; run dir .run/demo/prosody)
 *   DS gateway mls.demo.localhost in this process (SQLite .run/demo/gateway/ds.sqlite)
 *   alice/laptop, bob/desktop, carol/phone: xmpp.js clients with the MLS plugin
 *
 * The story: alice creates a room and invites bob; they talk; carol goes offline and alice invites
 * her (the Welcome waits in Prosody's offline storage) and commits an update; alice and bob write
 * while carol is away; carol comes back, joins from the Welcome and reads what she missed from the
 * archive; alice removes bob, who can no longer read. Then what the server and the DS stored is
 * inspected: only ciphertext. Every claim is a check; the exit code is 0 only if all passed.
 * Everything started here is stopped at the end, on failure and on Ctrl-C.
 */
import { readFileSync } from "node:fs";
import { xmppAuthenticationService } from "../src/client/device.js";
import { nativeProvider } from "../src/crypto/native/index.js";
import { groupConfig } from "../src/mls/group/group-config.js";
import { loadGroupState } from "../src/mls/group/persistence.js";
import { processMessage } from "../src/mls/group/process-message.js";
import { XmppMlsError } from "../src/errors.js";
import { NS_MLS } from "../src/xmpp/ns.js";
import { converge, sleep, startDevices, type Device } from "./demo/devices.js";
import { b64Preview, bold, dim, green, red, Report } from "./demo/report.js";
import { Cleanup, startStack, withTimeout, type Stack } from "./demo/stack.js";
import { findFiles, inspectStorage } from "./demo/storage.js";

const DOMAIN = "demo.localhost";
const ROOM = `team@conference.${DOMAIN}`;

/** What is said, by whom; `marker` is a distinctive phrase the plaintext scan also looks for. */
const SAY = {
  alice1: { text: "Hi Bob, shall we meet at the harbour cafe at noon?", marker: "harbour cafe" },
  bob1: { text: "Noon works. I will bring the blueprints.", marker: "blueprints" },
  alice2: { text: "Welcome Carol! The launch moved to Thursday.", marker: "launch moved" },
  bob2: { text: "Carol, the floor plans are in the red folder.", marker: "red folder" },
  carol1: { text: "Thanks both. Thursday it is, I will bake a lemon cake.", marker: "lemon cake" },
  alice3: { text: "Carol, just us now: the new vault code is 4711.", marker: "vault code" },
} as const;
type Line = (typeof SAY)[keyof typeof SAY];

const short = (identity: string): string => identity.replace(`@${DOMAIN}`, "");

async function main(report: Report, cleanup: Cleanup): Promise<void> {
  console.log(bold("xmpp-mls demo: three users, one MLS-encrypted room, a real Prosody and the Delivery Service"));

  // ------------------------------------------------------------------ setup
  const stack: Stack = await startStack(
    { name: "demo", domain: DOMAIN, host: "127.0.0.5", c2sPort: 26222, componentPort: 26347, users: ["alice", "bob", "carol"] },
    cleanup,
  );
  const { server } = stack;
  console.log(dim(`[setup] Prosody on ${server.host}:${server.c2sPort} (domain ${server.domain}, component port ${server.componentPort}) up in ${server.startupMs} ms; run dir .run/demo`));
  console.log(dim(`[setup] DS gateway ${server.componentDomain} connected (SQLite ${rel(stack.database)}, log ${rel(stack.gatewayLog)})`));
  const common = { domain: DOMAIN, password: server.password, service: `xmpp://${server.host}:${server.c2sPort}` };
  const [alice, bob, carol] = (await startDevices(
    [
      { user: "alice", device: "laptop", ...common },
      { user: "bob", device: "desktop", ...common },
      { user: "carol", device: "phone", ...common },
    ],
    cleanup,
  )) as [Device, Device, Device];
  console.log(dim(`[setup] alice/laptop, bob/desktop and carol/phone are online and published their KeyPackages to the DS`));

  const say = async (who: Device, line: Line): Promise<void> => {
    report.sends(who.name.split("/")[0]!, line.text);
    await who.mls.sendText(ROOM, line.text);
  };
  const read = async (who: Device, line: Line, from: Device): Promise<void> => {
    const m = await who.waitFor("message", (x) => x.text === line.text, `"${line.text}"`);
    report.reads(who.name.split("/")[0]!, `${short(m.from)}/${m.device}`, m.text, `epoch ${m.epoch}${m.delayed ? ", fetched from the room archive" : ""}`);
    report.check(m.from === from.bareJid && `${m.from}/${m.device}` === from.mls.identity, `${who.name} decrypted it and authenticated the sender ${from.name}`);
  };
  const codes = (devices: readonly Device[]): void => {
    const list = devices.map((d) => ({ d, code: d.mls.verificationCode(ROOM), epoch: d.mls.epoch(ROOM) }));
    for (const x of list) report.line(`${x.d.name.padEnd(14)} verification code (epoch ${x.epoch}): ${x.code}`);
    report.check(new Set(list.map((x) => x.code)).size === 1, `verification codes match (${devices.map((d) => d.name.split("/")[0]).join(", ")})`);
  };

  // ------------------------------------------------------------------ 1
  report.heading("alice creates the room and invites bob");
  await alice.mls.createRoom(ROOM, { name: "Team (MLS demo)" });
  report.check(alice.mls.epoch(ROOM) === 0n, `alice created ${ROOM} with a new MLS group (epoch 0) registered at the DS`, `group ${alice.mls.groupId(ROOM).slice(0, 16)}…`);
  const inv1 = await alice.mls.invite(ROOM, bob.bareJid);
  report.check(inv1.added.map((a) => a.identity).join() === bob.mls.identity, `alice's Commit added ${inv1.added.map((a) => short(a.identity)).join(", ")} (epoch ${inv1.epoch})`);
  const bobJoined = await bob.waitFor("joined", (j) => j.room === ROOM, "bob joining from the Welcome");
  report.check(bobJoined.epoch === 1n, `bob joined from the Welcome at epoch ${bobJoined.epoch}`, `members: ${bobJoined.members.map((m) => short(m.identity)).join(", ")}`);

  // ------------------------------------------------------------------ 2
  report.heading("alice and bob talk, both ways");
  await say(alice, SAY.alice1);
  await read(bob, SAY.alice1, alice);
  await say(bob, SAY.bob1);
  await read(alice, SAY.bob1, bob);
  codes([alice, bob]);

  // ------------------------------------------------------------------ 3
  report.heading("carol goes offline; alice invites her and commits an update");
  await carol.goOffline();
  report.line(`carol/phone disconnected (her KeyPackages stay published at the DS)`);
  const inv2 = await alice.mls.invite(ROOM, carol.bareJid);
  report.check(inv2.added.map((a) => a.identity).join() === carol.mls.identity, `alice's Commit added carol/phone (epoch ${inv2.epoch})`);
  const offline = await withTimeout(waitForOfflineWelcome(stack, "carol"), 10_000, "the Welcome in carol's offline storage");
  report.check(offline.count > 0, `the DS sent the Welcome to carol/phone; Prosody holds it in offline storage`, `${rel(offline.file)} (${offline.count} stanza${offline.count === 1 ? "" : "s"} with <welcome/>)`);
  const bobSawCarol = await bob.waitFor("membership", (m) => m.added.some((a) => a.jid === carol.bareJid), "bob seeing carol added");
  report.check(bobSawCarol.committer.identity === alice.mls.identity, `bob sees: ${short(bobSawCarol.committer.identity)} added ${bobSawCarol.added.map((a) => short(a.identity)).join(", ")} (epoch ${bobSawCarol.epoch})`);
  const updEpoch = await alice.mls.updateKeys(ROOM);
  const bobSawUpdate = await bob.waitFor("membership", (m) => m.epoch === updEpoch, "bob seeing alice's update");
  report.check(
    bobSawUpdate.updated.some((u) => u.identity === alice.mls.identity),
    `alice committed an update (fresh leaf and path keys, epoch ${updEpoch}); bob sees ${short(alice.mls.identity!)} updated its keys`,
  );

  // ------------------------------------------------------------------ 4
  report.heading("alice and bob write while carol is offline");
  await say(alice, SAY.alice2);
  await read(bob, SAY.alice2, alice);
  await say(bob, SAY.bob2);
  await read(alice, SAY.bob2, bob);

  // ------------------------------------------------------------------ 5
  report.heading("carol comes back, joins from the stored Welcome and catches up");
  await carol.start();
  const carolJoined = await carol.waitFor("joined", (j) => j.room === ROOM, "carol joining from the offline Welcome");
  report.check(
    carolJoined.epoch === updEpoch,
    `carol joined from the Welcome (epoch ${inv2.epoch}) and applied the update from the DS log: now at epoch ${carolJoined.epoch}`,
    `members: ${carolJoined.members.map((m) => short(m.identity)).join(", ")}`,
  );
  await read(carol, SAY.alice2, alice);
  await read(carol, SAY.bob2, bob);
  report.check(carol.events("message").every((m) => m.delayed), "carol read both from the room's MAM archive (delayed)");
  report.check(!carol.events("message").some((m) => m.text === SAY.alice1.text || m.text === SAY.bob1.text), "carol gets nothing said before she was added (that is under epoch-1 keys, which she never had)");
  await say(carol, SAY.carol1);
  await read(alice, SAY.carol1, carol);
  await read(bob, SAY.carol1, carol);
  codes([alice, bob, carol]);

  // ------------------------------------------------------------------ 6
  report.heading("alice removes bob; bob can no longer read");
  const bobLastState = await bob.store.get(`group/${bob.mls.groupId(ROOM)}`);
  const bobLastEpoch = bob.mls.epoch(ROOM);
  const bobLastCode = bob.mls.verificationCode(ROOM);
  const removed = await alice.mls.remove(ROOM, bob.bareJid);
  report.check(removed.map((r) => r.identity).join() === bob.mls.identity, `alice's Commit removed bob/desktop; alice revoked bob's room membership`);
  const bobRemoved = await bob.waitFor("removed", (r) => r.room === ROOM, "bob's removed event");
  report.check(bobRemoved.by?.identity === alice.mls.identity && !bob.mls.rooms().includes(ROOM), `bob's client: removed by ${short(bobRemoved.by?.identity ?? "?")} at epoch ${bobRemoved.epoch}; it left the room`);
  const carolSaw = await carol.waitFor("membership", (m) => m.removed.some((r) => r.jid === bob.bareJid), "carol seeing bob removed");
  report.check(carolSaw.epoch === bobRemoved.epoch, `carol sees: ${short(carolSaw.committer.identity)} removed ${carolSaw.removed.map((r) => short(r.identity)).join(", ")} (epoch ${carolSaw.epoch})`);
  await converge([alice, carol], ROOM, carolSaw.epoch);

  let captured: { bytes: Uint8Array; epoch: string } | undefined;
  const stopCapture = carol.onStanza((el) => {
    const m = el.is("message") && el.attrs.type === "groupchat" ? el.getChild("mls", NS_MLS) : undefined;
    if (m !== undefined && m.attrs.kind === "application") captured = { bytes: new Uint8Array(Buffer.from(m.getText(), "base64")), epoch: m.attrs.epoch ?? "?" };
  });
  await say(alice, SAY.alice3);
  await read(carol, SAY.alice3, alice);
  stopCapture();
  await sleep(1500);
  report.check(!bob.events("message").some((m) => m.text === SAY.alice3.text), "bob reads nothing: no message reached his client in 1.5 s (he is no longer a room member)");
  if (captured === undefined || bobLastState === null) {
    report.fail("the ciphertext and bob's last group state are available for the decryption attempt");
  } else {
    const config = groupConfig({ authenticationService: xmppAuthenticationService(), handshakeWireFormat: "public" });
    const state = loadGroupState(bobLastState, { provider: nativeProvider, config });
    let outcome = "decrypted!";
    try {
      const r = await processMessage(state, captured.bytes);
      outcome = r.kind === "application" ? `decrypted: ${Buffer.from(r.data).toString("utf8").slice(0, 40)}` : `processed as ${r.kind}`;
    } catch (e) {
      outcome = e instanceof XmppMlsError ? `${e.code}: ${e.message}` : String(e);
    }
    report.line(`the epoch-${captured.epoch} ciphertext carol received: ${b64Preview(captured.bytes)}`);
    report.check(outcome !== "decrypted!" && !outcome.startsWith("decrypted") && !outcome.startsWith("processed"), `bob's last group state (epoch ${bobLastEpoch}) cannot decrypt it`, outcome);
  }
  codes([alice, carol]);
  report.check(bobLastCode !== alice.mls.verificationCode(ROOM), `bob's last code (epoch ${bobLastEpoch}) no longer matches: ${bobLastCode}`);

  // ------------------------------------------------------------------ 7
  report.heading("what the server and the DS stored");
  const errors = [alice, bob, carol].flatMap((d) => d.errors().map((e) => `${d.name}: ${e}`));
  report.check(errors.length === 0, "no client reported an error", errors.join("; "));
  await inspectStorage(report, stack, {
    room: ROOM,
    plaintexts: Object.values(SAY).flatMap((l) => [l.text, l.marker]),
    applicationMessages: Object.keys(SAY).length,
  });
}

/** The file under Prosody's offline store of `user` and how many stored stanzas carry a Welcome. */
async function waitForOfflineWelcome(stack: Stack, user: string): Promise<{ file: string; count: number }> {
  for (;;) {
    for (const f of findFiles(stack.prosodyData)) {
      if (!/\/offline\//.test(f) || !f.endsWith(`/${user}.list`)) continue;
      const count = (readFileSync(f, "utf8").match(/"welcome"/g) ?? []).length;
      if (count > 0) return { file: f, count };
    }
    await sleep(50);
  }
}

const rel = (p: string): string => p.replace(`${process.cwd()}/`, "");

const report = new Report();
const cleanup = new Cleanup();
let ok = false;
try {
  await withTimeout(main(report, cleanup), 120_000, "the demo");
  ok = report.failed.length === 0;
} catch (e) {
  if (cleanup.interrupted) await new Promise(() => {}); // the signal handler finishes and exits
  console.log(`\n${red("demo failed:")} ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
}
console.log("");
await cleanup.run();
if (ok) {
  console.log(green(bold(`All ${report.passed} checks passed`)) + dim(` in ${report.elapsedSeconds()} s. Files left for inspection in .run/demo/.`));
} else {
  console.log(red(bold(`Demo FAILED: ${report.failed.length} check(s) failed`)) + (report.failed.length > 0 ? `: ${report.failed.join("; ")}` : "") + dim(` (${report.passed} passed; logs in .run/demo/)`));
}
process.exit(ok ? 0 : 1);
