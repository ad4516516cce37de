/**
 * The harness against both real servers: the XMPP features later integration tests build on.
 * Servers come from test/servers/global-setup.ts (started once for the integration project).
 */
import { afterEach, expect, it } from "vitest";
import type { Component } from "@xmpp/component";
import { xml } from "@xmpp/xml";
import { connectClient, connectComponent } from "../servers/client.js";
import { describeEachServer } from "../servers/context.js";
import {
  NS,
  configureRoom,
  errorCondition,
  formTrue,
  isChatFrom,
  joinRoom,
  mamQuery,
  mucStatusCodes,
  pepItems,
  pepPublish,
  roomConfig,
  setAffiliation,
  uniqueId,
} from "../servers/stanzas.js";

const NS_TEST = "urn:xmpp-mls:test:0";

describeEachServer("XMPP test server", (server) => {
  const open: { stop(): Promise<void> }[] = [];
  const track = <T extends { stop(): Promise<void> }>(c: T): T => {
    open.push(c);
    return c;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.stop()));
  });
  const jidOf = (user: string): string => `${user}@${server.domain}`;

  it("has the configured accounts and connection data", () => {
    expect(server.users).toEqual(["alice", "bob", "carol", "dave", "erin"]);
    expect(server.componentDomain).toBe(`mls.${server.domain}`);
    expect(server.mucDomain).toBe(`conference.${server.domain}`);
    expect(server.pid).toBeGreaterThan(0);
  });

  it("two users exchange a chat message", async () => {
    const alice = track(await connectClient(server, "alice", "chat"));
    const bob = track(await connectClient(server, "bob", "chat"));
    expect(alice.jid).toBe(`${jidOf("alice")}/chat`);

    const hello = uniqueId("hello");
    await alice.send(xml("message", { to: bob.bareJid, type: "chat" }, xml("body", {}, hello)));
    const got = await bob.waitFor(isChatFrom(alice.jid, hello), "alice's message at bob");
    expect(got.attrs.type).toBe("chat");

    const reply = uniqueId("reply");
    await bob.send(xml("message", { to: got.attrs.from, type: "chat" }, xml("body", {}, reply)));
    const back = await alice.waitFor(isChatFrom(bob.jid, reply), "bob's reply at alice");
    expect(back.attrs.to).toBe(alice.jid);
  });

  it("the component receives an iq and answers it", async () => {
    const comp = track(await connectComponent(server));
    comp.xmpp.iqCallee.get(NS_TEST, "echo", (ctx) =>
      xml("echo", { xmlns: NS_TEST }, xml("from", {}, ctx.stanza.attrs.from ?? ""), xml("text", {}, ctx.element.getChildText("text") ?? "")),
    );
    const alice = track(await connectClient(server, "alice", "component"));

    const res = await alice.iq(xml("iq", { type: "get", to: server.componentDomain }, xml("echo", { xmlns: NS_TEST }, xml("text", {}, "ping"))));
    expect(res.attrs.type).toBe("result");
    expect(res.attrs.from).toBe(server.componentDomain);
    const echo = res.getChild("echo", NS_TEST);
    expect(echo?.getChildText("from")).toBe(alice.jid);
    expect(echo?.getChildText("text")).toBe("ping");

    // The component may send as any JID under its domain (the gateway will use this).
    const body = uniqueId("from-component");
    await comp.send(xml("message", { from: `gw@${server.componentDomain}`, to: alice.jid, type: "chat" }, xml("body", {}, body)));
    const msg = await alice.waitFor(isChatFrom(`gw@${server.componentDomain}`, body), "component message at alice");
    expect(msg.attrs.from).toBe(`gw@${server.componentDomain}`);
  });

  it("the component is refused with a wrong secret, and does not retry", async () => {
    let entity: Component | undefined;
    let connects = 0;
    const err: unknown = await connectComponent(server, {
      secret: "not-the-secret",
      timeoutMs: 5000,
      onEntity: (xmpp) => {
        entity = xmpp;
        xmpp.on("connect", () => connects++);
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as { condition?: string }).condition).toBe("not-authorized");
    // xmpp.js would reconnect after its fixed 1 s delay; nothing may happen.
    await new Promise((r) => setTimeout(r, 1300));
    expect(connects).toBe(1);
    expect(["disconnect", "offline"]).toContain(entity?.status);
    // The right secret still works afterwards.
    const comp = track(await connectComponent(server));
    expect(comp.jid).toBe(server.componentDomain);
  });

  it("a members-only persistent room: the owner creates it, a member joins and gets the groupchat, an outsider is refused", async () => {
    const room = `${uniqueId("room")}@${server.mucDomain}`;
    const alice = track(await connectClient(server, "alice", "muc"));
    const bob = track(await connectClient(server, "bob", "muc"));
    const carol = track(await connectClient(server, "carol", "muc"));

    const created = await joinRoom(alice, room, "alice");
    expect(created.attrs.type).toBeUndefined();
    expect(mucStatusCodes(created)).toEqual(expect.arrayContaining(["110", "201"]));

    await configureRoom(alice, room, { "muc#roomconfig_membersonly": "1", "muc#roomconfig_persistentroom": "1" });
    const config = await roomConfig(alice, room);
    expect(formTrue(config.get("muc#roomconfig_membersonly"))).toBe(true);
    expect(formTrue(config.get("muc#roomconfig_persistentroom"))).toBe(true);
    await setAffiliation(alice, room, bob.bareJid, "member");

    const refused = await joinRoom(carol, room, "carol");
    expect(refused.attrs.type).toBe("error");
    expect(errorCondition(refused)).toBe("registration-required");

    const joined = await joinRoom(bob, room, "bob");
    expect(joined.attrs.type).toBeUndefined();
    expect(mucStatusCodes(joined)).toContain("110");

    const text = uniqueId("groupchat");
    await alice.send(xml("message", { to: room, type: "groupchat" }, xml("body", {}, text), xml("payload", { xmlns: NS_TEST }, "opaque")));
    const got = await bob.waitFor((el) => el.is("message") && el.attrs.type === "groupchat" && el.getChildText("body") === text, "groupchat at bob");
    expect(got.attrs.from).toBe(`${room}/alice`);
    expect(got.getChildText("payload", NS_TEST)).toBe("opaque");
  });

  it("MAM on the room returns the groupchat message", async () => {
    const room = `${uniqueId("mam")}@${server.mucDomain}`;
    const alice = track(await connectClient(server, "alice", "mam"));
    const bob = track(await connectClient(server, "bob", "mam"));
    await joinRoom(alice, room, "alice");
    await configureRoom(alice, room, { "muc#roomconfig_membersonly": "1", "muc#roomconfig_persistentroom": "1" });
    await setAffiliation(alice, room, bob.bareJid, "member");
    await joinRoom(bob, room, "bob");

    const text = uniqueId("archived");
    await alice.send(xml("message", { to: room, type: "groupchat" }, xml("body", {}, text)));
    await bob.waitFor((el) => el.is("message") && el.getChildText("body") === text, "groupchat at bob");

    const { messages, fin } = await mamQuery(bob, room);
    const archived = messages.filter((m) => m.getChildText("body") === text);
    expect(archived).toHaveLength(1);
    expect(archived[0]?.attrs.type).toBe("groupchat");
    expect(archived[0]?.attrs.from).toBe(`${room}/alice`);
    expect(fin.attrs.complete).toBe("true");
  });

  it("PEP: a user publishes an open item, another user fetches it", async () => {
    const alice = track(await connectClient(server, "alice", "pep"));
    const bob = track(await connectClient(server, "bob", "pep"));
    const node = `${NS_TEST}:${uniqueId("node")}`;
    const data = uniqueId("data");
    await pepPublish(alice, node, "current", xml("payload", { xmlns: NS_TEST }, data));

    const items = await pepItems(bob, alice.bareJid, node);
    expect(items).toHaveLength(1);
    expect(items[0]?.attrs.id).toBe("current");
    expect(items[0]?.getChildText("payload", NS_TEST)).toBe(data);
  });

  it("an offline message to a disconnected user is delivered on reconnect", async () => {
    const dave = await connectClient(server, "dave", "offline");
    await dave.stop();
    const erin = track(await connectClient(server, "erin", "offline"));

    const text = uniqueId("offline");
    await erin.send(xml("message", { to: jidOf("dave"), type: "chat" }, xml("body", {}, text)));
    // Stanzas of one session are handled in order: after this answer the message is stored.
    await erin.iq(xml("iq", { type: "get", to: server.domain }, xml("ping", { xmlns: "urn:xmpp:ping" })));

    const again = track(await connectClient(server, "dave", "offline"));
    const got = await again.waitFor(isChatFrom(erin.jid, text), "offline message at dave");
    expect(got.getChild("delay", NS.delay)).toBeDefined();
  });
});
