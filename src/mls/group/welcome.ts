/**
 * Welcome messages (RFC 9420 §12.4.3.1): building one for the members a Commit adds, and joining
 * a group from one.
 *
 * Joining:
 *
 *   find our EncryptedGroupSecrets by KeyPackageRef ─► DecryptWithLabel(init_priv, "Welcome")
 *   ─► PSKs ─► welcome_secret ─► decrypt GroupInfo ─► tree (extension or out of band)
 *   ─► GroupInfo signature ─► tree validation (hash, parent hashes, unmerged leaves, keys, leaves)
 *   ─► own leaf ─► path secrets from the common ancestor up ─► key schedule from joiner_secret
 *   ─► confirmation tag ─► interim transcript hash ─► GroupState
 * @module
 */
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { decryptWithLabel, encryptContext } from "../../crypto/labeled.js";
import { CryptoError, UsageError, ValidationError } from "../../errors.js";
import { bytesEqual, constantTimeEqual, EMPTY, wipe } from "../../util/bytes.js";
import { validateWithAuthenticationService } from "../auth/authentication-service.js";
import { checkNoDuplicateExtensions } from "../core/capabilities-ops.js";
import { extensionTypes, findExtension } from "../core/extension.js";
import { decodeExternalSenders } from "../core/external-senders.js";
import { pskTypes, resumptionPskUsages, type PreSharedKeyId } from "../core/pre-shared-key-id.js";
import { protocolVersions, wireFormats } from "../core/protocol.js";
import type { MlsMessage } from "../framing/mls-message.js";
import { decodeGroupInfo, encodeGroupInfo, type GroupInfo } from "../messages/group-info.js";
import { checkKeyPackagePrivateKeys, keyPackageRef, type KeyPackagePrivateKeys } from "../messages/key-package-ops.js";
import type { KeyPackage } from "../messages/key-package.js";
import { decodeGroupSecrets, encodeGroupSecrets, findEncryptedGroupSecrets, type GroupSecrets, type Welcome } from "../messages/welcome.js";
import { encodeGroupContext, type GroupContext } from "../schedule/group-context.js";
import { deriveWelcomeKey, deriveWelcomeSecret, keyScheduleFromJoiner, type WelcomeSecret } from "../schedule/key-schedule.js";
import { confirmationTag as computeConfirmationTag, interimTranscriptHash } from "../schedule/transcript-hash.js";
import { encodeLeafNode } from "../tree/leaf-node.js";
import { validateLeafNodeSync } from "../tree/leaf-node-ops.js";
import { deriveNodeKeyPair, nextPathSecret } from "../tree/path-secrets.js";
import type { RatchetTree } from "../tree/ratchet-tree.js";
import { commonAncestor, parent as parentOf, type LeafIndex, type NodeIndex } from "../tree/tree-math.js";
import { TreePrivateKeys } from "../tree/tree-private-keys.js";
import { TreeState } from "../tree/tree-state.js";
import { leafSignatureChecks, validateRatchetTree } from "../tree/tree-validation.js";
import { verifySignaturesSequentially, type ExternalPskStore, type GroupConfig } from "./group-config.js";
import { groupFactsOf } from "./group-facts.js";
import { ratchetTreeOf, verifyGroupInfoWithTree } from "./group-info-ops.js";
import { EpochRuntime, GroupState } from "./group-state.js";
import { lookupPsks, type PskLookup, type ResumptionPskSource } from "./psk-lookup.js";
import { derivePskSecret } from "../schedule/psk.js";

/** Credentials of a joined tree checked by the authentication service at once (RFC 9420 §5.3.1). */
const AS_CONCURRENCY = 64;
const JOIN = "RFC 9420 §12.4.3.1";
const LABEL = "Welcome";

/** One new member of a Welcome: its KeyPackage and the path secret of its common ancestor with the committer. */
export interface WelcomeRecipient {
  readonly keyPackage: KeyPackage;
  readonly pathSecret: Uint8Array | null;
}

export interface BuildWelcomeParams {
  readonly cs: CipherSuite;
  readonly groupInfo: GroupInfo;
  readonly joinerSecret: Uint8Array;
  readonly welcomeSecret: WelcomeSecret;
  /** The PSKs of the Commit, in proposal order (RFC 9420 §12.4.1). */
  readonly psks: readonly PreSharedKeyId[];
  readonly recipients: readonly WelcomeRecipient[];
}

/**
 * RFC 9420 §12.4.3.1: encrypt the GroupInfo with the welcome key and nonce, and GroupSecrets to
 * each recipient's init_key with EncryptWithLabel(init_key, "Welcome", encrypted_group_info, .).
 * The HPKE seals run concurrently.
 */
