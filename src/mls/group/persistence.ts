/**
 * Saving and loading a member's group state and its pending key material, in a versioned binary
 * format built with the project codec (envelope in persistence-codec.ts):
 *
 * ```
 *   struct {                                       // kind 1: GroupState
 *     uint16 cipher_suite;
 *     GroupContext group_context;                  // RFC 9420 §8.1
 *     optional<Node> ratchet_tree<V>;              // RFC 9420 §12.4.3.3
 *     opaque interim_transcript_hash<V>;
 *     opaque confirmation_tag<V>;
 *     opaque epoch_secrets<V>[8];                  // sender data, exporter, external, confirm,
 *                                                  // membership, resumption, authentication, init
 *     EpochRuntime runtime;                        // SecretTree, sender-data secret, generations
 *     uint32 own_leaf_index;
 *     opaque signature_private_key<V>;
 *     NodeKey private_keys<V>;                     // { uint32 node; opaque key<V>; }
 *     CachedProposal pending_proposals<V>;         // { opaque ref<V>; Proposal; Sender; }
 *     UpdateKey own_update_keys<V>;                // { opaque ref<V>; opaque key<V>; }
 *     ResumptionPsk resumption_psks<V>;            // { uint64 epoch; opaque psk<V>; }
 *     PastEpoch past_epochs<V>;                    // { optional<Node> tree<V>; opaque group_context<V>; EpochRuntime; }
 *     uint8 status; [uint64 epoch;] [ReInit reinit;]  // 0 active, 1 removed, 2 pendingReinit
 *   } PersistedGroupState;
 *
 *   struct {                                       // kind 2: a KeyPackage not yet used
 *     KeyPackage key_package;                      // RFC 9420 §10
 *     opaque init_private_key<V>; opaque encryption_private_key<V>; opaque signature_private_key<V>;
 *     uint8 last_resort;
 *   } PersistedKeyPackage;
 * ```
 *
 * The GroupConfig (policy, Authentication Service, clock) is not stored: it is given again at load.
 * Loading never trusts the blob: it is decoded strictly, then checked for consistency (tree hash
 * against the GroupContext, own leaf against the signature key, secret lengths, epochs); every
 * failure is a CodecError, never a crash. A blob holds secrets: store it like private keys.
 * @module
 */
import type { CipherSuite, CryptoProvider } from "../../crypto/cipher-suite.js";
import { isCipherSuiteId } from "../../crypto/cipher-suite.js";
import type { Reader } from "../../codec/reader.js";
import type { Writer } from "../../codec/writer.js";
import { UsageError } from "../../errors.js";
import { bytesEqual, fromHex, toHex } from "../../util/bytes.js";
import { readSender, writeSender } from "../framing/sender.js";
import { keyPackageRef, isLastResort, type KeyPackagePrivateKeys, type KeyPackageRef } from "../messages/key-package-ops.js";
import { readKeyPackage, writeKeyPackage, type KeyPackage } from "../messages/key-package.js";
import { readProposal, readReInit, writeProposal, writeReInit } from "../messages/proposal.js";
import { encodeGroupContext, readGroupContext, writeGroupContext } from "../schedule/group-context.js";
import type { EpochSecrets } from "../schedule/key-schedule.js";
import { readRatchetTree, writeRatchetTree } from "../tree/ratchet-tree.js";
import { rootTreeHash } from "../tree/tree-hash.js";
import type { LeafIndex } from "../tree/tree-math.js";
import { TreePrivateKeys } from "../tree/tree-private-keys.js";
import { TreeState } from "../tree/tree-state.js";
import type { GroupConfig } from "./group-config.js";
import { GroupState, type GroupStatus, type PastEpoch, type PendingProposal } from "./group-state.js";
import { field, persistedKinds, readEnvelope, readRuntime, writeEnvelope, writeRuntime } from "./persistence-codec.js";

