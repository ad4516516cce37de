/**
 * DsStore contract, groups / log / Welcome routing part: the same suite against MemoryStore and
 * SqliteStore.
 */

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DsError, StoreError } from "../../src/component/errors.js";
import { MAX_EPOCH } from "../../src/component/store/validate.js";
import type { DsStore, LogEntry } from "../../src/component/store/types.js";
import { UsageError } from "../../src/errors.js";
import { bytes, entry, keyPackage, newGroup, POLICY } from "./helpers/fixtures.js";
import { storeImpls } from "./helpers/stores.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

const G = "aa01";

for (const impl of storeImpls()) {
  describe(`${impl.name}: groups`, () => {
    let store: DsStore;
    beforeEach(() => {
      store = impl.open();
    });
    afterEach(() => store.close());

    it("registers a group and finds it by id and by room", () => {
      const created = store.createGroup(newGroup(G, { epoch: 3n, groupInfo: bytes(30, 3) }));
      const expected = {
        groupId: G,
        roomJid: `room-${G}@conference.example.org`,
        policy: POLICY,
        createdBy: "owner@example.org/phone",
        epoch: 3n,
        handshakeWireFormat: "public",
        createdAt: 5_000,
      };
      expect(created).toEqual(expected);
      expect(store.findGroup(G)).toEqual(expected);
      expect(store.getGroup(G)).toEqual(expected);
      expect(store.findGroupByRoom(`room-${G}@conference.example.org`)).toEqual(expected);
      expect(store.getGroupInfo(G)).toEqual({ epoch: 3n, bytes: bytes(30, 3) });
      expect(store.getExternalSenders(G)).toBeUndefined();
    });

    it("distinguishes absent groups: find → undefined, get → ds.unknown_group", () => {
      expect(store.findGroup("bb")).toBeUndefined();
      expect(store.findGroupByRoom("x@conference.example.org")).toBeUndefined();
      for (const call of [
        () => store.getGroup("bb"),
        () => store.getGroupInfo("bb"),
        () => store.getExternalSenders("bb"),
        () => store.getObserverCheckpoint("bb"),
        () => store.setObserverCheckpoint("bb", { epoch: 0n, groupInfo: bytes(4), ratchetTree: bytes(4) }),
        () => store.setGroupInfo("bb", 0n, bytes(4)),
        () => store.updateGroupPolicy("bb", POLICY),
        () => store.appendCommit("bb", 0n, entry(1)),
        () => store.appendProposal("bb", 0n, entry(1)),
        () => store.readLog("bb", { max: 10 }),
        () => store.listWelcomes("bb"),
      ]) {
        expect(codeOf(call)).toBe("ds.unknown_group");
      }
      expect(store.deleteGroup("bb")).toBe(false);
    });

    it("refuses a second group with the same id or room", () => {
      store.createGroup(newGroup(G));
      expect(codeOf(() => store.createGroup(newGroup(G, { roomJid: "other@conference.example.org" })))).toBe("ds.group_exists");
      expect(codeOf(() => store.createGroup(newGroup("bb02", { roomJid: `room-${G}@conference.example.org` })))).toBe("ds.group_exists");
      expect(store.findGroup("bb02")).toBeUndefined();
    });

    it("stores and updates the policy; rejects a malformed one", () => {
      store.createGroup(newGroup(G));
      const stricter = { ...POLICY, whoMayAdd: "owner" as const, groupInfoReadableBy: "anyone" as const };
      store.updateGroupPolicy(G, stricter);
      expect(store.getGroup(G).policy).toEqual(stricter);
      expect(() => store.updateGroupPolicy(G, { ...POLICY, whoMayAdd: "member" } as never)).toThrow(UsageError);
      expect(() => store.updateGroupPolicy(G, { ...POLICY, extra: 1 } as never)).toThrow(UsageError);
      expect(() => store.createGroup(newGroup("cc", { policy: { whoMayAdd: "admin" } as never }))).toThrow(UsageError);
      expect(store.getGroup(G).policy).toEqual(stricter);
      expect(store.findGroup("cc")).toBeUndefined();
    });

    it("stores GroupInfo only for the current epoch", () => {
      store.createGroup(newGroup(G, { epoch: 2n }));
      expect(store.getGroupInfo(G)).toBeUndefined();
      expect(store.setGroupInfo(G, 1n, bytes(10, 1))).toEqual({ kind: "wrongEpoch", currentEpoch: 2n });
      expect(store.getGroupInfo(G)).toBeUndefined();
      expect(store.setGroupInfo(G, 2n, bytes(10, 2))).toEqual({ kind: "stored" });
      expect(store.getGroupInfo(G)).toEqual({ epoch: 2n, bytes: bytes(10, 2) });
    });

    it("stores external senders", () => {
      store.createGroup(newGroup(G, { externalSenders: { bytes: bytes(20, 1), dsIndex: 0 } }));
      expect(store.getExternalSenders(G)).toEqual({ bytes: bytes(20, 1), dsIndex: 0 });
      store.setExternalSenders(G, { bytes: bytes(40, 2), dsIndex: null });
      expect(store.getExternalSenders(G)).toEqual({ bytes: bytes(40, 2), dsIndex: null });
      expect(() => store.setExternalSenders(G, { bytes: bytes(4), dsIndex: -1 })).toThrow(UsageError);
    });

    it("stores the observer checkpoint, never ahead of the group's epoch, copying bytes in and out", () => {
      store.createGroup(newGroup(G, { epoch: 2n }));
      expect(store.getObserverCheckpoint(G)).toBeUndefined();
      const at = (epoch: bigint, seed: number) => ({ epoch, groupInfo: bytes(12, seed), ratchetTree: bytes(30, seed + 1) });
      expect(store.setObserverCheckpoint(G, at(3n, 1))).toEqual({ kind: "wrongEpoch", currentEpoch: 2n });
      expect(store.getObserverCheckpoint(G)).toBeUndefined();
      const cp = at(2n, 3);
      expect(store.setObserverCheckpoint(G, cp)).toEqual({ kind: "stored" });
      cp.groupInfo.fill(0);
      expect(store.getObserverCheckpoint(G)).toEqual(at(2n, 3));
      store.getObserverCheckpoint(G)!.ratchetTree.fill(0);
      expect(store.getObserverCheckpoint(G)).toEqual(at(2n, 3));
      // An older one replaces it (the log covers the gap); the commit does not touch it.
      expect(store.setObserverCheckpoint(G, at(1n, 5))).toEqual({ kind: "stored" });
      store.appendCommit(G, 2n, entry(1));
      expect(store.getObserverCheckpoint(G)).toEqual(at(1n, 5));
      expect(store.setObserverCheckpoint(G, at(3n, 7))).toEqual({ kind: "stored" });
      expect(store.getObserverCheckpoint(G)).toEqual(at(3n, 7));
      for (const bad of [{ ...at(3n, 1), epoch: -1n }, { ...at(3n, 1), groupInfo: new Uint8Array(0) }, { ...at(3n, 1), ratchetTree: "x" }, null]) {
        expect(codeOf(() => store.setObserverCheckpoint(G, bad as never))).toBe("usage.bad_argument");
      }
      expect(store.getObserverCheckpoint(G)).toEqual(at(3n, 7));
    });

    it("deletes a group with everything stored for it and frees the room", () => {
      store.createGroup(newGroup(G, { groupInfo: bytes(5), externalSenders: { bytes: bytes(5), dsIndex: 1 } }));
      store.setObserverCheckpoint(G, { epoch: 0n, groupInfo: bytes(6), ratchetTree: bytes(7) });
      store.appendCommit(G, 0n, entry(1), { welcome: { bytes: bytes(9), recipients: [{ jid: "bob@example.org/phone", keyPackageRef: "ab" }] } });
      expect(store.deleteGroup(G)).toBe(true);
      expect(store.findGroup(G)).toBeUndefined();
      expect(store.pendingWelcomesFor("bob@example.org/phone")).toEqual([]);
      expect([...store.scanBlobs()]).toEqual([]);
      store.createGroup(newGroup(G));
      expect(store.readLog(G, { max: 10 }).count).toBe(0);
    });

    it("handles epochs up to 2^63 − 1", () => {
      store.createGroup(newGroup(G, { epoch: MAX_EPOCH - 1n }));
      expect(store.appendCommit(G, MAX_EPOCH - 1n, entry(1))).toEqual({ kind: "accepted", seq: 1, epoch: MAX_EPOCH });
      expect(store.getGroup(G).epoch).toBe(MAX_EPOCH);
      expect(store.appendProposal(G, MAX_EPOCH, entry(2)).kind).toBe("accepted");
      expect(codeOf(() => store.appendCommit(G, MAX_EPOCH, entry(3)))).toBe("usage.bad_argument");
      expect(codeOf(() => store.createGroup(newGroup("bb", { epoch: MAX_EPOCH + 1n })))).toBe("usage.bad_argument");
    });
  });

  describe(`${impl.name}: log`, () => {
    let store: DsStore;
    beforeEach(() => {
      store = impl.open();
      store.createGroup(newGroup(G, { epoch: 5n }));
    });
    afterEach(() => store.close());

    it("sequences a commit for the current epoch and moves the group on", () => {
      const r = store.appendCommit(G, 5n, entry(1), { groupInfo: bytes(12, 6) });
      expect(r).toEqual({ kind: "accepted", seq: 1, epoch: 6n });
      expect(store.getGroup(G).epoch).toBe(6n);
      expect(store.getGroupInfo(G)).toEqual({ epoch: 6n, bytes: bytes(12, 6) });
      const page = store.readLog(G, { max: 10 });
      expect(page.entries).toEqual([{ groupId: G, seq: 1, epoch: 5n, kind: "commit", ...entry(1) }]);
    });

    it("returns wrongEpoch with the current epoch for stale and future commits, storing nothing", () => {
      expect(store.appendCommit(G, 4n, entry(1), { groupInfo: bytes(3) })).toEqual({ kind: "wrongEpoch", currentEpoch: 5n });
      expect(store.appendCommit(G, 6n, entry(1))).toEqual({ kind: "wrongEpoch", currentEpoch: 5n });
      expect(store.readLog(G, { max: 10 }).count).toBe(0);
      expect(store.getGroup(G).epoch).toBe(5n);
      expect(store.getGroupInfo(G)).toBeUndefined();
    });

    it("lets only the first commit for an epoch win", () => {
      expect(store.appendCommit(G, 5n, entry(1, "alice@example.org/a"))).toMatchObject({ kind: "accepted", seq: 1 });
      expect(store.appendCommit(G, 5n, entry(2, "bob@example.org/b"))).toEqual({ kind: "wrongEpoch", currentEpoch: 6n });
      const log = store.readLog(G, { max: 10 });
      expect(log.entries.map((e) => e.sender)).toEqual(["alice@example.org/a"]);
    });

    it("sequences proposals only for the current epoch, before the commit", () => {
      expect(store.appendProposal(G, 5n, entry(1))).toEqual({ kind: "accepted", seq: 1, epoch: 5n });
      expect(store.appendProposal(G, 5n, entry(2))).toEqual({ kind: "accepted", seq: 2, epoch: 5n });
      expect(store.appendProposal(G, 4n, entry(3))).toEqual({ kind: "wrongEpoch", currentEpoch: 5n });
      expect(store.appendCommit(G, 5n, entry(4))).toEqual({ kind: "accepted", seq: 3, epoch: 6n });
      expect(store.appendProposal(G, 5n, entry(5))).toEqual({ kind: "wrongEpoch", currentEpoch: 6n });
      expect(store.appendProposal(G, 6n, entry(6))).toEqual({ kind: "accepted", seq: 4, epoch: 6n });
      const kinds = store.readLog(G, { max: 10 }).entries.map((e) => [e.seq, e.kind, e.epoch]);
      expect(kinds).toEqual([
        [1, "proposal", 5n],
        [2, "proposal", 5n],
        [3, "commit", 5n],
        [4, "proposal", 6n],
      ]);
    });

    it("stores the Welcome with the commit: a welcome-record entry and one routing record per device", () => {
      const recipients = [
        { jid: "carol@example.org/tablet", keyPackageRef: "cc01" },
        { jid: "bob@example.org/phone", keyPackageRef: "bb01" },
      ];
      const r = store.appendCommit(G, 5n, entry(1), { welcome: { bytes: bytes(33, 7), recipients } });
      expect(r).toEqual({ kind: "accepted", seq: 1, epoch: 6n, welcomeSeq: 2 });
      const log = store.readLog(G, { max: 10 }).entries;
      expect(log.map((e) => [e.seq, e.kind, e.epoch])).toEqual([
        [1, "commit", 5n],
        [2, "welcome-record", 6n],
      ]);
      expect(log[1]!.bytes).toEqual(bytes(33, 7));
      const rec = (jid: string, ref: string, delivered = false) => ({ groupId: G, commitSeq: 1, welcomeSeq: 2, jid, keyPackageRef: ref, delivered });
      expect(store.listWelcomes(G)).toEqual([rec("bob@example.org/phone", "bb01"), rec("carol@example.org/tablet", "cc01")]);
      expect(store.pendingWelcomesFor("bob@example.org/phone")).toEqual([rec("bob@example.org/phone", "bb01")]);
      expect(store.markWelcomeDelivered(G, 1, "bob@example.org/phone")).toBe(true);
      expect(store.markWelcomeDelivered(G, 1, "dave@example.org/x")).toBe(false);
      expect(store.markWelcomeDelivered("ffff", 1, "bob@example.org/phone")).toBe(false);
      expect(store.pendingWelcomesFor("bob@example.org/phone")).toEqual([]);
      expect(store.listWelcomes(G, 1)[0]).toEqual(rec("bob@example.org/phone", "bb01", true));
      expect(store.listWelcomes(G, 7)).toEqual([]);
      // the next entry continues after the welcome record
      expect(store.appendProposal(G, 6n, entry(2))).toMatchObject({ seq: 3 });
    });

    it("lists pending Welcomes across groups oldest first", () => {
      store.createGroup(newGroup("bb02", { epoch: 0n }));
      const w = (ref: string) => ({ bytes: bytes(8), recipients: [{ jid: "bob@example.org/phone", keyPackageRef: ref }] });
      store.appendCommit("bb02", 0n, entry(1), { welcome: w("01") });
      store.appendCommit(G, 5n, entry(2), { welcome: w("02") });
      store.appendCommit("bb02", 1n, entry(3), { welcome: w("03") });
      expect(store.pendingWelcomesFor("bob@example.org/phone").map((x) => x.keyPackageRef)).toEqual(["01", "02", "03"]);
    });

    it("rejects a malformed commit without changing anything", () => {
      const bad: [string, () => unknown][] = [
        ["negative epoch", () => store.appendCommit(G, -1n, entry(1))],
        ["number epoch", () => store.appendCommit(G, 5 as never, entry(1))],
        ["empty bytes", () => store.appendCommit(G, 5n, { ...entry(1), bytes: new Uint8Array(0) })],
        ["bad sender", () => store.appendCommit(G, 5n, { ...entry(1), sender: "not a jid" })],
        ["empty group info", () => store.appendCommit(G, 5n, entry(1), { groupInfo: new Uint8Array(0) })],
        ["bare welcome recipient", () => store.appendCommit(G, 5n, entry(1), { welcome: { bytes: bytes(3), recipients: [{ jid: "bob@example.org", keyPackageRef: "aa" }] } })],
        [
          "duplicate welcome recipient",
          () =>
            store.appendCommit(G, 5n, entry(1), {
              welcome: {
                bytes: bytes(3),
                recipients: [
                  { jid: "bob@example.org/a", keyPackageRef: "aa" },
                  { jid: "bob@example.org/a", keyPackageRef: "bb" },
                ],
              },
            }),
        ],
        ["no welcome recipients", () => store.appendCommit(G, 5n, entry(1), { welcome: { bytes: bytes(3), recipients: [] } })],
        ["uppercase group id", () => store.appendCommit("AA01", 5n, entry(1))],
      ];
      for (const [name, call] of bad) expect(codeOf(call), name).toBe("usage.bad_argument");
      expect(store.getGroup(G).epoch).toBe(5n);
      expect(store.readLog(G, { max: 10 }).count).toBe(0);
      expect(store.listWelcomes(G)).toEqual([]);
    });

    describe("paging", () => {
      // epochs: 5 (seq 1..3: P P C), 6 (seq 4..6: P P C), 7 (seq 7..9: P P C), 8 (seq 10: P)
      beforeEach(() => {
        let n = 0;
        for (let e = 5n; e < 8n; e++) {
          store.appendProposal(G, e, entry(++n));
          store.appendProposal(G, e, entry(++n));
          store.appendCommit(G, e, entry(++n));
        }
        store.appendProposal(G, 8n, entry(++n));
      });

      const seqs = (entries: readonly LogEntry[]) => entries.map((e) => e.seq);

      it("pages with RSM first/last/count and a completeness flag", () => {
        const p1 = store.readLog(G, { max: 4 });
        expect(seqs(p1.entries)).toEqual([1, 2, 3, 4]);
        expect(p1).toMatchObject({ first: 1, last: 4, count: 10, complete: false });
        const p2 = store.readLog(G, { max: 4, afterSeq: p1.last! });
        expect(seqs(p2.entries)).toEqual([5, 6, 7, 8]);
        expect(p2).toMatchObject({ first: 5, last: 8, count: 10, complete: false });
        const p3 = store.readLog(G, { max: 4, afterSeq: p2.last! });
        expect(seqs(p3.entries)).toEqual([9, 10]);
        expect(p3).toMatchObject({ first: 9, last: 10, count: 10, complete: true });
        const p4 = store.readLog(G, { max: 4, afterSeq: 10 });
        expect(p4).toEqual({ entries: [], count: 10, complete: true });
      });

      it("a page that ends exactly at the end is complete", () => {
        expect(store.readLog(G, { max: 10 })).toMatchObject({ count: 10, complete: true, first: 1, last: 10 });
        expect(store.readLog(G, { max: 5, afterSeq: 5 })).toMatchObject({ complete: true, first: 6, last: 10 });
      });

      it("filters by epoch: entries sent in or after afterEpoch", () => {
        const p = store.readLog(G, { afterEpoch: 7n, max: 2 });
        expect(seqs(p.entries)).toEqual([7, 8]);
        expect(p).toMatchObject({ count: 4, complete: false });
        expect(seqs(store.readLog(G, { afterEpoch: 7n, afterSeq: 8, max: 10 }).entries)).toEqual([9, 10]);
        expect(store.readLog(G, { afterEpoch: 9n, max: 10 })).toEqual({ entries: [], count: 0, complete: true });
        expect(store.readLog(G, { afterEpoch: 0n, max: 1 }).count).toBe(10);
      });

      it("rejects malformed queries", () => {
        for (const q of [{ max: 0 }, { max: 10_001 }, { max: 1.5 }, { max: 5, afterSeq: -1 }, { max: 5, afterEpoch: -1n }, { max: 5, afterEpoch: 3 }]) {
          expect(codeOf(() => store.readLog(G, q as never))).toBe("usage.bad_argument");
        }
      });

      it("returns copies of the bytes", () => {
        const first = store.readLog(G, { max: 1 }).entries[0]!;
        first.bytes.fill(0);
        expect(store.readLog(G, { max: 1 }).entries[0]!.bytes).toEqual(entry(1).bytes);
      });
    });
  });

  describe(`${impl.name}: maintenance`, () => {
    it("scans every stored blob", () => {
      const store = impl.open();
      const kp = keyPackage("bob@example.org", "phone");
      store.publishKeyPackage(kp);
      store.createGroup(newGroup(G, { groupInfo: bytes(7, 1), externalSenders: { bytes: bytes(7, 2), dsIndex: 0 } }));
      store.appendProposal(G, 0n, entry(3));
      store.appendCommit(G, 0n, entry(4), { groupInfo: bytes(7, 5), welcome: { bytes: bytes(7, 6), recipients: [{ jid: "c@example.org/d", keyPackageRef: "ab" }] } });
      store.setObserverCheckpoint(G, { epoch: 1n, groupInfo: bytes(7, 7), ratchetTree: bytes(7, 8) });
      const blobs = [...store.scanBlobs()].map((b) => [b.location, b.key, b.bytes] as const);
      const sort = (x: readonly (readonly [string, string, Uint8Array])[]) => [...x].sort((a, b) => (a[0] + a[1] < b[0] + b[1] ? -1 : 1));
      expect(sort(blobs)).toEqual(
        sort([
          ["key_packages.bytes", kp.ref, kp.bytes],
          ["group_info.bytes", G, bytes(7, 5)],
          ["external_senders.bytes", G, bytes(7, 2)],
          ["observer_checkpoints.group_info", G, bytes(7, 7)],
          ["observer_checkpoints.ratchet_tree", G, bytes(7, 8)],
          ["group_log.bytes", `${G}#1`, entry(3).bytes],
          ["group_log.bytes", `${G}#2`, entry(4).bytes],
          ["group_log.bytes", `${G}#3`, bytes(7, 6)],
        ]),
      );
      store.close();
    });

    it("refuses to work after close", () => {
      const store = impl.open();
      store.close();
      try {
        store.findGroup(G);
        expect.unreachable("should have thrown");
      } catch (e) {
        expect(e).toBeInstanceOf(StoreError);
        expect((e as StoreError).code).toBe("store.closed");
      }
      expect(() => store.publishKeyPackage(keyPackage("bob@example.org", "p"))).toThrow(StoreError);
    });

    it("throws typed DsErrors", () => {
      const store = impl.open();
      try {
        store.getGroup("abcd");
        expect.unreachable("should have thrown");
      } catch (e) {
        expect(e).toBeInstanceOf(DsError);
      }
      store.close();
    });
  });
}