export async function buildWelcome(p: BuildWelcomeParams): Promise<Welcome> {
  const { cs } = p;
  const wk = deriveWelcomeKey(cs, p.welcomeSecret);
  const encryptedGroupInfo = cs.aeadSeal(wk.key, wk.nonce, EMPTY, encodeGroupInfo(p.groupInfo));
  wipe(wk.key, wk.nonce);
  // EncryptWithLabel's context is the whole encrypted_group_info (with the ratchet tree, O(n)
  // bytes), so its EncryptContext is built once and shared by every seal instead of once per
  // recipient (a provider can then also reuse the HPKE info_hash of the same buffer).
  const info = encryptContext(LABEL, encryptedGroupInfo);
  const secrets = await Promise.all(
    p.recipients.map(async (r) => {
      const plaintext = encodeGroupSecrets({ joinerSecret: p.joinerSecret, pathSecret: r.pathSecret, psks: p.psks });
      try {
        const sealed = await cs.hpkeSeal(r.keyPackage.initKey, info, EMPTY, plaintext);
        return { newMember: keyPackageRef(cs, r.keyPackage), encryptedGroupSecrets: { kemOutput: sealed.kemOutput, ciphertext: sealed.ciphertext } };
      } finally {
        wipe(plaintext);
      }
    }),
  );
  return { cipherSuite: cs.params.id, secrets, encryptedGroupInfo };
}

/** A Welcome as an MLSMessage (RFC 9420 §6). */
export function welcomeMessage(welcome: Welcome): MlsMessage {
  return { version: protocolVersions.mls10, wireFormat: wireFormats.mls_welcome, welcome };
}

export interface JoinFromWelcomeParams {
  /** The suite of our KeyPackage (the Welcome must use the same one). */
  readonly cs: CipherSuite;
  readonly config: GroupConfig;
  readonly welcome: Welcome | MlsMessage;
  readonly keyPackage: KeyPackage;
  readonly keyPackagePrivateKeys: KeyPackagePrivateKeys;
  /** The tree, when the GroupInfo has no ratchet_tree extension (RFC 9420 §12.4.3.1 "download the tree"). */
  readonly ratchetTree?: TreeState | RatchetTree;
  /** External PSKs; default `config.externalPsks`. */
  readonly externalPsks?: ExternalPskStore;
  /** Resumption PSKs of earlier groups (ReInit, branching). */
  readonly resumptionPsks?: ResumptionPskSource;
  /** RFC 9420 §12.4.3: "New members MUST verify that group_id is unique among the groups they are currently participating in." */
  readonly isGroupIdInUse?: (groupId: Uint8Array) => boolean;
}

/** The resumption PSK of usage reinit or branch a Welcome used (RFC 9420 §11.2, §11.3), for the caller's further checks. */
export interface WelcomeResumption {
  readonly usage: "reinit" | "branch";
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
}

export interface JoinedGroup {
  readonly state: GroupState;
  readonly groupInfo: GroupInfo;
  readonly resumption: WelcomeResumption | null;
}

function welcomeOf(w: Welcome | MlsMessage): Welcome {
  if ("wireFormat" in w) {
    if (w.wireFormat !== wireFormats.mls_welcome) throw new UsageError("not_a_welcome", `expected an mls_welcome MLSMessage, got wire format ${w.wireFormat}`);
    return w.welcome;
  }
  return w;
}

export interface OpenWelcomeParams {
  readonly cs: CipherSuite;
  readonly welcome: Welcome | MlsMessage;
  readonly keyPackage: KeyPackage;
  readonly initPrivateKey: Uint8Array;
  readonly psks: PskLookup;
}

/** A decrypted Welcome: our GroupSecrets and the GroupInfo, not yet checked against a tree. Wipe the secrets when done. */
export interface OpenedWelcome {
  readonly groupSecrets: GroupSecrets;
  readonly pskSecret: Uint8Array;
  readonly groupInfo: GroupInfo;
}

/**
 * RFC 9420 §12.4.3.1, first steps: find our EncryptedGroupSecrets, decrypt them, look up the
 * PSKs, derive the welcome key and decrypt the GroupInfo.
 */
