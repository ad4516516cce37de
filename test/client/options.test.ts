import { describe, expect, it } from "vitest";
import { resolveOptions } from "../../src/client/options.js";
import { checkFrame } from "../../src/client/room-common.js";
import { updateDue } from "../../src/client/room-outbound.js";
import type { RoomSession } from "../../src/client/room-session.js";
import { MemoryStore } from "../../src/client/store/client-store.js";
import { contentTypes, protocolVersions, wireFormats } from "../../src/mls/core/protocol.js";
import type { MlsMessage } from "../../src/mls/framing/mls-message.js";
import { fromHex } from "../../src/util/bytes.js";

describe("options", () => {
  it("has the documented defaults", () => {
    const o = resolveOptions();
    expect(o.cipherSuite).toBe(1);
    expect(o.provider.name).toBe("native");
    expect(o.store).toBeInstanceOf(MemoryStore);
    expect(o.keyPackagePoolSize).toBe(10);
    expect(o.keyPackageLowWater).toBe(2);
    expect(o.updateIntervalMs).toBe(24 * 3600 * 1000);
    expect(o.updateAfterMessages).toBeUndefined();
    expect(o.handshakeWireFormat).toBe("public");
    expect(o.proposalCommitDelayMs).toEqual({ min: 0, max: 30_000 });
    expect(o.commitAttempts).toBe(5);
    expect(o.nick({ local: "alice", deviceId: "phone", room: "r@c" })).toBe("alice.phone");
    expect(resolveOptions({ crypto: "portable" }).provider.name).toBe("portable");
    // Worker threads: the shared pool with the native provider, none otherwise, or as asked.
    expect(o.workers).toBe(true);
    expect(resolveOptions({ crypto: "portable" }).workers).toBe(false);
    expect(resolveOptions({ workers: false }).workers).toBe(0);
    expect(resolveOptions({ workers: 3 }).workers).toBe(3);
    expect(resolveOptions({ crypto: "portable", workers: true }).workers).toBe(true);
  });

  it("rejects inconsistent values", () => {
    expect(() => resolveOptions({ keyPackagePoolSize: 2, keyPackageLowWater: 2 })).toThrow(/keyPackageLowWater/);
    expect(() => resolveOptions({ cipherSuite: 0 })).toThrow(/cipherSuite/);
    expect(() => resolveOptions({ cipherSuite: 99 })).toThrow(/does not support/);
    expect(() => resolveOptions({ proposalCommitDelayMs: { min: 5, max: 1 } })).toThrow(/proposalCommitDelayMs/);
    expect(() => resolveOptions({ handshakeWireFormat: "loud" as "public" })).toThrow(/handshakeWireFormat/);
    expect(() => resolveOptions({ updateAfterMessages: 0 })).toThrow(/updateAfterMessages/);
    expect(() => resolveOptions({ workers: -1 })).toThrow(/workers/);
    expect(() => resolveOptions({ workers: 1.5 })).toThrow(/workers/);
  });
});

describe("update cadence", () => {
  const session = (lastUpdateAt: number, sentSinceUpdate: number, after?: number): RoomSession =>
    ({ lastUpdateAt, sentSinceUpdate, ctx: { opts: resolveOptions({ updateIntervalMs: 1000, ...(after !== undefined && { updateAfterMessages: after }) }) } }) as unknown as RoomSession;

  it("is due after the interval, or after N messages when configured", () => {
    expect(updateDue(session(10_000, 0), 10_500)).toBe(false);
    expect(updateDue(session(10_000, 0), 11_000)).toBe(true);
    expect(updateDue(session(10_000, 50), 10_500)).toBe(false);
    expect(updateDue(session(10_000, 2, 3), 10_500)).toBe(false);
    expect(updateDue(session(10_000, 3, 3), 10_500)).toBe(true);
  });
});

describe("attribute check of received messages", () => {
  const group = fromHex("9f3c2a7b");
  const msg = (epoch: bigint, contentType: number): MlsMessage => ({
    version: protocolVersions.mls10,
    wireFormat: wireFormats.mls_private_message,
    privateMessage: { groupId: group, epoch, contentType: contentType as never, authenticatedData: new Uint8Array(0), encryptedSenderData: new Uint8Array(1), ciphertext: new Uint8Array(1) },
  });

  it("accepts matching group, epoch and kind and rejects any mismatch", () => {
    expect(() => checkFrame(msg(6n, contentTypes.application), group, 6n, "application")).not.toThrow();
    expect(() => checkFrame(msg(6n, contentTypes.commit), group, 6n, "commit")).not.toThrow();
    expect(() => checkFrame(msg(6n, contentTypes.application), group, 5n, "application")).toThrow(/disagrees/);
    expect(() => checkFrame(msg(6n, contentTypes.proposal), group, 6n, "commit")).toThrow(/disagrees/);
    expect(() => checkFrame(msg(6n, contentTypes.application), fromHex("9f3c2a7c"), 6n, "application")).toThrow(/disagrees/);
    const welcome = { version: protocolVersions.mls10, wireFormat: wireFormats.mls_welcome, welcome: { cipherSuite: 1, secrets: [], encryptedGroupInfo: new Uint8Array(0) } } as MlsMessage;
    expect(() => checkFrame(welcome, group, 6n, "commit")).toThrow(/not a group message/);
  });
});
