import { describe, expect, it } from "vitest";
import { deviceIdFromResource, loadOrCreateDevice, splitIdentity, xmppAuthenticationService } from "../../src/client/device.js";
import { Mutex } from "../../src/client/mutex.js";
import { MemoryStore } from "../../src/client/store/client-store.js";
import { nativeProvider } from "../../src/crypto/native/index.js";
import { credentialTypes } from "../../src/mls/core/protocol.js";
import { bytesEqual, fromUtf8, utf8 } from "../../src/util/bytes.js";

const cs = nativeProvider.suite(1);

describe("device identity", () => {
  it("is created once and then loaded from the store with the same key", async () => {
    const store = new MemoryStore();
    const a = await loadOrCreateDevice(store, cs, "alice@example.org/laptop", undefined);
    expect(a.created).toBe(true);
    expect(a.device.deviceId).toBe("laptop");
    expect(a.device.identity).toBe("alice@example.org/laptop");
    expect(a.device.credential.credentialType).toBe(credentialTypes.basic);
    expect(fromUtf8((a.device.credential as { identity: Uint8Array }).identity)).toBe("alice@example.org/laptop");
    // Reconnecting with another resource keeps the stored device id and key.
    const b = await loadOrCreateDevice(store, cs, "alice@example.org/other", undefined);
    expect(b.created).toBe(false);
    expect(b.device.deviceId).toBe("laptop");
    expect(bytesEqual(b.device.signaturePrivateKey, a.device.signaturePrivateKey)).toBe(true);
  });

  it("refuses a store of another account, another device id or another suite", async () => {
    const store = new MemoryStore();
    await loadOrCreateDevice(store, cs, "alice@example.org/laptop", "laptop");
    await expect(loadOrCreateDevice(store, cs, "bob@example.org/laptop", undefined)).rejects.toMatchObject({ code: "usage.store_account_mismatch" });
    await expect(loadOrCreateDevice(store, cs, "alice@example.org/laptop", "phone")).rejects.toMatchObject({ code: "usage.device_id_mismatch" });
    await expect(loadOrCreateDevice(store, nativeProvider.suite(3), "alice@example.org/laptop", undefined)).rejects.toMatchObject({ code: "usage.store_suite_mismatch" });
    await expect(loadOrCreateDevice(new MemoryStore(), cs, "alice@example.org/x", "bad id!")).rejects.toMatchObject({ code: "usage.bad_device_id" });
  });

  it("derives a valid, stable device id from a resource that is not one", () => {
    expect(deviceIdFromResource(cs, "phone-8b1f")).toBe("phone-8b1f");
    const d = deviceIdFromResource(cs, "Conversations.xYz/ü");
    expect(d).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(deviceIdFromResource(cs, "Conversations.xYz/ü")).toBe(d);
  });

  it("the authentication service accepts device JIDs, and a domain JID only as external sender", async () => {
    const as = xmppAuthenticationService();
    const cred = (s: string) => ({ credentialType: credentialTypes.basic, identity: utf8(s) }) as const;
    const ctx = { cipherSuite: 1 };
    await expect(Promise.resolve(as.validateCredential(cred("alice@example.org/laptop"), new Uint8Array(32), ctx))).resolves.toBeUndefined();
    for (const bad of ["alice@example.org", "mls.example.org", "alice@example.org/bad device", ""]) {
      await expect(Promise.resolve().then(() => as.validateCredential(cred(bad), new Uint8Array(32), ctx))).rejects.toThrow();
    }
    await expect(Promise.resolve(as.validateCredential(cred("mls.example.org"), new Uint8Array(32), { ...ctx, purpose: "external_sender" }))).resolves.toBeUndefined();
    expect(as.identity(cred("alice@example.org/laptop"))).toBe("alice@example.org/laptop");
    expect(splitIdentity("alice@example.org/laptop")).toEqual({ jid: "alice@example.org", device: "laptop" });
  });
});

describe("Mutex", () => {
  it("runs tasks one at a time in order, and a failure does not block the next", async () => {
    const m = new Mutex();
    const log: string[] = [];
    const task = (name: string, ms: number, fail = false) =>
      m.run(async () => {
        log.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([task("a", 20), task("b", 1, true), task("c", 5)]);
    expect(log).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(m.depth).toBe(0);
  });
});