export async function openWelcome(p: OpenWelcomeParams): Promise<OpenedWelcome> {
  const { cs, keyPackage: kp } = p;
  const welcome = welcomeOf(p.welcome);
  // "If ... the cipher suite indicated in the KeyPackage does not match the one in the Welcome message, return an error."
  if (welcome.cipherSuite !== kp.cipherSuite || kp.cipherSuite !== cs.params.id) {
    throw new ValidationError("welcome_cipher_suite", `Welcome suite ${welcome.cipherSuite}, KeyPackage suite ${kp.cipherSuite}`, JOIN);
  }
  const ref = keyPackageRef(cs, kp);
  // "Identify an entry in the secrets array where the new_member value corresponds to one of this client's KeyPackages"
  const entry = findEncryptedGroupSecrets(welcome, ref);
  if (entry === null) throw new ValidationError("welcome_not_for_us", "the Welcome has no secrets for our KeyPackage", JOIN);
  const gsBytes = await decryptWithLabel(cs, p.initPrivateKey, LABEL, welcome.encryptedGroupInfo, entry.encryptedGroupSecrets.kemOutput, entry.encryptedGroupSecrets.ciphertext);
  const groupSecrets = decodeGroupSecrets(gsBytes);
  wipe(gsBytes);

  // "If a PreSharedKeyID is part of the GroupSecrets and the client is not in possession of the corresponding PSK, return an error.
  // Additionally, if a PreSharedKeyID has type resumption with usage reinit or branch, verify that it is the only such PSK."
  const special = groupSecrets.psks.filter((id) => id.psktype === pskTypes.resumption && id.usage !== resumptionPskUsages.application);
  if (special.length > 1) throw new ValidationError("welcome_resumption_psks", "more than one reinit/branch resumption PSK", JOIN);
  const pskSecret = derivePskSecret(cs, lookupPsks(groupSecrets.psks, p.psks, JOIN));

  const welcomeSecret = deriveWelcomeSecret(cs, groupSecrets.joinerSecret, pskSecret);
  const wk = deriveWelcomeKey(cs, welcomeSecret);
  wipe(welcomeSecret);
  try {
    // The plaintext is ours alone: decode it without copying the ratchet tree out of it.
    const groupInfo = decodeGroupInfo(cs.aeadOpen(wk.key, wk.nonce, EMPTY, welcome.encryptedGroupInfo), { shareInput: true });
    return { groupSecrets, pskSecret, groupInfo };
  } finally {
    wipe(wk.key, wk.nonce);
  }
}

