/**
 * The group benchmark scenario for xmpp-mls (native provider, suite 1), one group size per call.
 *
 * Sparse variant (worst case for TreeKEM): A creates the group, adds B (who joins), then adds the
 * other N-2 members in ONE commit without a path, so every parent node is blank:
 *   add commit (A) ─► B processes it ─► J (the last added) joins by Welcome ─► J self-updates
 *   (empty commit, path to ~N-1 leaves) ─► B processes it ─► A adds one ─► A removes one
 *   ─► J encrypts application messages, B decrypts them.
 *
 * Full variant ("every member has updated": every parent node non-blank): the tree of A's group is
 * filled by running TreeKEM's preparePath for every other leaf in bit-reversed order (real path
 * secrets, node keys, parent hashes and leaf signatures; only the HPKE encryption to members that
 * nobody tracks is skipped), then A's state takes that tree with its own path keys. From there on
 * everything is the real protocol: A adds B and J in one commit, both join by Welcome, J
 * self-updates, B processes it, A adds one, removes one, J encrypts and B decrypts.
 *
 * Commits that would be thrown away are created several times from the same state (creating a
 * commit changes nothing until it is merged) and the median time is reported.
 * @module
 */
import { performance } from "node:perf_hooks";
import type { CipherSuite } from "../src/crypto/cipher-suite.js";
import { nativeProvider } from "../src/crypto/native/index.js";
import { unsafeTestingAuthenticationService } from "../src/mls/auth/authentication-service.js";
import { credentialTypes, proposalTypes, wireFormats } from "../src/mls/core/protocol.js";
import { decodeMlsMessage, encodeMlsMessage, type MlsMessage } from "../src/mls/framing/mls-message.js";
import {
  createCommit,
  createGroup,
  groupConfig,
  joinFromWelcome,
  mergeStagedCommit,
  processMessage,
  protect,
  type CreatedCommit,
  type GroupConfig,
  type GroupState,
} from "../src/mls/group/index.js";
import { createKeyPackage, type CreatedKeyPackage } from "../src/mls/messages/key-package-ops.js";
import { rootTreeHash } from "../src/mls/tree/tree-hash.js";
import { directPath, type LeafIndex, type NodeIndex } from "../src/mls/tree/tree-math.js";
import { TreePrivateKeys } from "../src/mls/tree/tree-private-keys.js";
import { preparePath } from "../src/mls/tree/treekem.js";
import { parallelSignatureVerifier, withWorkerPool, WorkerPool } from "../src/mls/parallel/index.js";
import { utf8 } from "../src/util/bytes.js";
import { writeMemberInputs } from "./group-member.js";
import { repeat, timeOnce } from "./harness.js";

export type Variant = "sparse" | "full";

/** Milliseconds per operation (medians), messages per second, and peak RSS. */
export interface GroupResult {
  readonly impl: string;
  readonly n: number;
  readonly variant: Variant;
  readonly keyPackagesMs: number;
  readonly addAllMs?: number;
  readonly processAddMs?: number;
  readonly fillMs?: number;
  readonly joinMs: number;
  readonly updateMs: number;
  readonly processUpdateMs: number;
  readonly addOneMs: number;
  readonly removeOneMs: number;
  readonly encryptPerSec: number;
  readonly decryptPerSec: number;
  readonly peakRssMb: number;
  readonly reps: number;
}

const wire = (m: MlsMessage): Uint8Array => encodeMlsMessage(m);

/** Progress on stderr with BENCH_VERBOSE=1. */
export function progress(msg: string): void {
  if (process.env.BENCH_VERBOSE) process.stderr.write(`  [${(performance.now() / 1000).toFixed(1)} s] ${msg}\n`);
}

/** `state` processes each of `commits` (alternatives for the same epoch, each message processed once). */
async function processEach(state: GroupState, commits: readonly Uint8Array[]) {
  return repeat(commits.length, async (i) => {
    const r = await processMessage(state, commits[i]!);
    if (r.kind !== "commit") throw new Error(`expected a commit, got ${r.kind}`);
    return r.staged;
  });
}

function keyPackage(cs: CipherSuite, name: string): Promise<CreatedKeyPackage> {
  return createKeyPackage({ cs, credential: { credentialType: credentialTypes.basic, identity: utf8(name) } });
}

function addProposals(kps: readonly CreatedKeyPackage[]) {
  return kps.map((k) => ({ proposalType: proposalTypes.add, add: { keyPackage: k.keyPackage } }));
}

async function expectCommit(state: GroupState, bytes: Uint8Array): Promise<GroupState> {
  const r = await processMessage(state, bytes);
  if (r.kind !== "commit") throw new Error(`expected a commit, got ${r.kind}`);
  return mergeStagedCommit(state, r.staged);
}