export { PERSISTENCE_FORMAT_VERSION, PERSISTENCE_MAGIC, persistedKinds, type PersistedKind } from "./persistence-codec.js";

/** The EpochSecrets stored, in order (encryption_secret is consumed into the SecretTree, RFC 9420 §9.2). */
const SECRET_FIELDS = ["senderDataSecret", "exporterSecret", "externalSecret", "confirmationKey", "membershipKey", "resumptionPsk", "epochAuthenticator", "initSecret"] as const;

const STATUS = { active: 0, removed: 1, pendingReinit: 2 } as const;

function writeStatus(w: Writer, s: GroupStatus): void {
  w.u8(STATUS[s.kind]);
  if (s.kind === "removed") w.u64(s.epoch);
  if (s.kind === "pendingReinit") {
    w.u64(s.epoch);
    writeReInit(w, s.reinit);
  }
}

function readStatus(r: Reader): GroupStatus {
  const k = r.u8();
  switch (k) {
    case STATUS.active:
      return { kind: "active" };
    case STATUS.removed:
      return { kind: "removed", epoch: r.u64() };
    case STATUS.pendingReinit: {
      const epoch = r.u64();
      return { kind: "pendingReinit", epoch, reinit: readReInit(r) };
    }
    default:
      return r.fail("bad_enum", `unknown group status ${k}`);
  }
}

/**
 * The state as bytes: everything needed to continue the group (see the module doc). Save the
 * state after every change (a merged Commit, a processed proposal, and, since the epoch's
 * SecretTree moves with every message sent or received, after messages too).
 */
export function saveGroupState(state: GroupState): Uint8Array {
  // A state whose epoch was left would resurrect old keys.
  state.assertCurrent();
  return writeEnvelope(persistedKinds.group_state, (w) => {
    w.u16(state.cs.params.id);
    writeGroupContext(w, state.groupContext);
    writeRatchetTree(w, state.tree.toRatchetTree());
    w.opaque(state.interimTranscriptHash).opaque(state.confirmationTag);
    for (const f of SECRET_FIELDS) w.opaque(state.epochSecrets[f]);
    writeRuntime(w, state.runtime);
    w.u32(state.ownLeafIndex).opaque(state.signaturePrivateKey);
    w.array(state.privateKeys.entries(), (w2, [n, k]) => w2.u32(n).opaque(k));
    w.array(state.proposals(), (w2, p) => {
      w2.opaque(p.ref);
      writeProposal(w2, p.proposal);
      writeSender(w2, p.sender);
    });
    w.array([...state.ownUpdateKeys], (w2, [ref, key]) => w2.opaque(fromHex(ref)).opaque(key));
    w.array(state.resumptionPsks, (w2, p) => w2.u64(p.epoch).opaque(p.psk));
    w.array(state.pastEpochs, (w2, p) => {
      writeRatchetTree(w2, p.tree.toRatchetTree());
      w2.opaque(p.groupContextBytes);
      writeRuntime(w2, p.runtime);
    });
    writeStatus(w, state.status);
  }, 4096 + state.tree.nodeCount * 256);
}

export interface LoadGroupStateOptions {
  /** Supplies the group's cipher suite. */
  readonly provider: CryptoProvider;
  /** The group's policy (not stored). Its ratchet limits and windows apply from now on. */
  readonly config: GroupConfig;
}

function suiteOf(r: Reader, provider: CryptoProvider): CipherSuite {
  const id = r.u16();
  if (!isCipherSuiteId(id)) r.fail("bad_enum", `unknown cipher suite ${id}`);
  if (!provider.supports(id)) throw new UsageError("unsupported_cipher_suite", `provider ${provider.name} does not support suite ${id}`);
  return provider.suite(id);
}

function inconsistent(r: Reader, what: string): never {
  return r.fail("inconsistent_state", what);
}