/** RFC 9420 §12.4.3.1: join a group from a Welcome. */
export async function joinFromWelcome(p: JoinFromWelcomeParams): Promise<JoinedGroup> {
  const { cs, config, keyPackage: kp } = p;
  await checkKeyPackagePrivateKeys(cs, kp, p.keyPackagePrivateKeys);
  const { groupSecrets: gs, pskSecret, groupInfo: gi } = await openWelcome({
    cs,
    welcome: p.welcome,
    keyPackage: kp,
    initPrivateKey: p.keyPackagePrivateKeys.initPrivateKey,
    psks: { external: [p.externalPsks ?? config.externalPsks], resumption: p.resumptionPsks ?? (() => null) },
  });
  const special = gs.psks.filter((id) => id.psktype === pskTypes.resumption && id.usage !== resumptionPskUsages.application);
  const gc = gi.groupContext;
  // "Verify that the cipher_suite in the GroupInfo matches the cipher_suite in the KeyPackage."
  if (gc.cipherSuite !== kp.cipherSuite) throw new ValidationError("group_info_cipher_suite", `GroupInfo suite ${gc.cipherSuite}, KeyPackage suite ${kp.cipherSuite}`, JOIN);
  if (gc.version !== protocolVersions.mls10 || gc.version !== kp.version) throw new ValidationError("group_info_version", `GroupInfo version ${gc.version}`, JOIN);
  checkNoDuplicateExtensions(gc.extensions, "GroupContext.extensions");
  // "Verify that the group_id is unique among the groups that the client is currently participating in."
  if (p.isGroupIdInUse?.(gc.groupId)) throw new ValidationError("group_id_in_use", "we are already in a group with this group_id", "RFC 9420 §12.4.3");

  // The GroupInfo was decoded with views from its private plaintext (decryptWelcome): the tree
  // shares that buffer rather than copying it out again.
  const tree = ratchetTreeOf(gi, { shareExtensionData: true }) ?? outOfBandTree(p.ratchetTree);
  // "Verify the signature on the GroupInfo object ... If the node is blank or if signature verification fails, return an error."
  verifyGroupInfoWithTree(cs, gi, tree);
  // "Use the joiner_secret from the GroupSecrets object to generate the epoch secret and other derived secrets"
  const gcBytes = encodeGroupContext(gc);
  const { welcomeSecret: ws2, epochSecrets } = keyScheduleFromJoiner(cs, gs.joinerSecret, pskSecret, gcBytes);
  wipe(ws2, gs.joinerSecret, pskSecret);
  // "Verify the confirmation tag in the GroupInfo using the derived confirmation key and the
  // confirmed_transcript_hash" (done before the O(n) tree validation: cheap checks first).
  const expected = computeConfirmationTag(cs, epochSecrets.confirmationKey, gc.confirmedTranscriptHash);
  if (!constantTimeEqual(expected, gi.confirmationTag)) throw new CryptoError("bad_confirmation_tag", "the GroupInfo confirmation_tag does not verify");

  // "Verify the integrity of the ratchet tree."
  await validateJoinTree({ cs, config, tree, groupContext: gc });
  // "Identify a leaf whose LeafNode is identical to the one in the KeyPackage."
  const me = tree.findLeafByEncryptionKey(kp.leafNode.encryptionKey);
  if (me === undefined || !bytesEqual(encodeLeafNode(tree.leaf(me)!), encodeLeafNode(kp.leafNode))) {
    throw new ValidationError("welcome_own_leaf_missing", "our KeyPackage's LeafNode is not in the tree", JOIN);
  }
  const privateKeys = await joinerPrivateKeys(cs, tree, me, gi.signer, p.keyPackagePrivateKeys.encryptionPrivateKey, gs.pathSecret);
  if (gs.pathSecret !== null) wipe(gs.pathSecret);

  let resumption: WelcomeResumption | null = null;
  const s = special[0];
  if (s !== undefined && s.psktype === pskTypes.resumption) {
    // "If a PreSharedKeyID was used that has type resumption with usage reinit or branch, verify that the epoch field in the GroupInfo is equal to 1."
    if (gc.epoch !== 1n) throw new ValidationError("resumption_epoch", `a ${s.usage === resumptionPskUsages.reinit ? "reinit" : "branch"} Welcome must start at epoch 1, got ${gc.epoch}`, JOIN);
    resumption = { usage: s.usage === resumptionPskUsages.reinit ? "reinit" : "branch", groupId: s.pskGroupId, epoch: s.pskEpoch };
  }

  const runtime = EpochRuntime.create(cs, gc.epoch, epochSecrets.encryptionSecret, epochSecrets.senderDataSecret, tree.nLeaves, config.ratchetLimits);
  wipe(epochSecrets.encryptionSecret);
  const state = GroupState.fromFields(
    {
      cs,
      config,
      groupContext: gc,
      tree,
      // "Use the confirmed transcript hash and confirmation tag to compute the interim transcript hash"
      interimTranscriptHash: interimTranscriptHash(cs, gc.confirmedTranscriptHash, gi.confirmationTag),
      confirmationTag: gi.confirmationTag,
      epochSecrets,
      runtime,
      ownLeafIndex: me,
      signaturePrivateKey: p.keyPackagePrivateKeys.signaturePrivateKey,
      privateKeys,
      pendingProposals: new Map(),
      ownUpdateKeys: new Map(),
      resumptionPsks: [{ epoch: gc.epoch, psk: epochSecrets.resumptionPsk }],
      pastEpochs: [],
      status: { kind: "active" },
    },
    gcBytes,
  );
  return { state, groupInfo: gi, resumption };
}

function outOfBandTree(t: TreeState | RatchetTree | undefined): TreeState {
  if (t === undefined) throw new UsageError("missing_ratchet_tree", "the GroupInfo has no ratchet_tree extension: pass the tree obtained out of band (RFC 9420 §12.4.3.1)");
  return t instanceof TreeState ? t : TreeState.fromRatchetTree(t);
}

/**
 * RFC 9420 §12.4.3.1 "Verify the integrity of the ratchet tree": tree hash, parent hashes,
 * unmerged leaves, key uniqueness, and each leaf per §7.3 (signature, capabilities, lifetime,
 * credential with the AS). Also validates the credentials of an external_senders extension
 * (§5.3.1). The leaf signatures dominate the cost: one verification per member.
 */
export interface JoinTreeValidationParams {
  readonly cs: CipherSuite;
  readonly config: GroupConfig;
  readonly tree: TreeState;
  /** The GroupContext of the GroupInfo: group_id, tree_hash, extensions and version are checked against. */
  readonly groupContext: GroupContext;
}