async function join(cs: CipherSuite, config: GroupConfig, welcome: MlsMessage | null, kp: CreatedKeyPackage): Promise<GroupState> {
  if (welcome === null) throw new Error("no Welcome");
  const joined = await joinFromWelcome({ cs, config, welcome: decodeMlsMessage(wire(welcome)), keyPackage: kp.keyPackage, keyPackagePrivateKeys: kp.privateKeys });
  return joined.state;
}

/** The leaves 1..n-1 in bit-reversed order of their index (fills the tree top-down: ~n log n HPKE-free steps). */
function bitReversedLeaves(nLeaves: number): number[] {
  const bits = Math.round(Math.log2(nLeaves));
  const out: number[] = [];
  for (let i = 0; i < nLeaves; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) if (i & (1 << b)) r |= 1 << (bits - 1 - b);
    out.push(r);
  }
  return out;
}

/**
 * "Every member has updated": run preparePath for every leaf of A's tree (except A's, done last
 * so that A knows its path keys) and give A the filled tree.
 */
async function fillTree(a: GroupState, sigKeys: ReadonlyMap<number, Uint8Array>): Promise<GroupState> {
  const { cs } = a;
  let tree = a.tree;
  const order = bitReversedLeaves(tree.nLeaves).filter((i) => i !== a.ownLeafIndex && tree.leaf(i) !== null);
  order.push(a.ownLeafIndex);
  let ownKeys = a.privateKeys;
  for (const i of order) {
    const leaf = tree.leaf(i)!;
    const prepared = await preparePath({
      cs,
      tree,
      leafIndex: i,
      leaf: { signatureKey: leaf.signatureKey, credential: leaf.credential, capabilities: leaf.capabilities, extensions: leaf.extensions },
      sign: { signaturePrivateKey: sigKeys.get(i)!, groupId: a.groupId },
    });
    tree = prepared.tree;
    if (i === a.ownLeafIndex) ownKeys = prepared.privateKeys;
  }
  const own = (2 * a.ownLeafIndex) as NodeIndex;
  const kept = [own, ...directPath(own, tree.nLeaves)].filter((n) => ownKeys.has(n));
  const groupContext = { ...a.groupContext, treeHash: rootTreeHash(cs, tree) };
  return a.with({ tree, groupContext, privateKeys: TreePrivateKeys.from(kept.map((n) => [n, ownKeys.get(n)!] as const)) });
}

/** Repetitions per operation: fewer at large N; the add-all commit (seconds at 10,000) once there. */
function repsFor(n: number): { readonly reps: number; readonly addAllReps: number } {
  const reps = n <= 10 ? 7 : n <= 100 ? 5 : 3;
  return { reps, addAllReps: n <= 1000 ? reps : 1 };
}

/**
 * `memberDir`: where to write the inputs of the one-member process (group-member.ts): K, the
 * member added just before J, joins from the same Welcome.
 */
