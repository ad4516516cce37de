/**
 * Persistence of group states and pending KeyPackages (persistence.ts): round trips at several
 * points of a conversation, after which the reloaded state continues exactly like the original;
 * broken blobs give typed errors.
 */
import { describe, expect, it } from "vitest";
import type { CryptoProvider } from "../../src/crypto/cipher-suite.js";
import { CodecError, UsageError, ValidationError } from "../../src/errors.js";
import type { MlsMessage } from "../../src/mls/framing/mls-message.js";
import {
  createCommit,
  joinFromWelcome,
  loadGroupState,
  loadPendingKeyPackage,
  mergeStagedCommit,
  processMessage,
  proposeReInit,
  proposeUpdate,
  protect,
  saveGroupState,
  savePendingKeyPackage,
  type GroupState,
} from "../../src/mls/group/index.js";
import { crc32 } from "../../src/mls/group/persistence-codec.js";
import { createKeyPackage, lastResortExtension } from "../../src/mls/messages/key-package-ops.js";
import { toHex, utf8 } from "../../src/util/bytes.js";
import { basic, GroupHarness, testConfig, wire } from "../helpers/group-harness.js";
import { PROVIDERS } from "../helpers/providers.js";

/** Save, load, and check that saving again gives the same bytes. */
function reload(p: CryptoProvider, g: GroupHarness, s: GroupState): GroupState {
  const bytes = saveGroupState(s);
  const loaded = loadGroupState(bytes, { provider: p, config: g.config });
  expect(toHex(saveGroupState(loaded))).toBe(toHex(bytes));
  expect(loaded.epoch).toBe(s.epoch);
  expect(toHex(loaded.epochAuthenticator())).toBe(toHex(s.epochAuthenticator()));
  expect(toHex(loaded.exportSecret("persist", utf8("ctx"), 32))).toBe(toHex(s.exportSecret("persist", utf8("ctx"), 32)));
  expect(loaded.status).toEqual(s.status);
  return loaded;
}

function reloadAll(p: CryptoProvider, g: GroupHarness): void {
  for (const n of g.names()) g.states.set(n, reload(p, g, g.get(n)));
}

async function read(s: GroupState, m: MlsMessage): Promise<string> {
  const r = await processMessage(s, wire(m));
  if (r.kind !== "application") throw new Error(`expected application data, got ${r.kind}`);
  return new TextDecoder().decode(r.data);
}

/** A small deterministic PRNG for the fuzz loops. */
function prng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function resealed(b: Uint8Array): Uint8Array {
  const out = b.slice();
  new DataView(out.buffer).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)));
  return out;
}

