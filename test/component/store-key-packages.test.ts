/**
 * DsStore contract, KeyPackage directory part: the same suite against MemoryStore and SqliteStore.
 */

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DsError } from "../../src/component/errors.js";
import type { DsStore, KeyPackageRecord } from "../../src/component/store/types.js";
import { UsageError } from "../../src/errors.js";
import { bytes, keyPackage } from "./helpers/fixtures.js";
import { storeImpls } from "./helpers/stores.js";

const BOB = "bob@example.org";
const ALICE = "alice@example.org";

function refs(list: readonly KeyPackageRecord[]): string[] {
  return list.map((k) => k.ref);
}

for (const impl of storeImpls()) {
  describe(`${impl.name}: KeyPackages`, () => {
    let store: DsStore;
    beforeEach(() => {
      store = impl.open();
    });
    afterEach(() => store.close());

    it("publishes and lists a KeyPackage exactly as given, oldest first", () => {
      const a = keyPackage(BOB, "phone", { createdAt: 2_000 });
      const b = keyPackage(BOB, "laptop", { createdAt: 1_000, cipherSuite: 3, lastResort: true });
      expect(store.publishKeyPackage(a)).toEqual({ kind: "stored" });
      expect(store.publishKeyPackage(b)).toEqual({ kind: "stored" });
      expect(store.publishKeyPackage(keyPackage(ALICE, "x"))).toEqual({ kind: "stored" });
      expect(store.listKeyPackages(BOB)).toEqual([b, a]);
      expect(store.listKeyPackages("nobody@example.org")).toEqual([]);
    });

    it("orders KeyPackages with the same timestamp by publication order", () => {
      const list = [0, 1, 2, 3].map(() => keyPackage(BOB, "phone", { createdAt: 7 }));
      for (const k of [...list].reverse()) store.publishKeyPackage(k);
      expect(refs(store.listKeyPackages(BOB))).toEqual(refs([...list].reverse()));
    });

    it("copies bytes in and out", () => {
      const k = keyPackage(BOB, "phone");
      const original = new Uint8Array(k.bytes);
      store.publishKeyPackage(k);
      k.bytes.fill(0);
      const listed = store.listKeyPackages(BOB)[0]!;
      expect(listed.bytes).toEqual(original);
      listed.bytes.fill(0);
      expect(store.listKeyPackages(BOB)[0]!.bytes).toEqual(original);
    });

    it("treats re-publishing the identical KeyPackage as a no-op", () => {
      const k = keyPackage(BOB, "phone");
      store.publishKeyPackage(k);
      expect(store.publishKeyPackage({ ...k, bytes: new Uint8Array(k.bytes), createdAt: 99_999 })).toEqual({ kind: "duplicate" });
      expect(store.listKeyPackages(BOB)).toEqual([k]);
    });

    it("refuses the same ref with other content or another owner", () => {
      const k = keyPackage(BOB, "phone");
      store.publishKeyPackage(k);
      for (const other of [
        { ...k, bytes: bytes(64, 999) },
        { ...k, owner: ALICE },
        { ...k, deviceId: "laptop" },
        { ...k, lastResort: true },
        { ...k, cipherSuite: 2 },
      ]) {
        const e = (() => {
          try {
            store.publishKeyPackage(other);
          } catch (err) {
            return err;
          }
          return undefined;
        })();
        expect(e).toBeInstanceOf(DsError);
        expect((e as DsError).code).toBe("ds.ref_conflict");
      }
      expect(store.listKeyPackages(BOB)).toEqual([k]);
      expect(store.listKeyPackages(ALICE)).toEqual([]);
    });

    it("replaces the device's previous last-resort KeyPackage, and only that device's", () => {
      const lr1 = keyPackage(BOB, "phone", { lastResort: true });
      const other = keyPackage(BOB, "laptop", { lastResort: true });
      const ordinary = keyPackage(BOB, "phone");
      store.publishKeyPackage(lr1);
      store.publishKeyPackage(other);
      store.publishKeyPackage(ordinary);
      const lr2 = keyPackage(BOB, "phone", { lastResort: true, createdAt: 3_000 });
      expect(store.publishKeyPackage(lr2)).toEqual({ kind: "stored", replacedLastResortRef: lr1.ref });
      expect(refs(store.listKeyPackages(BOB)).sort()).toEqual([other.ref, ordinary.ref, lr2.ref].sort());
    });

    it("enforces the per-device cap on ordinary KeyPackages only", () => {
      for (let i = 0; i < 3; i++) expect(store.publishKeyPackage(keyPackage(BOB, "phone"), { maxOrdinaryPerDevice: 3 }).kind).toBe("stored");
      expect(store.publishKeyPackage(keyPackage(BOB, "phone"), { maxOrdinaryPerDevice: 3 })).toEqual({ kind: "limitReached", count: 3 });
      expect(store.publishKeyPackage(keyPackage(BOB, "phone", { lastResort: true }), { maxOrdinaryPerDevice: 3 }).kind).toBe("stored");
      expect(store.publishKeyPackage(keyPackage(BOB, "laptop"), { maxOrdinaryPerDevice: 3 }).kind).toBe("stored");
      expect(store.listKeyPackages(BOB)).toHaveLength(5);
    });

    it("retracts only the owner's KeyPackage", () => {
      const k = keyPackage(BOB, "phone");
      store.publishKeyPackage(k);
      expect(store.retractKeyPackage(ALICE, k.ref)).toBe(false);
      expect(store.listKeyPackages(BOB)).toHaveLength(1);
      expect(store.retractKeyPackage(BOB, k.ref)).toBe(true);
      expect(store.retractKeyPackage(BOB, k.ref)).toBe(false);
      expect(store.listKeyPackages(BOB)).toEqual([]);
    });

    it("counts ordinary KeyPackages per device, including drained devices", () => {
      store.publishKeyPackage(keyPackage(BOB, "phone"));
      store.publishKeyPackage(keyPackage(BOB, "phone"));
      store.publishKeyPackage(keyPackage(BOB, "phone", { lastResort: true }));
      const laptop = keyPackage(BOB, "laptop");
      store.publishKeyPackage(laptop);
      store.retractKeyPackage(BOB, laptop.ref);
      store.publishKeyPackage(keyPackage(BOB, "tablet", { lastResort: true }));
      expect(store.countKeyPackages(BOB)).toEqual([
        { deviceId: "laptop", ordinary: 0, hasLastResort: false },
        { deviceId: "phone", ordinary: 2, hasLastResort: true },
        { deviceId: "tablet", ordinary: 0, hasLastResort: true },
      ]);
      expect(store.countKeyPackages(ALICE)).toEqual([]);
    });

    describe("claim", () => {
      it("hands out one KeyPackage per device, the oldest ordinary one, and deletes it", () => {
        const phoneOld = keyPackage(BOB, "phone", { createdAt: 1 });
        const phoneNew = keyPackage(BOB, "phone", { createdAt: 2 });
        const laptop = keyPackage(BOB, "laptop", { createdAt: 5 });
        store.publishKeyPackage(phoneNew);
        store.publishKeyPackage(laptop);
        store.publishKeyPackage(phoneOld);
        store.publishKeyPackage(keyPackage(BOB, "phone", { lastResort: true, createdAt: 0 }));
        const claimed = store.claimKeyPackages(BOB, 1);
        expect(claimed).toEqual([laptop, phoneOld]); // sorted by device id
        expect(refs(store.listKeyPackages(BOB))).not.toContain(phoneOld.ref);
        expect(refs(store.listKeyPackages(BOB))).not.toContain(laptop.ref);
        expect(refs(store.listKeyPackages(BOB))).toContain(phoneNew.ref);
      });

      it("falls back to the device's last-resort KeyPackage and keeps it", () => {
        const ordinary = keyPackage(BOB, "phone");
        const lr = keyPackage(BOB, "phone", { lastResort: true });
        store.publishKeyPackage(ordinary);
        store.publishKeyPackage(lr);
        expect(store.claimKeyPackages(BOB, 1)).toEqual([ordinary]);
        expect(store.claimKeyPackages(BOB, 1)).toEqual([lr]);
        expect(store.claimKeyPackages(BOB, 1)).toEqual([lr]);
        expect(store.listKeyPackages(BOB)).toEqual([lr]);
        expect(store.countKeyPackages(BOB)).toEqual([{ deviceId: "phone", ordinary: 0, hasLastResort: true }]);
      });

      it("only considers the requested cipher suite", () => {
        const s1 = keyPackage(BOB, "phone", { cipherSuite: 1 });
        const s2 = keyPackage(BOB, "laptop", { cipherSuite: 2 });
        const s2lr = keyPackage(BOB, "phone", { cipherSuite: 2, lastResort: true });
        for (const k of [s1, s2, s2lr]) store.publishKeyPackage(k);
        expect(store.claimKeyPackages(BOB, 2)).toEqual([s2, s2lr]);
        expect(store.claimKeyPackages(BOB, 3)).toEqual([]);
        expect(store.claimKeyPackages(BOB, 1)).toEqual([s1]);
        expect(store.claimKeyPackages(BOB, 1)).toEqual([]);
      });

      it("returns nothing for an unknown user", () => {
        expect(store.claimKeyPackages("nobody@example.org", 1)).toEqual([]);
      });

      it("never hands out an ordinary KeyPackage twice", () => {
        const published = new Set<string>();
        for (let d = 0; d < 4; d++) {
          for (let i = 0; i < 5; i++) {
            const k = keyPackage(BOB, `dev${d}`, { createdAt: i });
            published.add(k.ref);
            store.publishKeyPackage(k);
          }
        }
        const seen: string[] = [];
        for (;;) {
          const got = store.claimKeyPackages(BOB, 1);
          if (got.length === 0) break;
          seen.push(...refs(got));
        }
        expect(seen.sort()).toEqual([...published].sort());
      });
    });

    describe("bad arguments change nothing", () => {
      it.each<[string, Partial<KeyPackageRecord>]>([
        ["owner with resource", { owner: "bob@example.org/phone" }],
        ["empty device id", { deviceId: "" }],
        ["device id with whitespace", { deviceId: "my phone" }],
        ["uppercase ref", { ref: "AB".repeat(32) }],
        ["odd-length ref", { ref: "abc" }],
        ["cipher suite 0", { cipherSuite: 0 }],
        ["fractional cipher suite", { cipherSuite: 1.5 }],
        ["empty bytes", { bytes: new Uint8Array(0) }],
        ["negative timestamp", { createdAt: -1 }],
      ])("publish with %s", (_name, over) => {
        const before = store.listKeyPackages(BOB);
        expect(() => store.publishKeyPackage(keyPackage(BOB, "phone", over))).toThrow(UsageError);
        expect(store.listKeyPackages(BOB)).toEqual(before);
        expect(store.countKeyPackages(BOB)).toEqual([]);
      });

      it("rejects malformed owners, refs and suites with usage.bad_argument", () => {
        store.publishKeyPackage(keyPackage(BOB, "phone"));
        const calls: (() => unknown)[] = [
          () => store.listKeyPackages("not a jid"),
          () => store.claimKeyPackages("bob@example.org/phone", 1),
          () => store.claimKeyPackages(BOB, 0),
          () => store.retractKeyPackage(BOB, "xyz"),
          () => store.countKeyPackages(""),
          () => store.publishKeyPackage(keyPackage(BOB, "phone"), { maxOrdinaryPerDevice: -1 }),
        ];
        for (const call of calls) {
          try {
            call();
            expect.unreachable("should have thrown");
          } catch (e) {
            expect(e).toBeInstanceOf(UsageError);
            expect((e as UsageError).code).toBe("usage.bad_argument");
          }
        }
        expect(store.listKeyPackages(BOB)).toHaveLength(1);
      });
    });
  });
}