export async function runOurs(n: number, variant: Variant, memberDir?: string): Promise<GroupResult> {
  if (n < 4) throw new Error("N must be at least 4");
  // Worker threads for HPKE seal bursts and join-time signature checks (BENCH_PARALLEL=0: none).
  const pool = process.env.BENCH_PARALLEL === "0" ? null : WorkerPool.shared();
  const cs = pool === null ? nativeProvider.suite(1) : withWorkerPool(nativeProvider.suite(1), pool);
  const config = groupConfig({
    authenticationService: unsafeTestingAuthenticationService,
    verifySignatures: pool === null ? undefined : parallelSignatureVerifier(pool),
  });
  const { reps, addAllReps } = repsFor(n);

  const kpT = await timeOnce(async () => {
    const out: CreatedKeyPackage[] = [];
    for (let i = 0; i < n + 1; i++) out.push(await keyPackage(cs, `member-${i}`));
    return out;
  });
  const kps = kpT.value;
  progress(`${n + 1} KeyPackages`);
  const [kpA, kpB, ...rest] = kps as [CreatedKeyPackage, CreatedKeyPackage, ...CreatedKeyPackage[]];
  const kpExtra = rest.pop()!; // for "add one"
  // rest: the other n-2 members; the last one is J.
  let a = await createGroup({ cs, config, leaf: { keyPackage: kpA.keyPackage, privateKeys: kpA.privateKeys } });

  let b: GroupState;
  let j: GroupState;
  let addAllMs: number | undefined;
  let processAddMs: number | undefined;
  let fillMs: number | undefined;
  let joinMs: number;
  let welcomeBytes: Uint8Array;
  const kpJ = rest[rest.length - 1]!;
  const kpK = rest[rest.length - 2]!;

  if (variant === "sparse") {
    const c1 = await createCommit(a, { proposals: addProposals([kpB]) });
    a = mergeStagedCommit(a, c1.staged);
    b = await join(cs, config, c1.welcome, kpB);
    // The timed step: A adds the other n-2 members in one commit.
    const add = await repeat(addAllReps, () => createCommit(a, { proposals: addProposals(rest) }), true);
    addAllMs = add.ms;
    progress(`add ${rest.length}: ${add.ms.toFixed(0)} ms`);
    const proc = await processEach(b, add.values.map((c) => wire(c.commitMessage)));
    processAddMs = proc.ms;
    progress(`process add: ${proc.ms.toFixed(0)} ms`);
    b = mergeStagedCommit(b, proc.value);
    a = mergeStagedCommit(a, add.value.staged);
    const welcome = add.value.welcome;
    welcomeBytes = wire(welcome!);
    const jr = await repeat(reps, () => join(cs, config, welcome, kpJ));
    joinMs = jr.ms;
    j = jr.value;
  } else {
    // Put the n-2 others into A's tree, then fill every path (see the module doc).
    const fill = await timeOnce(async () => {
      let tree = a.tree;
      const sigKeys = new Map<number, Uint8Array>([[0, kpA.privateKeys.signaturePrivateKey]]);
      for (const k of rest.slice(0, -2)) {
        const r = tree.addLeaf(k.keyPackage.leafNode);
        tree = r.tree;
        sigKeys.set(r.leafIndex, k.privateKeys.signaturePrivateKey);
      }
      return fillTree(a.with({ tree }), sigKeys);
    });
    fillMs = fill.ms;
    progress(`fill: ${fill.ms.toFixed(0)} ms`);
    a = fill.value;
    // B, K and J join by one real commit.
    const c1 = await createCommit(a, { proposals: addProposals([kpB, kpK, kpJ]) });
    a = mergeStagedCommit(a, c1.staged);
    b = await join(cs, config, c1.welcome, kpB);
    const welcome = c1.welcome;
    welcomeBytes = wire(welcome!);
    const jr = await repeat(reps, () => join(cs, config, welcome, kpJ));
    joinMs = jr.ms;
    j = jr.value;
  }

  progress(`join: ${joinMs.toFixed(0)} ms`);
  // J's self-update: an empty commit (path required, RFC 9420 §12.4).
  const jState = j;
  const upd = await repeat(reps, () => createCommit(jState, { groupInfo: false }), true);
  const updBytes = wire(upd.value.commitMessage);
  progress(`update: ${upd.ms.toFixed(0)} ms`);
  const pu = await processEach(b, upd.values.map((c) => wire(c.commitMessage)));
  b = mergeStagedCommit(b, pu.value);
  j = mergeStagedCommit(j, upd.value.staged);
  a = await expectCommit(a, updBytes);

  progress(`process update: ${pu.ms.toFixed(0)} ms`);
  // A adds one member; A removes one member (not B, not J). Neither is merged.
  const aState = a;
  const addOne = await repeat(reps, () => createCommit(aState, { proposals: addProposals([kpExtra]) }));
  const victim = aState.tree.members().find((m) => m.leafIndex !== aState.ownLeafIndex && m.leafIndex !== b.ownLeafIndex && m.leafIndex !== j.ownLeafIndex)!;
  const removeOne = await repeat(reps, () =>
    createCommit(aState, { proposals: [{ proposalType: proposalTypes.remove, remove: { removed: victim.leafIndex as LeafIndex } }] }),
  );
  void addOne.value;
  void removeOne.value;

  progress(`add one ${addOne.ms.toFixed(0)} ms, remove one ${removeOne.ms.toFixed(0)} ms`);
  // Application messages: J encrypts for a time budget, B decrypts all of them in order.
  const payload = cs.randomBytes(100);
  const budget = Number(process.env.BENCH_MSG_MS ?? 1000);
  const msgs: Uint8Array[] = [];
  const t0 = performance.now();
  let now = t0;
  do {
    msgs.push(wire(protect(j, payload)));
    now = performance.now();
  } while (now - t0 < budget);
  const encryptPerSec = (msgs.length * 1000) / (now - t0);
  const t1 = performance.now();
  for (const m of msgs) {
    const r = await processMessage(b, m);
    if (r.kind !== "application") throw new Error("expected an application message");
  }
  const decryptPerSec = (msgs.length * 1000) / (performance.now() - t1);
  if (decodeMlsMessage(msgs[0]!).wireFormat !== wireFormats.mls_private_message) throw new Error("expected a PrivateMessage");
  if (memberDir !== undefined) writeMemberInputs(memberDir, { welcome: welcomeBytes, keyPackage: kpK, commit: updBytes, messages: msgs.slice(0, 10_000) });

  return {
    impl: "xmpp-mls",
    n,
    variant,
    keyPackagesMs: kpT.ms,
    addAllMs,
    processAddMs,
    fillMs,
    joinMs,
    updateMs: upd.ms,
    processUpdateMs: pu.ms,
    addOneMs: addOne.ms,
    removeOneMs: removeOne.ms,
    encryptPerSec,
    decryptPerSec,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    reps,
  };
}

export type { CreatedCommit };
