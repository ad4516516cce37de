/** KeyDirectory rules, with a fake KeyPackage validator and the in-memory store. */

import { describe, expect, it, vi } from "vitest";
import { DsError, RateLimitedError, type DsErrorCode } from "../../src/component/errors.js";
import { KeyDirectory, type KeyDirectoryOptions, type KeyPackageInfo } from "../../src/component/key-directory.js";
import { RateLimiter } from "../../src/component/rate-limit.js";
import { MemoryStore } from "../../src/component/store/memory-store.js";
import { ValidationError, XmppMlsError } from "../../src/errors.js";
import { freshRef } from "./helpers/fixtures.js";

/** The fake validator reads the "KeyPackage" as JSON of the info it should report. */
function fakeKeyPackage(info: Partial<KeyPackageInfo> & { identity: string }): { bytes: Uint8Array; ref: string } {
  const full: KeyPackageInfo = { ref: freshRef(), cipherSuite: 1, lastResort: false, ...info };
  return { bytes: new TextEncoder().encode(JSON.stringify(full)), ref: full.ref };
}

function fakeValidate(bytes: Uint8Array): KeyPackageInfo {
  const text = new TextDecoder().decode(bytes);
  if (text === "garbage") throw new ValidationError("bad_signature", "signature does not verify", "RFC 9420 §10.1");
  return JSON.parse(text) as KeyPackageInfo;
}

function setup(over: Partial<KeyDirectoryOptions> = {}) {
  const store = new MemoryStore();
  let t = 1_000;
  const validateKeyPackage = vi.fn(fakeValidate);
  const dir = new KeyDirectory({
    store,
    validateKeyPackage,
    allowedCipherSuites: [1, 3],
    maxKeyPackagesPerDevice: 5,
    lowWaterMark: 2,
    now: () => ++t,
    ...over,
  });
  const publish = (jid: string, device: string, info: Partial<KeyPackageInfo> = {}, itemId?: string) => {
    const kp = fakeKeyPackage({ identity: `${jid.split("/")[0]}/${device}`, ...info });
    return dir.publish(jid, device, itemId ?? kp.ref, kp.bytes);
  };
  return { store, dir, publish, validateKeyPackage };
}

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<DsErrorCode | undefined> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(DsError);
    expect(e).toBeInstanceOf(XmppMlsError);
    return (e as DsError).code;
  }
  return undefined;
}

const ALICE = "alice@example.org/laptop-res";

