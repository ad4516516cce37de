/**
 * The Delivery Service gateway against real Prosody and ejabberd (servers from the integration
 * global setup): the gateway runs in-process as the servers' XEP-0114 component; clients are
 * xmpp.js connections. KeyPackages and the registration GroupInfo are real MLS objects; commits
 * are synthetic but well-formed (real MLS commits end-to-end come with the client plugin).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { decode } from "../../src/codec/reader.js";
import { framingCommitValidator } from "../../src/component/commit-validator.js";
import type { Gateway } from "../../src/component/gateway.js";
import type { AffiliationRevoked } from "../../src/component/muc.js";
import { xmppBindingExtension } from "../../src/xmpp/binding-extension.js";
import { nativeProvider } from "../../src/crypto/native/index.js";
import { extensionTypes } from "../../src/mls/core/extension.js";
import { encodeExternalSenders, readExternalSender } from "../../src/mls/core/external-senders.js";
import { wireFormats } from "../../src/mls/core/protocol.js";
import { decodeMlsMessage } from "../../src/mls/framing/mls-message.js";
import { toHex } from "../../src/util/bytes.js";
import { parseWelcome, parseMls } from "../../src/xmpp/delivery-stanzas.js";
import { parseDsInfoForm } from "../../src/xmpp/ds-info.js";
import { buildCreate, buildGroupInfoRequest, parseGroupInfoResult } from "../../src/xmpp/group-stanzas.js";
import { buildClaim, buildKeyPackagePublish, parseKeyPackages, parseKeyPackagesLow } from "../../src/xmpp/key-package-stanzas.js";
import { buildLogRequest, parseLogResult } from "../../src/xmpp/log-stanzas.js";
import { NS_DATA_FORMS, NS_DISCO_INFO, NS_MLS, NS_PUBSUB } from "../../src/xmpp/ns.js";
import { buildSubmit, parseAccepted } from "../../src/xmpp/submit-stanzas.js";
import { xml } from "../../src/xmpp/xml.js";
import { describeEachServer } from "../servers/context.js";
import { configureRoom, joinRoom, setAffiliation, uniqueId } from "../servers/stanzas.js";
import type { ServerInfo } from "../servers/types.js";
import { firstChild as child, gatewayErrors, scenario, stanzaError as iqError } from "./helpers/acceptance.js";
import { addOf, makeEpochGroupInfo, makeGroupInfo, makeKeyPackage, syntheticCommit, syntheticWelcome } from "../component/gateway-helpers/mls-fixtures.js";

describeEachServer("DS gateway", (server: ServerInfo) => {
  const h = scenario(server);
  let gw: Gateway;
  const revoked: AffiliationRevoked[] = [];
  const ds = server.componentDomain;
  const jidOf = (u: string): string => `${u}@${server.domain}`;
  const connect = (user: string, resource: string) => h.client(user, resource);

  beforeAll(async () => {
    gw = await h.startGateway({
      // The commits here are synthetic (random signatures): sequencing only, no observer.
      validator: framingCommitValidator({ provider: nativeProvider }),
      hooks: { affiliationRevoked: (ev) => void revoked.push({ room: ev.room, jid: ev.jid, affiliation: ev.affiliation }) },
    });
  });

  afterAll(async () => {
    await h.close();
    // No handler failed during the run (refusals are debug lines, failures error lines).
    expect(gatewayErrors(h.gatewayLog)).toEqual([]);
  });

  it("answers disco#info with the DS identity, features and ds-info form", async () => {
    const alice = await connect("alice", "disco");
    const res = await alice.iq(xml("iq", { type: "get", to: ds }, xml("query", { xmlns: NS_DISCO_INFO })));
    const q = child(res);
    expect(q.getChildren("identity").map((i) => `${i.attrs.category}/${i.attrs.type}`)).toEqual(["component/generic", "pubsub/service"]);
    expect(q.getChildren("feature").map((f) => f.attrs.var)).toEqual(expect.arrayContaining([NS_MLS, NS_PUBSUB, "http://jabber.org/protocol/rsm"]));
    const info = parseDsInfoForm(q.getChild("x", NS_DATA_FORMS) as never);
    expect(info.cipherSuites).toContain(1);
    expect(decode(info.externalSender, readExternalSender, "ExternalSender").signatureKey).toHaveLength(32);
  });

  it("publishes KeyPackages, claims them atomically (last resort stays) and sends low-water notices", async () => {
    const bobDesktop = await connect("bob", "kp-desktop");
    const alice = await connect("alice", "kp");
    const bob = jidOf("bob");
    const publish = async (device: string, lastResort: boolean): Promise<string> => {
      const kp = await makeKeyPackage(`${bob}/${device}`, { lastResort });
      await bobDesktop.iq(xml("iq", { type: "set", to: ds }, buildKeyPackagePublish({ owner: bob, ref: kp.ref, keyPackage: { device, cipherSuite: 1, lastResort, keyPackage: kp.message } }) as never));
      return kp.refHex;
    };
    const d1 = await publish("kp-desktop", false);
    const d2 = await publish("kp-desktop", false);
    const lr = await publish("kp-phone", true);

    const claim = async (): Promise<{ device: string; ref: string }[]> => {
      const res = await alice.iq(xml("iq", { type: "set", to: ds }, buildClaim({ jid: bob, cipherSuite: 1 }) as never));
      return parseKeyPackages(child(res) as never).keyPackages.map((k) => ({ device: k.device, ref: toHex(k.ref) }));
    };
    expect(await claim()).toEqual([{ device: "kp-desktop", ref: d1 }, { device: "kp-phone", ref: lr }]);
    expect(await claim()).toEqual([{ device: "kp-desktop", ref: d2 }, { device: "kp-phone", ref: lr }]);
    expect(await claim()).toEqual([{ device: "kp-phone", ref: lr }]);

    const notice = await bobDesktop.waitFor((el) => el.is("message") && el.getChild("key-packages-low", NS_MLS) !== undefined, "low-water notice");
    expect(notice.attrs.from).toBe(ds);
    expect(parseKeyPackagesLow(notice.getChild("key-packages-low", NS_MLS) as never).device).toBe("kp-desktop");

    const none = await iqError(alice.iq(xml("iq", { type: "set", to: ds }, buildClaim({ jid: jidOf("carol"), cipherSuite: 1 }) as never)));
    expect(none.condition).toBe("item-not-found");
    expect(none.app).toEqual({ name: "no-key-packages" });
  });

  it("binds a members-only room to a group, reflects an accepted commit, delivers the Welcome, refuses the loser, serves the log", async () => {
    const alice = await connect("alice", "phone");
    const bobDesktop = await connect("bob", "desktop");
    const room = `${uniqueId("mls")}@${server.mucDomain}`;
    const bob = jidOf("bob");

    // The owner configures the room and grants the DS admin and bob membership.
    await joinRoom(alice, room, "alice");
    await configureRoom(alice, room, { "muc#roomconfig_membersonly": "1", "muc#roomconfig_persistentroom": "1", "muc#roomconfig_whois": "anyone" });
    await setAffiliation(alice, room, ds, "admin");
    await setAffiliation(alice, room, bob, "member");

    // The DS's ExternalSender, as a client learns it from disco#info.
    const info = parseDsInfoForm(child(await alice.iq(xml("iq", { type: "get", to: ds }, xml("query", { xmlns: NS_DISCO_INFO })))).getChild("x", NS_DATA_FORMS) as never);
    const externalSender = decode(info.externalSender, readExternalSender, "ExternalSender");
    const creator = await makeKeyPackage(alice.jid);
    const gi = makeGroupInfo(creator, {
      room, ds,
      extensions: [xmppBindingExtension(room, ds), { extensionType: extensionTypes.external_senders, extensionData: encodeExternalSenders([externalSender]) }],
    });
    await alice.iq(xml("iq", { type: "set", to: ds }, buildCreate({ group: gi.groupId, room, groupInfo: gi.bytes }) as never));
    expect(gw.services.store.findGroupByRoom(room)?.groupId).toBe(toHex(gi.groupId));

    await joinRoom(bobDesktop, room, "bob");
    // Alice claims bob's desktop KeyPackage and adds it.
    const kp = await makeKeyPackage(bobDesktop.jid);
    await bobDesktop.iq(xml("iq", { type: "set", to: ds }, buildKeyPackagePublish({ owner: bob, ref: kp.ref, keyPackage: { device: "desktop", cipherSuite: 1, lastResort: false, keyPackage: kp.message } }) as never));
    const claimed = parseKeyPackages(child(await alice.iq(xml("iq", { type: "set", to: ds }, buildClaim({ jid: bob, cipherSuite: 1 }) as never))) as never);
    const claimedKp = claimed.keyPackages.find((k) => k.device === "desktop")!;
    const decoded = decodeMlsMessage(claimedKp.keyPackage);
    if (decoded.wireFormat !== wireFormats.mls_key_package) throw new Error("claimed bytes are not a KeyPackage");
    const commit = syntheticCommit(gi.groupId, 0n, { proposals: [addOf({ ...kp, keyPackage: decoded.keyPackage })] });
    const welcome = syntheticWelcome([claimedKp.ref]);
    const submitted = await alice.iq(
      xml("iq", { type: "set", to: ds }, buildSubmit({ group: gi.groupId, epoch: 0n, proposals: [], commit, welcome, groupInfo: makeEpochGroupInfo(gi.groupId, 1n, room, ds) }) as never),
    );
    expect(parseAccepted(child(submitted) as never)).toEqual({ seq: 1, epoch: 1n });

    // Reflected into the room by the DS occupant.
    const reflected = await bobDesktop.waitFor((el) => el.is("message") && el.attrs.type === "groupchat" && el.getChild("mls", NS_MLS) !== undefined, "reflected commit");
    expect(reflected.attrs.from).toBe(`${room}/mls-ds`);
    const mls = parseMls(reflected.getChild("mls", NS_MLS) as never);
    expect([mls.kind, mls.epoch, mls.seq]).toEqual(["commit", 0n, 1]);
    expect(mls.message).toEqual(commit);
    // The Welcome reaches bob's device at its full JID.
    const w = await bobDesktop.waitFor((el) => el.is("message") && el.getChild("welcome", NS_MLS) !== undefined, "Welcome");
    expect(w.attrs.from).toBe(ds);
    const welcomeEl = parseWelcome(w.getChild("welcome", NS_MLS) as never);
    expect([welcomeEl.room, welcomeEl.epoch, welcomeEl.seq]).toEqual([room, 1n, 1]);

    // The losing commit for epoch 0.
    const lost = await iqError(bobDesktop.iq(xml("iq", { type: "set", to: ds }, buildSubmit({ group: gi.groupId, epoch: 0n, proposals: [], commit: syntheticCommit(gi.groupId, 0n) }) as never)));
    expect(lost.type).toBe("modify");
    expect(lost.condition).toBe("conflict");
    expect(lost.app).toEqual({ name: "wrong-epoch", current: 1n });

    // Catch-up and GroupInfo.
    const log = parseLogResult(child(await bobDesktop.iq(xml("iq", { type: "get", to: ds }, buildLogRequest({ group: gi.groupId, afterEpoch: 0n, rsm: { max: 10 } }) as never))) as never);
    expect(log.entries.map((e) => [e.seq, e.kind, e.epoch, e.sender])).toEqual([[1, "commit", 0n, alice.jid], [2, "welcome-record", 1n, alice.jid]]);
    expect(log.entries[0]!.message).toEqual(commit);
    expect(log.rsm.count).toBe(2);
    const info2 = parseGroupInfoResult(child(await bobDesktop.iq(xml("iq", { type: "get", to: ds }, buildGroupInfoRequest({ room }) as never))) as never);
    expect(info2.epoch).toBe(1n);

    // Revoking bob's membership reaches the removal hook.
    await setAffiliation(alice, room, bob, "none");
    await expect.poll(() => revoked.filter((r) => r.room === room).map((r) => r.jid), { timeout: 5000 }).toContain(bob);
    const notMember = await iqError(bobDesktop.iq(xml("iq", { type: "get", to: ds }, buildLogRequest({ group: gi.groupId }) as never)));
    expect(notMember.app).toEqual({ name: "policy-violation", reason: "not-member" });
  });
});