export async function validateJoinTree(p: JoinTreeValidationParams): Promise<void> {
  const { cs, config, tree } = p;
  const { groupId, treeHash, extensions, version } = p.groupContext;
  const facts = groupFactsOf(tree, extensions, version);
  const now = config.now();
  // §7.3 leaf signatures: one batch through config.verifySignatures (the LeafNodeTBS of every
  // leaf, as validateLeafNodeSync would check it). A verifier other than the same-thread default
  // starts now, so that worker threads verify while this thread checks the rest of the tree;
  // validateLeafNodeSync gets a view of the suite whose `verify` leaves signatures to that batch.
  // The checks (10,000 objects for a 10,000-member tree) live only as long as needed: a verifier
  // that starts now takes them at once (the parallel one copies them into shared memory), the
  // same-thread default gets them built when it runs, at the end; failures are reported by leaf.
  const leafIndices = tree.members().map((m) => m.leafIndex);
  const early = config.verifySignatures === verifySignaturesSequentially ? null : config.verifySignatures(cs, leafSignatureChecks(tree, groupId));
  const deferred: CipherSuite = { ...cs, verify: () => true };
  await validateRatchetTree({
    cs,
    tree,
    groupId,
    treeHash,
    validateLeaf: (leaf, leafIndex) =>
      validateLeafNodeSync(deferred, leaf, {
        group: { groupId, leafIndex },
        groupFacts: facts,
        now,
        checkLifetime: config.lifetime.checkTreeOnJoin,
        clockSkewSeconds: config.lifetime.clockSkewSeconds,
        maxLifetimeSeconds: config.lifetime.maxLifetimeSeconds,
      }),
    verifySignatures: async () => {
      const ok = await (early ?? config.verifySignatures(cs, leafSignatureChecks(tree, groupId)));
      const bad = leafIndices.findIndex((_, i) => ok[i] !== true);
      // RFC 9420 §7.3: "Verify that the signature on the LeafNode is valid using signature_key."
      if (bad >= 0) throw new ValidationError("valid.bad_leaf_node_signature", `the LeafNode signature of leaf ${leafIndices[bad]!} does not verify`, "RFC 9420 §7.3");
    },
  });
  const as = config.authenticationService;
  const ctx = { cipherSuite: cs.params.id, now, purpose: "tree" as const, groupId };
  // A bounded number of credentials in flight at once: an asynchronous service still overlaps its
  // lookups, and a 10,000-member tree does not hold 10,000 pending checks (and their decoded
  // credentials) through several garbage collections.
  const members = tree.members();
  for (let i = 0; i < members.length; i += AS_CONCURRENCY) {
    await Promise.all(members.slice(i, i + AS_CONCURRENCY).map((m) => validateWithAuthenticationService(as, m.leafNode.credential, m.leafNode.signatureKey, ctx)));
  }
  const es = findExtension(extensions, extensionTypes.external_senders);
  if (es !== null) {
    for (const s of decodeExternalSenders(es.extensionData)) {
      await validateWithAuthenticationService(as, s.credential, s.signatureKey, { ...ctx, purpose: "external_sender" });
    }
  }
}

/**
 * RFC 9420 §12.4.3.1: our leaf key, and, from `pathSecret` at the lowest common ancestor of our
 * leaf and the signer's, the keys of that node and of every (non-blank) node above it on the
 * committer's path, each checked against the tree.
 */
async function joinerPrivateKeys(
  cs: CipherSuite,
  tree: TreeState,
  me: LeafIndex,
  signer: number,
  leafPrivateKey: Uint8Array,
  pathSecret: Uint8Array | null,
): Promise<TreePrivateKeys> {
  const entries: [number, Uint8Array][] = [[2 * me, leafPrivateKey]];
  if (pathSecret !== null) {
    if (signer === me) throw new ValidationError("welcome_signer_is_joiner", "the GroupInfo signer is the joiner itself", JOIN);
    const root = tree.root;
    let n = commonAncestor((2 * me) as NodeIndex, (2 * signer) as NodeIndex);
    let secret = pathSecret;
    for (;;) {
      const pub = tree.encryptionKey(n);
      if (pub !== null) {
        const kp = await deriveNodeKeyPair(cs, secret);
        // "The private key MUST be the private key that corresponds to the public key in the node."
        if (!bytesEqual(kp.publicKey, pub)) throw new ValidationError("welcome_path_secret_mismatch", `the path secret does not match the key of node ${n}`, JOIN);
        entries.push([n, kp.privateKey]);
        const next = nextPathSecret(cs, secret);
        if (secret !== pathSecret) wipe(secret);
        secret = next;
      } else if (n === commonAncestor((2 * me) as NodeIndex, (2 * signer) as NodeIndex)) {
        throw new ValidationError("welcome_path_secret_blank", `the common ancestor ${n} is blank but a path secret was sent`, JOIN);
      }
      if (n === root) break;
      n = parentOf(n, tree.nLeaves);
    }
    if (secret !== pathSecret) wipe(secret);
  }
  return TreePrivateKeys.from(entries);
}