describe("KeyDirectory.publish", () => {
  it("stores a valid KeyPackage under the publisher's bare JID", async () => {
    const { dir, publish, store } = setup();
    const out = await publish(ALICE, "dev1");
    expect(out).toMatchObject({ owner: "alice@example.org", deviceId: "dev1", cipherSuite: 1, lastResort: false, duplicate: false });
    expect(store.listKeyPackages("alice@example.org").map((k) => k.ref)).toEqual([out.ref]);
    expect(dir.list(ALICE, "alice@example.org")).toHaveLength(1);
  });

  it("compares the bare JID case-insensitively and the device id exactly", async () => {
    const { publish } = setup();
    await expect(publish("Alice@Example.ORG/x", "dev1", { identity: "alice@example.org/dev1" })).resolves.toMatchObject({ owner: "alice@example.org" });
    expect(await codeOf(publish(ALICE, "dev1", { identity: "alice@example.org/DEV1" }))).toBe("ds.identity_mismatch");
  });

  it.each([
    ["another user", "bob@example.org/dev1"],
    ["another device", "alice@example.org/dev2"],
    ["a bare JID", "alice@example.org"],
    ["another domain", "alice@evil.example/dev1"],
    ["an empty identity", ""],
    ["a suffix of the expected one", "xalice@example.org/dev1"],
  ])("rejects an identity of %s", async (_name, identity) => {
    const { publish, store } = setup();
    expect(await codeOf(publish(ALICE, "dev1", { identity }))).toBe("ds.identity_mismatch");
    expect(store.listKeyPackages("alice@example.org")).toEqual([]);
  });

  it("requires the item id to be the KeyPackageRef in lowercase hex", async () => {
    const { publish } = setup();
    const ref = freshRef().replace(/0/g, "a");
    expect(await codeOf(publish(ALICE, "dev1", { ref }, "something-else"))).toBe("ds.item_id_mismatch");
    expect(await codeOf(publish(ALICE, "dev1", { ref }, ref.toUpperCase()))).toBe("ds.item_id_mismatch");
    await expect(publish(ALICE, "dev1", { ref: ref.toUpperCase() }, ref)).resolves.toMatchObject({ ref });
  });

  it("rejects cipher suites not allowed by the policy", async () => {
    const { publish } = setup();
    expect(await codeOf(publish(ALICE, "dev1", { cipherSuite: 2 }))).toBe("ds.unsupported_cipher_suite");
    await expect(publish(ALICE, "dev1", { cipherSuite: 3 })).resolves.toMatchObject({ cipherSuite: 3 });
  });

  it("turns validator failures into ds.invalid_key_package, keeping the cause", async () => {
    const { dir, store } = setup();
    try {
      await dir.publish(ALICE, "dev1", "ab", new TextEncoder().encode("garbage"));
      expect.unreachable("should have thrown");
    } catch (e) {
      expect((e as DsError).code).toBe("ds.invalid_key_package");
      expect((e as Error).message).toContain("valid.bad_signature");
      expect((e as Error).cause).toBeInstanceOf(ValidationError);
    }
    const weird = setup({ validateKeyPackage: () => ({ ref: "zz", cipherSuite: 1, identity: "alice@example.org/dev1", lastResort: false }) });
    expect(await codeOf(weird.dir.publish(ALICE, "dev1", "zz", new Uint8Array([1])))).toBe("ds.invalid_key_package");
    const asyncFail = setup({ validateKeyPackage: () => Promise.reject(new Error("boom")) });
    expect(await codeOf(asyncFail.dir.publish(ALICE, "dev1", "ab", new Uint8Array([1])))).toBe("ds.invalid_key_package");
    expect(store.listKeyPackages("alice@example.org")).toEqual([]);
  });

  it("caps ordinary KeyPackages per device; last-resort ones are not counted", async () => {
    const { publish } = setup();
    for (let i = 0; i < 5; i++) await publish(ALICE, "dev1");
    expect(await codeOf(publish(ALICE, "dev1"))).toBe("ds.too_many_key_packages");
    await expect(publish(ALICE, "dev1", { lastResort: true })).resolves.toMatchObject({ lastResort: true });
    await expect(publish(ALICE, "dev2")).resolves.toMatchObject({ deviceId: "dev2" });
  });

  it("replaces the device's last-resort KeyPackage and reports the old ref", async () => {
    const { publish, store } = setup();
    const first = await publish(ALICE, "dev1", { lastResort: true });
    const second = await publish(ALICE, "dev1", { lastResort: true });
    expect(second.replacedLastResortRef).toBe(first.ref);
    expect(store.listKeyPackages("alice@example.org").map((k) => k.ref)).toEqual([second.ref]);
  });

  it("is idempotent for the same KeyPackage", async () => {
    const { dir, store } = setup();
    const kp = fakeKeyPackage({ identity: "alice@example.org/dev1" });
    expect((await dir.publish(ALICE, "dev1", kp.ref, kp.bytes)).duplicate).toBe(false);
    expect((await dir.publish(ALICE, "dev1", kp.ref, kp.bytes)).duplicate).toBe(true);
    expect(store.listKeyPackages("alice@example.org")).toHaveLength(1);
  });

  it("rejects malformed requests as ds.bad_request without calling the validator", async () => {
    const { dir, validateKeyPackage } = setup();
    const kp = fakeKeyPackage({ identity: "alice@example.org/dev1" });
    expect(await codeOf(dir.publish("not a jid", "dev1", kp.ref, kp.bytes))).toBe("ds.bad_request");
    expect(await codeOf(dir.publish(ALICE, "", kp.ref, kp.bytes))).toBe("ds.bad_request");
    expect(await codeOf(dir.publish(ALICE, "dev 1", kp.ref, kp.bytes))).toBe("ds.bad_request");
    expect(await codeOf(dir.publish(ALICE, "dev1", "", kp.bytes))).toBe("ds.bad_request");
    expect(await codeOf(dir.publish(ALICE, "dev1", kp.ref, new Uint8Array(0)))).toBe("ds.bad_request");
    expect(validateKeyPackage).not.toHaveBeenCalled();
  });

  it("rate-limits publishes per bare JID before validating", async () => {
    const limiter = new RateLimiter<"publish" | "claim">({ rules: { publish: { perMinute: 2 }, claim: { perMinute: 100 } }, now: () => 0 });
    const { publish, validateKeyPackage } = setup({ rateLimiter: limiter });
    await publish("alice@example.org/a", "dev1");
    await publish("alice@example.org/b", "dev2");
    const e = await publish("alice@example.org/c", "dev3").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RateLimitedError);
    expect((e as RateLimitedError).code).toBe("ds.rate_limited");
    expect((e as RateLimitedError).retryAfterMs).toBe(30_000);
    expect(validateKeyPackage).toHaveBeenCalledTimes(2);
    await expect(publish("bob@example.org/a", "dev1")).resolves.toBeDefined();
  });
});

