/**
 * The gateway with its default commit validator, the PublicGroup observer, and its default
 * affiliation hook, against real Prosody and ejabberd: a real MLS group (PublicMessage
 * handshakes) bound to a members-only room; the owner adds a member, a member's add of someone
 * else is refused by the group policy, and revoking the member's affiliation makes the hub propose
 * his removal into the room, which the owner's device processes and commits.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Element } from "@xmpp/xml";
import { decode } from "../../src/codec/reader.js";
import type { Gateway } from "../../src/component/gateway.js";
import { observerAuthenticationService } from "../../src/component/observer-validator.js";
import { xmppBindingExtension } from "../../src/xmpp/binding-extension.js";
import { extensionTypes } from "../../src/mls/core/extension.js";
import { encodeExternalSenders, readExternalSender } from "../../src/mls/core/external-senders.js";
import { proposalTypes, wireFormats } from "../../src/mls/core/protocol.js";
import { decodeMlsMessage, encodeMlsMessage, type MlsMessage } from "../../src/mls/framing/mls-message.js";
import { createCommit, createGroup, createGroupInfo, groupConfig, groupInfoMessage, joinFromWelcome, mergeStagedCommit, processMessage, type CreatedCommit, type GroupState } from "../../src/mls/group/index.js";
import { toHex } from "../../src/util/bytes.js";
import { parseMls, parseWelcome } from "../../src/xmpp/delivery-stanzas.js";
import { parseDsInfoForm } from "../../src/xmpp/ds-info.js";
import { buildCreate } from "../../src/xmpp/group-stanzas.js";
import { buildClaim, buildKeyPackagePublish, parseKeyPackages } from "../../src/xmpp/key-package-stanzas.js";
import { NS_DATA_FORMS, NS_DISCO_INFO, NS_MLS } from "../../src/xmpp/ns.js";
import { buildSubmit, parseAccepted } from "../../src/xmpp/submit-stanzas.js";
import { xml } from "../../src/xmpp/xml.js";
import type { TestClient } from "../servers/client.js";
import { describeEachServer } from "../servers/context.js";
import { configureRoom, joinRoom, setAffiliation, uniqueId } from "../servers/stanzas.js";
import type { ServerInfo } from "../servers/types.js";
import { firstChild as child, gatewayErrors, scenario, stanzaError as iqError } from "./helpers/acceptance.js";
import { cs, makeKeyPackage } from "../component/gateway-helpers/mls-fixtures.js";

/** What members use: PublicMessage handshakes, so that the hub can validate them. */
const config = groupConfig({ authenticationService: observerAuthenticationService, handshakeWireFormat: "public" });
const wire = (m: MlsMessage): Uint8Array => encodeMlsMessage(m);

