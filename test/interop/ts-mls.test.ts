/**
 * Interoperability with an independent implementation: ts-mls 1.6.4 (see ts-mls-adapter.ts and
 * /work/shared/notes/ts-mls-peer.md). Mixed groups of our clients and ts-mls clients exchange only
 * encoded MLSMessages (RFC 9420 §6), for both our providers, suites 1 and 3, handshakes as
 * PublicMessage and as PrivateMessage, each implementation creating the group in turn.
 *
 * One flow, with X = the implementation that creates the group and Y = the other one:
 *
 *   C(X) creates, adds J(Y) ─► J joins from C's Welcome (ratchet_tree extension)
 *   application messages both ways, in order and out of order
 *   J(Y) adds K(X), C(X) adds L(Y)           (add-only Commits: no path, processed across)
 *   C and J: empty Commits with path; an application message of the previous epoch arrives late
 *   J(Y) removes K(X) by value               (K processes its own removal)
 *   L(Y) proposes removing J(Y), C(X) commits it by reference
 *
 * After every step all members agree on epoch, GroupContext bytes, epoch authenticator
 * (RFC 9420 §8.7), exporter output and membership; every message one implementation produced
 * is decoded and re-encoded byte for byte by the other. External senders are not used: ts-mls
 * 1.6.4 cannot decode that extension.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { CipherSuite, CryptoProvider } from "../../src/crypto/cipher-suite.js";
import { unsafeTestingAuthenticationService } from "../../src/mls/auth/authentication-service.js";
import { credentialTypes, proposalTypes, protocolVersions, wireFormats } from "../../src/mls/core/protocol.js";
import { decodeMlsMessage, encodeMlsMessage } from "../../src/mls/framing/mls-message.js";
import type { Proposal } from "../../src/mls/messages/proposal.js";
import {
  createCommit,
  createGroup,
  groupConfig,
  joinFromWelcome,
  mergeStagedCommit,
  processMessage,
  proposeRemove,
  protect,
  type GroupConfig,
  type GroupState,
  type HandshakeWireFormat,
} from "../../src/mls/group/index.js";
import { createKeyPackage, type CreatedKeyPackage } from "../../src/mls/messages/key-package-ops.js";
import { toHex, utf8 } from "../../src/util/bytes.js";
import { PROVIDERS } from "../helpers/providers.js";
import { TS_MLS_SUITES, TsMlsClient, type TsMlsSuiteId } from "./ts-mls-adapter.js";

type Impl = "ours" | "ts-mls";
const other = (i: Impl): Impl => (i === "ours" ? "ts-mls" : "ours");
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

// ---- The interop matrix, printed at the end of the run --------------------------------------

const ROWS = [
  "Welcome (ratchet_tree ext.) -> join",
  "Add-only Commit (no path) -> process",
  "Application messages, in order",
  "Application messages, out of order",
  "Empty Commit with path (self-update)",
  "Late application message, previous epoch",
  "Remove by value (path), other impl removed",
  "Remove proposal by reference -> Commit",
] as const;
type Row = (typeof ROWS)[number];

const matrix = new Map<string, { pass: number; fail: number }>();
const cellKey = (row: Row, wf: HandshakeWireFormat, actor: Impl) => `${row}|${wf}|${actor}`;

/** Run one step of a flow and record it in the matrix under the implementation that acts (commits or sends). */
async function step<T>(row: Row, wf: HandshakeWireFormat, actor: Impl, fn: () => Promise<T>): Promise<T> {
  const cell = matrix.get(cellKey(row, wf, actor)) ?? { pass: 0, fail: 0 };
  matrix.set(cellKey(row, wf, actor), cell);
  try {
    const r = await fn();
    cell.pass++;
    return r;
  } catch (e) {
    cell.fail++;
    throw new Error(`step "${row}" (${wf}, ${actor} acting) failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

afterAll(() => {
  const cols: [HandshakeWireFormat, Impl][] = [["public", "ours"], ["public", "ts-mls"], ["private", "ours"], ["private", "ts-mls"]];
  const w = Math.max(...ROWS.map((r) => r.length));
  const head = cols.map(([wf, a]) => `${wf === "public" ? "PublicMsg" : "PrivateMsg"}/${a}`.padEnd(18)).join(" | ");
  const lines = [`${"scenario".padEnd(w)} | ${head}`, `${"-".repeat(w)}-|-${cols.map(() => "-".repeat(18)).join("-|-")}`];
  for (const row of ROWS) {
    const cells = cols.map(([wf, a]) => {
      const c = matrix.get(cellKey(row, wf, a));
      if (c === undefined) return "not run".padEnd(18);
      const n = c.pass + c.fail;
      return `${c.fail === 0 ? "PASS" : "FAIL"} ${c.pass}/${n}`.padEnd(18);
    });
    lines.push(`${row.padEnd(w)} | ${cells.join(" | ")}`);
  }
  console.log(
    `\nInterop matrix, ours vs ts-mls 1.6.4 (column: handshake wire format / implementation that commits or sends; ` +
      `count: runs over ${PROVIDERS.map((p) => p.name).join("+")} providers x suites ${TS_MLS_SUITES.join(",")})\n${lines.join("\n")}\n`,
  );
});

// ---- A toy Delivery Service over a mixed group ------------------------------------------------

interface OurMember {
  readonly kp: CreatedKeyPackage;
  state: GroupState | null;
}

class MixedGroup {
  readonly ours = new Map<string, OurMember>();
  readonly ts = new Map<string, TsMlsClient>();
  readonly removed = new Set<string>();
  readonly config: GroupConfig;

  constructor(
    readonly cs: CipherSuite,
    readonly suite: TsMlsSuiteId,
    readonly wf: HandshakeWireFormat,
  ) {
    this.config = groupConfig({ authenticationService: unsafeTestingAuthenticationService, handshakeWireFormat: wf });
  }

  implOf(name: string): Impl {
    if (this.ours.has(name)) return "ours";
    if (this.ts.has(name)) return "ts-mls";
    throw new Error(`unknown client ${name}`);
  }

  /** A new client of `impl` with a KeyPackage; returns the KeyPackage as MLSMessage bytes. */
  async client(impl: Impl, name: string): Promise<Uint8Array> {
    if (impl === "ours") {
      const kp = await createKeyPackage({ cs: this.cs, credential: { credentialType: credentialTypes.basic, identity: utf8(name) } });
      this.ours.set(name, { kp, state: null });
    } else {
      this.ts.set(name, await TsMlsClient.create(this.suite, name));
    }
    return this.keyPackageMessage(name);
  }

  keyPackageMessage(name: string): Uint8Array {
    const o = this.ours.get(name);
    if (o !== undefined) return encodeMlsMessage({ version: protocolVersions.mls10, wireFormat: wireFormats.mls_key_package, keyPackage: o.kp.keyPackage });
    return this.tsClient(name).keyPackageMessage();
  }

  our(name: string): GroupState {
    const s = this.ours.get(name)?.state;
    if (s === undefined || s === null) throw new Error(`${name} is not one of our members`);
    return s;
  }

  tsClient(name: string): TsMlsClient {
    const t = this.ts.get(name);
    if (t === undefined) throw new Error(`${name} is not a ts-mls client`);
    return t;
  }

  /** Active members, in creation order. */
  members(): string[] {
    const o = [...this.ours].filter(([n, m]) => m.state !== null && !this.removed.has(n)).map(([n]) => n);
    const t = [...this.ts].filter(([n, c]) => c.inGroup && !this.removed.has(n)).map(([n]) => n);
    return [...o, ...t];
  }

  leafOf(name: string): number {
    return this.implOf(name) === "ours" ? this.our(name).ownLeafIndex : this.tsClient(name).leafIndex;
  }

  /** The receiving implementation decodes and re-encodes what the other one produced, byte for byte. */
  crossCodec(producer: Impl, bytes: Uint8Array): void {
    const again = producer === "ours" ? this.tsOracle().reencode(bytes) : encodeMlsMessage(decodeMlsMessage(bytes));
    expect(toHex(again)).toBe(toHex(bytes));
  }

  private tsOracle(): TsMlsClient {
    const t = this.ts.values().next();
    if (t.done === true) throw new Error("no ts-mls client");
    return t.value;
  }

  /** RFC 9420 §6: `MLSMessage { ProtocolVersion version; WireFormat wire_format; ... }`: the handshake framing we asked for. */
  expectHandshakeWireFormat(bytes: Uint8Array): void {
    const wf = (bytes[2]! << 8) | bytes[3]!;
    expect(wf).toBe(this.wf === "public" ? wireFormats.mls_public_message : wireFormats.mls_private_message);
  }

  async create(name: string): Promise<void> {
    const groupId = utf8(`interop-${this.wf}-${name}-${toHex(this.cs.randomBytes(8))}`);
    const o = this.ours.get(name);
    if (o !== undefined) o.state = await createGroup({ cs: this.cs, config: this.config, groupId, leaf: { keyPackage: o.kp.keyPackage, privateKeys: o.kp.privateKeys } });
    else await this.tsClient(name).createGroup(groupId);
  }

  /**
   * `committer` commits adds and removes by value (plus every cached proposal by reference); the
   * DS delivers the Commit to every other member, then the Welcome to the joiners.
   */
  async commit(committer: string, opts: { add?: string[]; remove?: string[]; removedByReference?: string[] } = {}): Promise<{ hasPath: boolean; welcome: Uint8Array | null }> {
    const adds = opts.add ?? [];
    const removes = (opts.remove ?? []).map((n) => this.leafOf(n));
    const impl = this.implOf(committer);
    let commit: Uint8Array;
    let welcome: Uint8Array | null;
    let hasPath: boolean;
    let merge = () => {};
    if (impl === "ours") {
      const proposals: Proposal[] = [
        ...adds.map((n): Proposal => {
          const m = decodeMlsMessage(this.keyPackageMessage(n));
          if (m.wireFormat !== wireFormats.mls_key_package) throw new Error("not a KeyPackage");
          return { proposalType: proposalTypes.add, add: { keyPackage: m.keyPackage } };
        }),
        ...removes.map((removed): Proposal => ({ proposalType: proposalTypes.remove, remove: { removed } })),
      ];
      const state = this.our(committer);
      // An empty Commit carries a path (RFC 9420 §12.4 "MUST"): forcePath also covers it.
      const created = await createCommit(state, { proposals, forcePath: proposals.length === 0 });
      commit = encodeMlsMessage(created.commitMessage);
      welcome = created.welcome === null ? null : encodeMlsMessage(created.welcome);
      hasPath = created.staged.hasPath;
      merge = () => {
        this.ours.get(committer)!.state = mergeStagedCommit(state, created.staged);
      };
    } else {
      const r = await this.tsClient(committer).commit({ add: adds.map((n) => this.keyPackageMessage(n)), remove: removes, publicMessage: this.wf === "public" });
      ({ commit, welcome, hasPath } = r);
    }
    this.expectHandshakeWireFormat(commit);
    const removedNames = [...(opts.remove ?? []), ...(opts.removedByReference ?? [])];
    for (const name of this.members()) {
      if (name === committer) continue;
      const gone = removedNames.includes(name);
      if (this.implOf(name) === "ours") {
        if (impl !== "ours") this.crossCodec(impl, commit);
        const before = this.our(name);
        const r = await processMessage(before, commit);
        if (r.kind !== "commit") throw new Error(`${name}: expected a commit, got ${r.kind}`);
        expect(r.staged.removedSelf).toBe(gone);
        expect(r.staged.hasPath).toBe(hasPath);
        const next = mergeStagedCommit(before, r.staged);
        this.ours.get(name)!.state = next;
        if (gone) expect(next.status.kind).toBe("removed");
      } else {
        const r = await this.tsClient(name).receive(commit);
        expect(r).toEqual({ kind: "handshake", accepted: true });
        expect(this.tsClient(name).status).toBe(gone ? "removed" : "active");
      }
      if (gone) this.removed.add(name);
    }
    merge();
    for (const name of adds) {
      if (welcome === null) throw new Error("an add-only Commit without a Welcome");
      if (this.implOf(name) !== impl) this.crossCodec(impl, welcome);
      const o = this.ours.get(name);
      if (o !== undefined) {
        const joined = await joinFromWelcome({ cs: this.cs, config: this.config, welcome: decodeMlsMessage(welcome), keyPackage: o.kp.keyPackage, keyPackagePrivateKeys: o.kp.privateKeys });
        o.state = joined.state;
      } else {
        await this.tsClient(name).join(welcome);
      }
    }
    await this.expectInSync();
    return { hasPath, welcome };
  }

  /** `proposer` sends a Remove proposal; every other member caches it. */
  async proposeRemove(proposer: string, target: string): Promise<void> {
    const impl = this.implOf(proposer);
    const leaf = this.leafOf(target);
    let bytes: Uint8Array;
    if (impl === "ours") {
      const sent = await proposeRemove(this.our(proposer), leaf);
      this.ours.get(proposer)!.state = sent.state;
      bytes = encodeMlsMessage(sent.message);
    } else {
      bytes = await this.tsClient(proposer).proposeRemove(leaf, this.wf === "public");
    }
    this.expectHandshakeWireFormat(bytes);
    for (const name of this.members()) {
      if (name === proposer) continue;
      if (this.implOf(name) === "ours") {
        if (impl !== "ours") this.crossCodec(impl, bytes);
        const r = await processMessage(this.our(name), bytes);
        if (r.kind !== "proposal") throw new Error(`${name}: expected a proposal, got ${r.kind}`);
        expect(r.proposal).toEqual({ proposalType: proposalTypes.remove, remove: { removed: leaf } });
        this.ours.get(name)!.state = r.state;
      } else {
        expect(await this.tsClient(name).receive(bytes)).toEqual({ kind: "handshake", accepted: true });
      }
    }
  }

  /** An application message as MLSMessage bytes. */
  async send(from: string, data: string): Promise<Uint8Array> {
    const bytes = this.implOf(from) === "ours" ? encodeMlsMessage(protect(this.our(from), utf8(data))) : await this.tsClient(from).send(utf8(data));
    expect((bytes[2]! << 8) | bytes[3]!).toBe(wireFormats.mls_private_message);
    return bytes;
  }

  /** `to` processes an application message and returns its text. */
  async receive(to: string, bytes: Uint8Array, from: string): Promise<string> {
    if (this.implOf(to) === "ours") {
      if (this.implOf(from) !== "ours") this.crossCodec("ts-mls", bytes);
      const r = await processMessage(this.our(to), bytes);
      if (r.kind !== "application") throw new Error(`${to}: expected an application message, got ${r.kind}`);
      expect(r.sender.identity).toBe(from);
      expect(r.sender.leafIndex).toBe(this.leafOf(from));
      return text(r.data);
    }
    const r = await this.tsClient(to).receive(bytes);
    if (r.kind !== "application") throw new Error(`${to}: expected an application message`);
    return text(r.data);
  }

  /** Rejected by `to` (e.g. a removed member reading the next epoch). */
  async expectUnreadable(to: string, bytes: Uint8Array): Promise<void> {
    if (this.implOf(to) === "ours") await expect(processMessage(this.our(to), bytes)).rejects.toThrow();
    else await expect(this.tsClient(to).receive(bytes)).rejects.toThrow();
  }

  /** All active members agree on the epoch and everything derived from it. */
  async expectInSync(): Promise<void> {
    const names = this.members();
    expect(names.length).toBeGreaterThanOrEqual(1);
    const leaves = names.map((n) => this.leafOf(n)).sort((a, b) => a - b);
    const views = await Promise.all(
      names.map(async (n) => {
        if (this.implOf(n) === "ours") {
          const s = this.our(n);
          return {
            epoch: s.epoch,
            gc: toHex(s.groupContextBytes),
            auth: toHex(s.epochAuthenticator()),
            exporter: toHex(s.exportSecret("interop", utf8("ctx"), 32)),
            members: s.tree.members().map((m) => m.leafIndex as number),
          };
        }
        const t = this.tsClient(n);
        return { epoch: t.epoch, gc: toHex(t.groupContextBytes), auth: toHex(t.epochAuthenticator), exporter: toHex(await t.exportSecret("interop", utf8("ctx"), 32)), members: t.memberLeaves };
      }),
    );
    for (const v of views) {
      expect(v).toEqual(views[0]);
      expect(v.members).toEqual(leaves);
    }
  }
}

// ---- The flow -------------------------------------------------------------------------------

async function mixedFlow(p: CryptoProvider, suite: TsMlsSuiteId, wf: HandshakeWireFormat, x: Impl): Promise<void> {
  const y = other(x);
  const g = new MixedGroup(p.suite(suite), suite, wf);
  await g.client(x, "C");
  const jKp = await g.client(y, "J");
  await g.client(x, "K");
  await g.client(y, "L");
  // Each side decodes the other's KeyPackage and re-encodes it identically (RFC 9420 §10).
  g.crossCodec(y, jKp);
  g.crossCodec(x, g.keyPackageMessage("K"));

  await g.create("C");
  await step("Welcome (ratchet_tree ext.) -> join", wf, x, async () => {
    const r = await g.commit("C", { add: ["J"] });
    expect(r.hasPath).toBe(false);
    expect(g.members().sort()).toEqual(["C", "J"]);
    expect(g.leafOf("J")).toBe(1);
  });

  for (const [from, to, actor] of [["C", "J", x], ["J", "C", y]] as const) {
    await step("Application messages, in order", wf, actor, async () => {
      for (let i = 0; i < 3; i++) {
        const m = await g.send(from, `${from}->${to} #${i}`);
        expect(await g.receive(to, m, from)).toBe(`${from}->${to} #${i}`);
      }
    });
    await step("Application messages, out of order", wf, actor, async () => {
      const msgs: Uint8Array[] = [];
      for (let i = 0; i < 5; i++) msgs.push(await g.send(from, `ooo ${i}`));
      for (const i of [3, 0, 4, 1, 2]) expect(await g.receive(to, msgs[i]!, from)).toBe(`ooo ${i}`);
    });
  }

  // J(Y) adds K(X): X-side members process a Y Commit, K joins from a Y Welcome; then the reverse.
  for (const [committer, joiner, actor] of [["J", "K", y], ["C", "L", x]] as const) {
    const r = await step("Add-only Commit (no path) -> process", wf, actor, async () => {
      const r = await g.commit(committer, { add: [joiner] });
      expect(r.hasPath).toBe(false);
      expect(r.welcome).not.toBeNull();
      return r;
    });
    await step("Welcome (ratchet_tree ext.) -> join", wf, actor, async () => {
      expect(r.welcome).not.toBeNull();
      // The joiner speaks right away; everyone, of both implementations, reads it.
      const hello = await g.send(joiner, `hello from ${joiner}`);
      for (const n of g.members()) if (n !== joiner) expect(await g.receive(n, hello, joiner)).toBe(`hello from ${joiner}`);
    });
  }
  expect(g.members().length).toBe(4);

  for (const [committer, actor] of [["C", x], ["J", y]] as const) {
    await step("Empty Commit with path (self-update)", wf, actor, async () => {
      const r = await g.commit(committer);
      expect(r.hasPath).toBe(true);
    });
  }

  // A message of epoch e reaches a member of the other implementation after it moved to e+1.
  for (const [sender, receiver, committer, actor] of [["C", "J", "L", x], ["J", "C", "K", y]] as const) {
    await step("Late application message, previous epoch", wf, actor, async () => {
      const late = await g.send(sender, `late from ${sender}`);
      await g.commit(committer);
      expect(await g.receive(receiver, late, sender)).toBe(`late from ${sender}`);
    });
  }

  await step("Remove by value (path), other impl removed", wf, y, async () => {
    const r = await g.commit("J", { remove: ["K"] });
    expect(r.hasPath).toBe(true);
    expect(g.removed.has("K")).toBe(true);
    const after = await g.send("L", "K is gone");
    await g.expectUnreadable("K", after);
    expect(await g.receive("C", after, "L")).toBe("K is gone");
  });

  await step("Remove proposal by reference -> Commit", wf, x, async () => {
    await g.proposeRemove("L", "J");
    const r = await g.commit("C", { removedByReference: ["J"] });
    expect(r.hasPath).toBe(true);
    expect(g.removed.has("J")).toBe(true);
    expect(g.members().sort()).toEqual(["C", "L"]);
    const after = await g.send("C", "J is gone");
    await g.expectUnreadable("J", after);
    expect(await g.receive("L", after, "C")).toBe("J is gone");
    const back = await g.send("L", "bye");
    expect(await g.receive("C", back, "L")).toBe("bye");
  });
}

for (const p of PROVIDERS) {
  for (const suite of TS_MLS_SUITES) {
    describe(`${p.name} provider, suite ${suite}, with ts-mls`, () => {
      for (const wf of ["public", "private"] as const) {
        for (const x of ["ours", "ts-mls"] as const) {
          it(`handshakes as ${wf === "public" ? "PublicMessage" : "PrivateMessage"}, ${x} creates the group`, async () => {
            await mixedFlow(p, suite, wf, x);
          });
        }
      }
    });
  }
}