function readGroupState(r: Reader, { provider, config }: LoadGroupStateOptions): GroupState {
  const cs = field(r, "cipher_suite", () => suiteOf(r, provider));
  const { Nh } = cs.params;
  const secret = (name: string): Uint8Array => {
    const v = field(r, name, () => r.opaque());
    if (v.length !== Nh) inconsistent(r, `${name} has ${v.length} bytes, expected ${Nh}`);
    return v;
  };
  const groupContext = field(r, "group_context", () => readGroupContext(r));
  const tree = field(r, "tree", () => TreeState.fromRatchetTree(readRatchetTree(r)));
  const interim = secret("interim_transcript_hash");
  const confirmationTag = secret("confirmation_tag");
  const s: Record<string, Uint8Array> = { encryptionSecret: new Uint8Array(Nh) };
  for (const f of SECRET_FIELDS) s[f] = secret(f);
  const epochSecrets = s as unknown as EpochSecrets;
  const runtime = field(r, "runtime", () => readRuntime(r, cs, config.ratchetLimits));
  const ownLeafIndex = field(r, "own_leaf_index", () => r.u32()) as LeafIndex;
  const signaturePrivateKey = field(r, "signature_private_key", () => r.opaque());
  const privateKeys = field(r, "private_keys", () => TreePrivateKeys.from(r.vector((r2) => [r2.u32(), r2.opaque()] as const)));
  const pending = field(r, "pending_proposals", () =>
    r.vector((r2): PendingProposal => {
      const ref = r2.opaque();
      const proposal = readProposal(r2);
      return { ref, proposal, sender: readSender(r2) };
    }),
  );
  const updateKeys = field(r, "own_update_keys", () => r.vector((r2) => [toHex(r2.opaque()), r2.opaque()] as const));
  const psks = field(r, "resumption_psks", () => r.vector((r2) => ({ epoch: r2.u64(), psk: r2.opaque() })));
  const past = field(r, "past_epochs", () =>
    r.vector((r2): PastEpoch => {
      const t = TreeState.fromRatchetTree(readRatchetTree(r2));
      const groupContextBytes = r2.opaque();
      const rt = readRuntime(r2, cs, config.ratchetLimits);
      rt.retire();
      return { epoch: rt.epoch, tree: t, groupContextBytes, runtime: rt };
    }),
  );
  const status = field(r, "status", () => readStatus(r));

  // Consistency: what a mutated or mismatched blob would break.
  field(r, "consistency", () => {
    if (groupContext.cipherSuite !== cs.params.id) inconsistent(r, `the GroupContext names suite ${groupContext.cipherSuite}`);
    if (!bytesEqual(rootTreeHash(cs, tree), groupContext.treeHash)) inconsistent(r, "the tree does not hash to the GroupContext's tree_hash");
    if (runtime.epoch !== groupContext.epoch || runtime.secretTree.nLeaves !== tree.nLeaves) inconsistent(r, "the secret tree is not the epoch's");
    const own = ownLeafIndex < tree.nLeaves ? tree.leaf(ownLeafIndex) : null;
    if (own === null || !bytesEqual(own.signatureKey, cs.signaturePublicKey(signaturePrivateKey))) inconsistent(r, "our leaf does not hold our signature key");
    for (const n of privateKeys.nodes()) if (n >= tree.nodeCount || tree.nodes[n] === null) inconsistent(r, `a private key for blank node ${n}`);
    let last = -1n;
    for (const p of past) {
      if (p.epoch <= last || p.epoch >= groupContext.epoch || p.runtime.secretTree.nLeaves !== p.tree.nLeaves) inconsistent(r, `past epoch ${p.epoch} is out of order`);
      last = p.epoch;
    }
    for (const p of pending) if (p.ref.length !== Nh) inconsistent(r, "a ProposalRef of the wrong length");
  });

  // The config may keep fewer past epochs or resumption PSKs than the saved state had.
  const kept = config.maxPastEpochs === 0 ? [] : past.slice(-config.maxPastEpochs);
  for (const p of past) if (!kept.includes(p)) p.runtime.destroy();
  return GroupState.fromFields(
    {
      cs,
      config,
      groupContext,
      tree,
      interimTranscriptHash: interim,
      confirmationTag,
      epochSecrets,
      runtime,
      ownLeafIndex,
      signaturePrivateKey,
      privateKeys,
      pendingProposals: new Map(pending.map((p) => [toHex(p.ref), p])),
      ownUpdateKeys: new Map(updateKeys),
      resumptionPsks: psks.slice(-Math.max(1, config.maxResumptionPsks)),
      pastEpochs: kept,
      status,
    },
    encodeGroupContext(groupContext),
  );
}