describeEachServer("DS gateway with the PublicGroup observer", (server: ServerInfo) => {
  const h = scenario(server);
  let gw: Gateway;
  const ds = server.componentDomain;
  const jidOf = (u: string): string => `${u}@${server.domain}`;
  const connect = (user: string, resource: string) => h.client(user, resource);

  beforeAll(async () => {
    // The defaults: the observer validates, revocations become the hub's Remove proposals.
    gw = await h.startGateway();
  });

  afterAll(async () => {
    await h.close();
    expect(gatewayErrors(h.gatewayLog)).toEqual([]);
  });

  it("admin adds, a member's add is refused, a revoked member's device is proposed for removal and committed", async () => {
    expect(gw.services.observer).not.toBeNull();
    const alice = await connect("alice", "obs-phone");
    const bob = await connect("bob", "obs-desktop");
    const room = `${uniqueId("mls-obs")}@${server.mucDomain}`;

    await joinRoom(alice, room, "alice");
    await configureRoom(alice, room, { "muc#roomconfig_membersonly": "1", "muc#roomconfig_persistentroom": "1", "muc#roomconfig_whois": "anyone" });
    await setAffiliation(alice, room, ds, "admin");
    await setAffiliation(alice, room, jidOf("bob"), "member");
    await setAffiliation(alice, room, jidOf("carol"), "member");

    // Alice's device creates the group with the hub's ExternalSender (from disco#info) and binds the room.
    const info = parseDsInfoForm(child(await alice.iq(xml("iq", { type: "get", to: ds }, xml("query", { xmlns: NS_DISCO_INFO })) as never)).getChild("x", NS_DATA_FORMS) as never);
    const hub = decode(info.externalSender, readExternalSender, "ExternalSender");
    const aliceKp = await makeKeyPackage(alice.jid);
    let aliceState: GroupState = await createGroup({
      cs, config, leaf: { keyPackage: aliceKp.keyPackage, privateKeys: aliceKp.privateKeys },
      extensions: [xmppBindingExtension(room, ds), { extensionType: extensionTypes.external_senders, extensionData: encodeExternalSenders([hub]) }],
    });
    const group = aliceState.groupId;
    await alice.iq(xml("iq", { type: "set", to: ds }, buildCreate({ group, room, groupInfo: wire(groupInfoMessage(await createGroupInfo(aliceState))) }) as never));
    expect(gw.services.store.findGroupByRoom(room)?.groupId).toBe(toHex(group));
    await joinRoom(bob, room, "bob");

    const submit = (c: TestClient, created: CreatedCommit, epoch: bigint): Promise<Element> =>
      c.iq(xml("iq", { type: "set", to: ds }, buildSubmit({
        group, epoch, proposals: [], commit: wire(created.commitMessage),
        ...(created.welcome !== null && { welcome: wire(created.welcome) }),
        ...(created.groupInfo !== null && { groupInfo: wire(created.groupInfo) }),
      }) as never));

    // Bob publishes a KeyPackage; alice (owner) claims it and adds bob's device.
    const bobKp = await makeKeyPackage(bob.jid);
    await bob.iq(xml("iq", { type: "set", to: ds }, buildKeyPackagePublish({ owner: jidOf("bob"), ref: bobKp.ref, keyPackage: { device: "obs-desktop", cipherSuite: 1, lastResort: false, keyPackage: bobKp.message } }) as never));
    const claimed = parseKeyPackages(child(await alice.iq(xml("iq", { type: "set", to: ds }, buildClaim({ jid: jidOf("bob"), cipherSuite: 1 }) as never))) as never);
    const kpMsg = decodeMlsMessage(claimed.keyPackages.find((k) => k.device === "obs-desktop")!.keyPackage);
    if (kpMsg.wireFormat !== wireFormats.mls_key_package) throw new Error("claimed bytes are not a KeyPackage");
    const add = await createCommit(aliceState, { proposals: [{ proposalType: proposalTypes.add, add: { keyPackage: kpMsg.keyPackage } }] });
    expect(parseAccepted(child(await submit(alice, add, 0n)) as never)).toEqual({ seq: 1, epoch: 1n });
    aliceState = mergeStagedCommit(aliceState, add.staged);

    // Bob joins from the Welcome the hub routed to his device.
    const w = await bob.waitFor((el) => el.is("message") && el.getChild("welcome", NS_MLS) !== undefined, "Welcome");
    const welcome = decodeMlsMessage(parseWelcome(w.getChild("welcome", NS_MLS) as never).welcome);
    const bobState = (await joinFromWelcome({ cs, config, welcome, keyPackage: bobKp.keyPackage, keyPackagePrivateKeys: bobKp.privateKeys })).state;
    expect(bobState.epoch).toBe(1n);

    // Bob is only a member: adding carol's device is not his to do.
    const carolKp = await makeKeyPackage(`${jidOf("carol")}/obs-laptop`);
    const bobAdds = await createCommit(bobState, { proposals: [{ proposalType: proposalTypes.add, add: { keyPackage: carolKp.keyPackage } }] });
    const refused = await iqError(submit(bob, bobAdds, 1n));
    expect(refused.condition).toBe("not-allowed");
    expect(refused.app).toEqual({ name: "policy-violation", reason: "not-authorized-add" });
    expect(gw.services.store.getGroup(toHex(group)).epoch).toBe(1n);

    // The owner revokes bob's membership: the hub reflects a Remove of bob's leaf into the room.
    await setAffiliation(alice, room, jidOf("bob"), "none");
    const reflected = await alice.waitFor(
      (el) => el.is("message") && el.attrs.type === "groupchat" && el.getChild("mls", NS_MLS)?.attrs.kind === "proposal",
      "the hub's Remove proposal",
    );
    expect(reflected.attrs.from).toBe(`${room}/mls-ds`);
    const mls = parseMls(reflected.getChild("mls", NS_MLS) as never);
    expect([mls.kind, mls.epoch]).toEqual(["proposal", 1n]);
    const processed = await processMessage(aliceState, mls.message);
    if (processed.kind !== "proposal") throw new Error(`expected a proposal, got ${processed.kind}`);
    expect(processed.proposal).toEqual({ proposalType: proposalTypes.remove, remove: { removed: bobState.ownLeafIndex } });
    aliceState = processed.state;

    // Alice commits it (by reference); the hub accepts and the group is alice alone again.
    const removal = await createCommit(aliceState);
    expect(parseAccepted(child(await submit(alice, removal, 1n)) as never)).toMatchObject({ epoch: 2n });
    aliceState = mergeStagedCommit(aliceState, removal.staged);
    expect(aliceState.members().map((m) => m.identity)).toEqual([alice.jid]);
    const view = await gw.services.observer!.viewOf(gw.services.store.getGroup(toHex(group)));
    expect(view?.members().map((m) => m.identity)).toEqual([alice.jid]);
    expect(toHex(view!.treeHash)).toBe(toHex(aliceState.groupContext.treeHash));
  });
});