for (const p of PROVIDERS) {
  describe(`${p.name}: group state persistence`, () => {
    it("round-trips after create, after adds, and the reloaded members go on (commits, Welcome, messages)", async () => {
      const g = await GroupHarness.create(p.suite(1), testConfig(), "alice");
      g.states.set("alice", reload(p, g, g.get("alice")));
      await g.add("alice", "bob", "carol", "dave");
      reloadAll(p, g);
      // Reloaded members commit, add and talk.
      await g.commit("bob");
      await g.add("carol", "erin");
      reloadAll(p, g);
      const m = protect(g.get("erin"), utf8("after reload"));
      for (const n of ["alice", "bob", "carol", "dave"]) expect(await read(g.get(n), m)).toBe("after reload");
    });

    it("keeps out-of-order past keys, generation gaps and past epochs", async () => {
      const g = await GroupHarness.create(p.suite(1), testConfig(), "alice");
      await g.add("alice", "bob", "carol", "dave");
      const msgs = [0, 1, 2, 3, 4, 5].map((i) => protect(g.get("bob"), utf8(`m${i}`)));
      const carol = g.get("carol");
      expect(await read(carol, msgs[3]!)).toBe("m3");
      const gaps = carol.generationGaps();
      const carol2 = reload(p, g, carol);
      expect(carol2.generationGaps()).toEqual(gaps);
      // The reloaded state holds the skipped keys (0, 1, 2) and the ratchet position.
      for (const i of [0, 2, 1, 5, 4]) expect(await read(carol2, msgs[i]!)).toBe(`m${i}`);
      await expect(processMessage(carol2, wire(msgs[3]!))).rejects.toMatchObject({ code: "valid.key_reused" });
      expect(carol2.generationGaps()).toEqual([]);
      // Our own sending ratchet continues after reload: bob's next message has the next generation.
      const bob2 = reload(p, g, g.get("bob"));
      g.states.set("bob", bob2);
      const next = protect(bob2, utf8("m6"));
      if (next.wireFormat !== 2) throw new Error("expected a PrivateMessage");
      const r = await processMessage(g.get("dave"), wire(next));
      expect(r.kind === "application" && r.generation).toBe(6);

      // A late message of the previous epoch still decrypts after reload.
      const late = protect(g.get("dave"), utf8("late"));
      await g.commit("alice");
      const erinLike = reload(p, g, g.get("carol"));
      expect(erinLike.pastEpochs.map((e) => e.epoch)).toEqual([1n]);
      expect(await read(erinLike, late)).toBe("late");
      // Fewer past epochs kept when the config says so.
      const strict = loadGroupState(saveGroupState(g.get("bob")), { provider: p, config: testConfig({ maxPastEpochs: 0 }) });
      expect(strict.pastEpochs).toEqual([]);
      await expect(processMessage(strict, wire(late))).rejects.toThrow(ValidationError);
    });

    it("keeps pending proposals and our Update key; the reloaded state processes the Commit like the original", async () => {
      const g = await GroupHarness.create(p.suite(1), testConfig({ handshakeWireFormat: "public" }), "alice");
      await g.add("alice", "bob", "carol");
      const upd = await proposeUpdate(g.get("bob"));
      await g.deliverProposal(upd.message, { name: "bob", state: upd.state });
      const bobOriginal = g.get("bob");
      const bob = reload(p, g, bobOriginal);
      expect(bob.proposals().map((x) => toHex(x.ref))).toEqual([toHex(upd.ref)]);
      expect([...bob.ownUpdateKeys.keys()]).toEqual([toHex(upd.ref)]);
      g.states.set("carol", reload(p, g, g.get("carol")));
      const c = await createCommit(g.get("carol"));
      const a = await processMessage(bobOriginal, wire(c.commitMessage));
      const b = await processMessage(bob, wire(c.commitMessage));
      if (a.kind !== "commit" || b.kind !== "commit") throw new Error("expected commits");
      expect(toHex(b.staged.epochAuthenticator!)).toBe(toHex(a.staged.epochAuthenticator!));
      g.states.set("bob", bob);
      await g.accept(c.commitMessage, { committer: "carol", ownStaged: c.staged });
    });

    it("round-trips removed and pendingReinit states", async () => {
      const g = await GroupHarness.create(p.suite(1), testConfig(), "alice");
      await g.add("alice", "bob", "carol");
      const before = protect(g.get("alice"), utf8("before removal"));
      await g.commit("alice", { proposals: [{ proposalType: 3, remove: { removed: g.leafOf("carol") } }] });
      const removed = reload(p, g, g.removed.get("carol")!);
      expect(removed.status.kind).toBe("removed");
      expect(await read(removed, before)).toBe("before removal");
      expect(() => protect(removed, utf8("x"))).toThrow(UsageError);

      const ri = await proposeReInit(g.get("bob"), { groupId: utf8("next"), cipherSuite: 1 });
      await g.deliverProposal(ri.message, { name: "bob", state: ri.state });
      await g.commit("alice");
      const pending = reload(p, g, g.get("bob"));
      expect(pending.status).toMatchObject({ kind: "pendingReinit", reinit: { groupId: utf8("next") } });
      await expect(createCommit(pending)).rejects.toMatchObject({ code: "usage.pending_reinit" });
    });

    it("refuses stale states and broken blobs with typed errors", async () => {
      const g = await GroupHarness.create(p.suite(1), testConfig(), "alice");
      await g.add("alice", "bob");
      const old = g.get("bob");
      await g.commit("alice");
      expect(() => saveGroupState(old)).toThrow(UsageError);

      const good = saveGroupState(g.get("bob"));
      const load = (b: Uint8Array) => loadGroupState(b, { provider: p, config: g.config });
      const bump = good.slice();
      bump[5] = 2;
      expect(() => load(bump)).toThrow(/format version 2 is not supported/);
      expect(() => load(bump)).toThrow(expect.objectContaining({ code: "codec.unsupported_format_version" }));
      expect(() => load(utf8("XMLX".padEnd(40, ".")))).toThrow(expect.objectContaining({ code: "codec.bad_magic" }));
      const kp = await createKeyPackage({ cs: g.cs, credential: basic("x") });
      expect(() => load(savePendingKeyPackage(kp))).toThrow(expect.objectContaining({ code: "codec.wrong_kind" }));
      const noSuite = { name: "none", supports: () => false, suite: () => { throw new Error("unreachable"); } } as unknown as CryptoProvider;
      expect(() => loadGroupState(good, { provider: noSuite, config: g.config })).toThrow(UsageError);

      // Truncated anywhere.
      const rnd = prng(1234);
      for (let n = 0; n < good.length; n += 1 + Math.floor(rnd() * 37)) expect(() => load(good.subarray(0, n))).toThrow(CodecError);
      // Mutated: the checksum catches it.
      for (let i = 0; i < 100; i++) {
        const b = good.slice();
        b[Math.floor(rnd() * b.length)]! ^= 1 + Math.floor(rnd() * 255);
        expect(() => load(b)).toThrow(CodecError);
      }
      // Mutated with a valid checksum: the decoder and the consistency checks still never crash.
      let loaded = 0;
      for (let i = 0; i < 400; i++) {
        const b = good.slice();
        const at = 7 + Math.floor(rnd() * (b.length - 11));
        b[at]! ^= 1 << Math.floor(rnd() * 8);
        try {
          load(resealed(b));
          loaded++;
        } catch (e) {
          expect(e instanceof CodecError || e instanceof UsageError, String(e)).toBe(true);
        }
      }
      // Some flips land in secrets the format cannot check (they load), most do not.
      expect(loaded).toBeLessThan(400);
    });
  });

  describe(`${p.name}: pending KeyPackage persistence`, () => {
    it("round-trips a KeyPackage with its private keys and joins with it", async () => {
      const cs = p.suite(1);
      const kp = await createKeyPackage({ cs, credential: basic("bob"), extensions: [lastResortExtension()] });
      const bytes = savePendingKeyPackage(kp);
      const loaded = loadPendingKeyPackage(bytes, { provider: p });
      expect(loaded.lastResort).toBe(true);
      expect(toHex(loaded.ref)).toBe(toHex(kp.ref));
      expect(loadPendingKeyPackage(savePendingKeyPackage({ ...kp, lastResort: false }), { provider: p }).lastResort).toBe(false);

      const g = await GroupHarness.create(cs, testConfig(), "alice");
      const c = await createCommit(g.get("alice"), { proposals: [{ proposalType: 1, add: { keyPackage: loaded.keyPackage } }] });
      const joined = await joinFromWelcome({ cs, config: g.config, welcome: c.welcome!, keyPackage: loaded.keyPackage, keyPackagePrivateKeys: loaded.privateKeys });
      expect(toHex(joined.state.epochAuthenticator())).toBe(toHex(mergeStagedCommit(g.get("alice"), c.staged).epochAuthenticator()));

      const rnd = prng(99);
      for (let n = 0; n < bytes.length; n += 1 + Math.floor(rnd() * 11)) expect(() => loadPendingKeyPackage(bytes.subarray(0, n), { provider: p })).toThrow(CodecError);
      for (let i = 0; i < 200; i++) {
        const b = bytes.slice();
        b[7 + Math.floor(rnd() * (b.length - 11))]! ^= 1 << Math.floor(rnd() * 8);
        try {
          loadPendingKeyPackage(resealed(b), { provider: p });
        } catch (e) {
          expect(e instanceof CodecError || e instanceof UsageError, String(e)).toBe(true);
        }
      }
    });
  });
}