describe("KeyDirectory.claim", () => {
  it("hands out one KeyPackage per device and reports devices at or below the low-water mark", async () => {
    const { dir, publish } = setup();
    for (let i = 0; i < 4; i++) await publish(ALICE, "dev1");
    await publish(ALICE, "dev2");
    await publish(ALICE, "dev2", { lastResort: true });
    const out = dir.claim("bob@example.org/phone", "alice@example.org", 1);
    expect(out.jid).toBe("alice@example.org");
    expect(out.keyPackages.map((k) => [k.deviceId, k.lastResort])).toEqual([
      ["dev1", false],
      ["dev2", false],
    ]);
    expect(out.lowWater).toEqual([{ deviceId: "dev2", remaining: 0, hasLastResort: true }]);
    const again = dir.claim("bob@example.org/phone", "alice@example.org", 1);
    expect(again.keyPackages.map((k) => [k.deviceId, k.lastResort])).toEqual([
      ["dev1", false],
      ["dev2", true],
    ]);
    expect(again.lowWater).toEqual([
      { deviceId: "dev1", remaining: 2, hasLastResort: false },
      { deviceId: "dev2", remaining: 0, hasLastResort: true },
    ]);
  });

  it("fails with ds.no_key_packages when no device has one for the suite", async () => {
    const { dir, publish } = setup();
    expect(await codeOf(() => dir.claim("bob@example.org/p", "alice@example.org", 1))).toBe("ds.no_key_packages");
    await publish(ALICE, "dev1", { cipherSuite: 3 });
    expect(await codeOf(() => dir.claim("bob@example.org/p", "alice@example.org", 1))).toBe("ds.no_key_packages");
    expect(dir.claim("bob@example.org/p", "Alice@Example.org", 3).keyPackages).toHaveLength(1);
  });

  it("rejects disallowed suites and malformed targets", () => {
    const { dir } = setup();
    expect(() => dir.claim("bob@example.org/p", "alice@example.org", 2)).toThrow(expect.objectContaining({ code: "ds.unsupported_cipher_suite" }));
    expect(() => dir.claim("bob@example.org/p", "alice@example.org/dev1", 1)).toThrow(expect.objectContaining({ code: "ds.bad_request" }));
    expect(() => dir.claim("bob@example.org/p", "alice@example.org", 0)).toThrow(expect.objectContaining({ code: "ds.bad_request" }));
    expect(() => dir.claim("", "alice@example.org", 1)).toThrow(expect.objectContaining({ code: "ds.bad_request" }));
  });

  it("rate-limits claims per requester bare JID, with a retry-after", async () => {
    let t = 0;
    const limiter = new RateLimiter<"publish" | "claim">({ rules: { publish: { perMinute: 100 }, claim: { perMinute: 2 } }, now: () => t });
    const { dir, publish, store } = setup({ rateLimiter: limiter });
    for (let i = 0; i < 5; i++) await publish(ALICE, "dev1");
    dir.claim("bob@example.org/a", "alice@example.org", 1);
    dir.claim("bob@example.org/b", "alice@example.org", 1);
    expect(() => dir.claim("bob@example.org/c", "alice@example.org", 1)).toThrow(RateLimitedError);
    expect(store.listKeyPackages("alice@example.org")).toHaveLength(3); // the denied claim took nothing
    expect(dir.claim("carol@example.org/a", "alice@example.org", 1).keyPackages).toHaveLength(1);
    t += 30_000;
    expect(dir.claim("bob@example.org/a", "alice@example.org", 1).keyPackages).toHaveLength(1);
  });
});

describe("KeyDirectory.list / retract / lowWater", () => {
  it("lets only the owner list and retract", async () => {
    const { dir, publish } = setup();
    const kp = await publish(ALICE, "dev1");
    expect(await codeOf(() => dir.list("bob@example.org/x", "alice@example.org"))).toBe("ds.forbidden");
    expect(await codeOf(() => dir.retract("bob@example.org/x", "alice@example.org", kp.ref))).toBe("ds.forbidden");
    expect(dir.list("alice@example.org/other", "alice@example.org")).toHaveLength(1);
    dir.retract("ALICE@example.org/other", "alice@example.org", kp.ref);
    expect(dir.list(ALICE, "alice@example.org")).toEqual([]);
    expect(await codeOf(() => dir.retract(ALICE, "alice@example.org", kp.ref))).toBe("ds.item_not_found");
    expect(await codeOf(() => dir.retract(ALICE, "alice@example.org", "not-hex"))).toBe("ds.item_not_found");
    expect(await codeOf(() => dir.list(ALICE, "alice@example.org/dev1"))).toBe("ds.bad_request");
  });

  it("reports devices at or below the low-water mark", async () => {
    const { dir, publish } = setup();
    for (let i = 0; i < 3; i++) await publish(ALICE, "dev1");
    for (let i = 0; i < 2; i++) await publish(ALICE, "dev2");
    await publish(ALICE, "dev3", { lastResort: true });
    expect(dir.lowWater("alice@example.org")).toEqual([
      { deviceId: "dev2", remaining: 2, hasLastResort: false },
      { deviceId: "dev3", remaining: 0, hasLastResort: true },
    ]);
    expect(dir.lowWater("nobody@example.org")).toEqual([]);
  });
});