/**
 * A GroupState from {@link saveGroupState}'s bytes. CodecError (`codec.*`) for anything wrong
 * with the bytes — bad magic, unsupported format version, checksum, truncation, inconsistent
 * content; UsageError when the provider lacks the suite.
 */
export function loadGroupState(bytes: Uint8Array, opts: LoadGroupStateOptions): GroupState {
  return readEnvelope(bytes, persistedKinds.group_state, "group_state", (r) => readGroupState(r, opts));
}

/** A KeyPackage we published and its private keys, kept until a Welcome uses it (RFC 9420 §10, §16.8). */
export interface PendingKeyPackage {
  readonly keyPackage: KeyPackage;
  readonly privateKeys: KeyPackagePrivateKeys;
  /** A last-resort KeyPackage (may be used more than once, RFC 9420 §16.8). Default: from its extension. */
  readonly lastResort?: boolean;
}

export function savePendingKeyPackage(p: PendingKeyPackage): Uint8Array {
  return writeEnvelope(persistedKinds.pending_key_package, (w) => {
    writeKeyPackage(w, p.keyPackage);
    w.opaque(p.privateKeys.initPrivateKey).opaque(p.privateKeys.encryptionPrivateKey).opaque(p.privateKeys.signaturePrivateKey);
    w.u8(p.lastResort ?? isLastResort(p.keyPackage) ? 1 : 0);
  });
}

/** The pending KeyPackage of {@link savePendingKeyPackage}'s bytes, with its KeyPackageRef. */
export function loadPendingKeyPackage(bytes: Uint8Array, opts: { readonly provider: CryptoProvider }): Required<PendingKeyPackage> & { readonly ref: KeyPackageRef } {
  return readEnvelope(bytes, persistedKinds.pending_key_package, "pending_key_package", (r) => {
    const keyPackage = field(r, "key_package", () => readKeyPackage(r));
    const privateKeys: KeyPackagePrivateKeys = {
      initPrivateKey: field(r, "init_private_key", () => r.opaque()),
      encryptionPrivateKey: field(r, "encryption_private_key", () => r.opaque()),
      signaturePrivateKey: field(r, "signature_private_key", () => r.opaque()),
    };
    const flag = field(r, "last_resort", () => r.u8());
    if (flag > 1) r.fail("bad_enum", `last_resort must be 0 or 1, got ${flag}`);
    const cs = field(r, "cipher_suite", () => {
      const id = keyPackage.cipherSuite;
      if (!isCipherSuiteId(id)) return r.fail("bad_enum", `unknown cipher suite ${id}`);
      if (!opts.provider.supports(id)) throw new UsageError("unsupported_cipher_suite", `provider ${opts.provider.name} does not support suite ${id}`);
      return opts.provider.suite(id);
    });
    field(r, "consistency", () => {
      if (!bytesEqual(cs.signaturePublicKey(privateKeys.signaturePrivateKey), keyPackage.leafNode.signatureKey)) inconsistent(r, "the signature private key does not match the KeyPackage");
    });
    return { keyPackage, privateKeys, lastResort: flag === 1, ref: keyPackageRef(cs, keyPackage) };
  });
}
