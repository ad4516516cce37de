/**
 * TreeKEM (RFC 9420 §7.4–§7.6): creating an UpdatePath as a committer and processing one as a
 * receiver.
 *
 * Committer, in two steps because the HPKE context is the provisional GroupContext, whose tree
 * hash is that of the tree WITH the path merged (RFC 9420 §12.4.1, §12.4.2):
 *
 *   preparePath(tree after proposals) ─► { new tree, leaf, path secrets, keys, commit secret }
 *        │                      caller builds the GroupContext from rootTreeHash(new tree)
 *        ▼
 *   encryptPath(prepared, groupContext) ─► UpdatePath  (all HPKE seals run concurrently)
 *
 * Receiver:
 *
 *   processUpdatePath ─► mergeUpdatePath (checks, parent hashes, merge) ─► provisional GroupContext
 *        ─► decrypt one path secret ─► derive the rest, check the public keys ─► commit secret
 *
 * Signature and the other §7.3 checks of the committer's new LeafNode are the commit layer's job;
 * this module checks what depends on the tree (source, key reuse, path length, parent hash).
 * @module
 */
import type { CipherSuite, KeyPair } from "../../crypto/cipher-suite.js";
import { decryptWithLabel, encryptWithLabelMany } from "../../crypto/labeled.js";
import { UsageError, ValidationError } from "../../errors.js";
import { bytesEqual, wipe } from "../../util/bytes.js";
import { leafNodeSources } from "../core/protocol.js";
import { KeyIndex } from "./key-index.js";
import type { LeafNode, LeafNodeContent } from "./leaf-node.js";
import { signLeafNode } from "./leaf-node-ops.js";
import { computePathParentHashes } from "./parent-hash.js";
import { deriveCommitSecret, deriveNodeKeyPair, derivePathSecrets } from "./path-secrets.js";
import { commonAncestor, directPath, isAncestorOrSelf, type LeafIndex, type NodeIndex } from "./tree-math.js";
import { TreePrivateKeys } from "./tree-private-keys.js";
import type { TreeState } from "./tree-state.js";
import type { UpdatePath, UpdatePathNode } from "./update-path.js";

const LABEL = "UpdatePathNode";

/** The caller-chosen parts of the committer's new LeafNode (RFC 9420 §7.5 step 4). */
export type LeafTemplate = Pick<LeafNodeContent, "signatureKey" | "credential" | "capabilities" | "extensions">;

/** Signs the new leaf: a callback, or the signature key and group ID to sign LeafNodeTBS with. */
export type LeafSigner =
  | ((content: LeafNodeContent) => LeafNode)
  | { readonly signaturePrivateKey: Uint8Array; readonly groupId: Uint8Array };

export interface PreparePathParams {
  readonly cs: CipherSuite;
  /** The tree after applying the Commit's proposals. */
  readonly tree: TreeState;
  readonly leafIndex: number;
  readonly leaf: LeafTemplate;
  readonly sign: LeafSigner;
  /** Leaves added by this Commit: left out of every copath resolution (RFC 9420 §7.6). */
  readonly excluded?: Iterable<number>;
  /** The new leaf key pair; default freshly generated. */
  readonly leafKeyPair?: KeyPair;
  /** path_secret[0]; default random (RFC 9420 §7.4). */
  readonly firstPathSecret?: Uint8Array;
}

/** A path ready to be encrypted. Holds secrets: wipe `pathSecrets` once encrypted. */
export interface PreparedPath {
  /** The tree with the path merged (the new epoch's tree). */
  readonly tree: TreeState;
  readonly leafIndex: LeafIndex;
  readonly leafNode: LeafNode;
  readonly filteredDirectPath: readonly NodeIndex[];
  readonly pathSecrets: readonly Uint8Array[];
  readonly nodePublicKeys: readonly Uint8Array[];
  /** For each path node, the public keys of its copath child's resolution minus excluded leaves. */
  readonly recipients: readonly (readonly Uint8Array[])[];
  /** The committer's keys in the new tree: its leaf and every node of its filtered direct path. */
  readonly privateKeys: TreePrivateKeys;
  readonly commitSecret: Uint8Array;
}

function checkLeaf(tree: TreeState, i: number, what: string): void {
  if (!Number.isInteger(i) || i < 0 || i >= tree.nLeaves) throw new UsageError("tree_index", `${what} ${i} is outside a tree of ${tree.nLeaves} leaves`);
}

/**
 * RFC 9420 §7.4, §7.5, §7.9 for a committer: new leaf key pair, path secrets and node key pairs
 * for the filtered direct path, parent hashes top-down, the signed leaf, and the tree with the
 * path merged. No HPKE encryption yet (see {@link encryptPath}).
 */
export async function preparePath(p: PreparePathParams): Promise<PreparedPath> {
  const { cs, tree } = p;
  checkLeaf(tree, p.leafIndex, "leaf");
  const li = p.leafIndex as LeafIndex;
  const excluded = new Set(p.excluded ?? []);
  const { directPath: fdp, copath: fcp } = tree.filteredPath(li);
  // RFC 9420 §7.5: encrypt to "the resolution of the node's child that is on the copath", new members excluded.
  const recipients = fcp.map((c) => tree.resolution(c, excluded).map((n) => tree.encryptionKey(n)!));

  const leafKeyPair = p.leafKeyPair ?? (await cs.hpkeKeyPair());
  const first = p.firstPathSecret ?? cs.randomBytes(cs.params.Nh);
  const pathSecrets = derivePathSecrets(cs, first, fdp.length);
  const keyPairs = await Promise.all(pathSecrets.map((s) => deriveNodeKeyPair(cs, s)));
  const nodePublicKeys = keyPairs.map((k) => k.publicKey);
  // RFC 9420 §12.4.2: commit_secret = path_secret[n+1] (from path_secret[0] when the path is empty).
  const commitSecret = deriveCommitSecret(cs, pathSecrets.length > 0 ? pathSecrets[pathSecrets.length - 1]! : first);
  if (pathSecrets.length === 0) wipe(first);

  const ph = computePathParentHashes(cs, tree, { copath: fcp }, nodePublicKeys);
  const content: LeafNodeContent = {
    encryptionKey: leafKeyPair.publicKey,
    signatureKey: p.leaf.signatureKey,
    credential: p.leaf.credential,
    capabilities: p.leaf.capabilities,
    // RFC 9420 §7.5 step 4: leaf_node_source = commit, parent_hash = parent hash for the leaf.
    leafNodeSource: leafNodeSources.commit,
    parentHash: ph.leafParentHash,
    extensions: p.leaf.extensions,
  };
  const leafNode =
    typeof p.sign === "function"
      ? p.sign(content)
      : signLeafNode(cs, p.sign.signaturePrivateKey, content, { groupId: p.sign.groupId, leafIndex: li });
  const newTree = tree.setPath(
    li,
    leafNode,
    fdp.map((node, k) => ({ node, encryptionKey: nodePublicKeys[k]!, parentHash: ph.nodeParentHashes[k]! })),
  );
  const privateKeys = TreePrivateKeys.from([[2 * li, leafKeyPair.privateKey], ...fdp.map((n, k) => [n, keyPairs[k]!.privateKey] as const)]);
  return { tree: newTree, leafIndex: li, leafNode, filteredDirectPath: fdp, pathSecrets, nodePublicKeys, recipients, privateKeys, commitSecret };
}

/**
 * RFC 9420 §7.6: the UpdatePath, each path secret sealed with
 * EncryptWithLabel(pub, "UpdatePathNode", group_context, path_secret) to every recipient.
 * `groupContext` is the serialized provisional GroupContext (tree hash of `prepared.tree`).
 */
export async function encryptPath(cs: CipherSuite, prepared: PreparedPath, groupContext: Uint8Array): Promise<UpdatePath> {
  const nodes: UpdatePathNode[] = await Promise.all(
    prepared.filteredDirectPath.map(async (_, k) => ({
      encryptionKey: prepared.nodePublicKeys[k]!,
      encryptedPathSecret: await encryptWithLabelMany(
        cs,
        LABEL,
        groupContext,
        prepared.recipients[k]!.map((publicKey) => ({ publicKey, plaintext: prepared.pathSecrets[k]! })),
      ),
    })),
  );
  return { leafNode: prepared.leafNode, nodes };
}

/**
 * The path secret a member added by this Commit receives in its Welcome's GroupSecrets: the one
 * of the lowest common ancestor of the committer's leaf and `leafIndex` (RFC 9420 §12.4.3.1),
 * which is on the filtered direct path because the new leaf is below its copath child.
 */
export function pathSecretForLeaf(prepared: PreparedPath, leafIndex: number): { readonly node: NodeIndex; readonly pathSecret: Uint8Array } {
  const lca = commonAncestor((2 * prepared.leafIndex) as NodeIndex, (2 * leafIndex) as NodeIndex);
  const k = prepared.filteredDirectPath.indexOf(lca);
  if (leafIndex === prepared.leafIndex || k < 0) throw new UsageError("not_covered", `leaf ${leafIndex} gets no path secret from this UpdatePath`);
  return { node: lca, pathSecret: prepared.pathSecrets[k]! };
}

/** Both steps: prepare, build the GroupContext from the new tree with `groupContext`, encrypt. */
export async function createUpdatePath(
  p: PreparePathParams & { readonly groupContext: (tree: TreeState) => Uint8Array },
): Promise<{ readonly prepared: PreparedPath; readonly updatePath: UpdatePath }> {
  const prepared = await preparePath(p);
  const updatePath = await encryptPath(p.cs, prepared, p.groupContext(prepared.tree));
  return { prepared, updatePath };
}

/** RFC 9420 §12.4.2: "Verify that none of the public keys in the UpdatePath appear in any node of the new ratchet tree." */
function checkFreshKeys(tree: TreeState, keys: readonly Uint8Array[]): void {
  const fresh = new KeyIndex<true>();
  for (const k of keys) {
    if (fresh.add(k, true) !== undefined) throw new ValidationError("update_path_key_reused", "the UpdatePath repeats a public key", "RFC 9420 §12.4.2");
  }
  const n = tree.findEncryptionKey(keys);
  if (n !== undefined) throw new ValidationError("update_path_key_reused", `a public key of the UpdatePath already appears at node ${n}`, "RFC 9420 §12.4.2");
}

/** The result of merging a received UpdatePath into the tree. */
export interface MergedUpdatePath {
  readonly tree: TreeState;
  readonly filteredDirectPath: readonly NodeIndex[];
  readonly filteredCopath: readonly NodeIndex[];
}

/**
 * RFC 9420 §7.5 ("merges UpdatePath into the tree") and the tree checks of §12.4.2: the leaf's
 * source is `commit`, the path has one node per filtered-direct-path node, no public key is
 * reused, and the leaf's parent_hash equals the parent hash recomputed from the path (§7.9.2).
 * `tree` is the tree after applying the Commit's proposals.
 */
export function mergeUpdatePath(cs: CipherSuite, tree: TreeState, senderLeafIndex: number, updatePath: UpdatePath): MergedUpdatePath {
  checkLeaf(tree, senderLeafIndex, "sender leaf");
  const leaf = updatePath.leafNode;
  // RFC 9420 §12.4.2: "The leaf_node_source field MUST be set to commit."
  if (leaf.leafNodeSource !== leafNodeSources.commit) {
    throw new ValidationError("leaf_node_source", "the UpdatePath leaf is not a commit leaf", "RFC 9420 §12.4.2");
  }
  const { directPath: fdp, copath: fcp } = tree.filteredPath(senderLeafIndex);
  // RFC 9420 §7.6: one UpdatePathNode per node of the filtered direct path, in order.
  if (updatePath.nodes.length !== fdp.length) {
    const msg = `the UpdatePath has ${updatePath.nodes.length} nodes for a filtered direct path of ${fdp.length}`;
    throw new ValidationError("update_path_length", msg, "RFC 9420 §7.6");
  }
  const old = tree.leaf(senderLeafIndex);
  // RFC 9420 §12.4.2: "Verify that the encryption_key value in the LeafNode is different from the committer's current leaf node."
  if (old !== null && bytesEqual(old.encryptionKey, leaf.encryptionKey)) {
    throw new ValidationError("leaf_encryption_key_reused", "the committer's new leaf keeps its encryption key", "RFC 9420 §12.4.2");
  }
  const keys = updatePath.nodes.map((n) => n.encryptionKey);
  checkFreshKeys(tree, [leaf.encryptionKey, ...keys]);
  const ph = computePathParentHashes(cs, tree, { copath: fcp }, keys);
  // RFC 9420 §7.9.2: "recompute the expected value of parent_hash for the committer's new leaf and verify that it matches"
  if (!bytesEqual(ph.leafParentHash, leaf.parentHash)) {
    throw new ValidationError("parent_hash", "the committer's leaf has a wrong parent_hash", "RFC 9420 §7.9.2");
  }
  const merged = tree.setPath(
    senderLeafIndex,
    leaf,
    fdp.map((node, k) => ({ node, encryptionKey: keys[k]!, parentHash: ph.nodeParentHashes[k]! })),
  );
  return { tree: merged, filteredDirectPath: fdp, filteredCopath: fcp };
}

export interface ProcessUpdatePathParams {
  readonly cs: CipherSuite;
  /** The tree after applying the Commit's proposals. */
  readonly tree: TreeState;
  readonly senderLeafIndex: number;
  readonly updatePath: UpdatePath;
  readonly ownLeafIndex: number;
  /** The receiver's keys before the Commit (own leaf and the direct-path nodes it holds). */
  readonly privateKeys: TreePrivateKeys;
  /** The serialized provisional GroupContext, or a function building it from the merged tree (RFC 9420 §12.4.2). */
  readonly groupContext: Uint8Array | ((tree: TreeState) => Uint8Array);
  /** Leaves added by this Commit (RFC 9420 §7.6). */
  readonly excluded?: Iterable<number>;
}

export interface ProcessedUpdatePath {
  readonly tree: TreeState;
  readonly commitSecret: Uint8Array;
  /** The receiver's keys after the Commit: old keys off the sender's path plus the derived ones. */
  readonly privateKeys: TreePrivateKeys;
  /** The decrypted path secret and the node it belongs to (the lowest common ancestor). Wipe when done. */
  readonly pathSecret: Uint8Array;
  readonly pathSecretNode: NodeIndex;
}

/** RFC 9420 §7.5, §7.6, §12.4.2: merge a received UpdatePath and decrypt the path secret meant for us. */
export async function processUpdatePath(p: ProcessUpdatePathParams): Promise<ProcessedUpdatePath> {
  const { cs, tree, updatePath } = p;
  checkLeaf(tree, p.ownLeafIndex, "own leaf");
  if (p.ownLeafIndex === p.senderLeafIndex) throw new UsageError("own_update_path", "a member does not process its own UpdatePath");
  const excluded = new Set(p.excluded ?? []);
  if (excluded.has(p.ownLeafIndex)) throw new UsageError("excluded_leaf", "a member added by this Commit joins through the Welcome, not the UpdatePath");
  const merged = mergeUpdatePath(cs, tree, p.senderLeafIndex, updatePath);
  const { filteredDirectPath: fdp, filteredCopath: fcp } = merged;

  const own = (2 * p.ownLeafIndex) as NodeIndex;
  let k = -1;
  let res: NodeIndex[] = [];
  for (let i = 0; i < fcp.length; i++) {
    const r = tree.resolution(fcp[i]!, excluded);
    // RFC 9420 §7.6: "The length of the encrypted_path_secret vector MUST be equal to the length of the resolution of the copath node."
    const n = updatePath.nodes[i]!.encryptedPathSecret.length;
    if (n !== r.length) {
      throw new ValidationError("update_path_ciphertexts", `UpdatePath node ${i} has ${n} ciphertexts for a resolution of ${r.length}`, "RFC 9420 §7.6");
    }
    if (isAncestorOrSelf(fcp[i]!, own)) {
      k = i;
      res = r;
    }
  }
  if (k < 0) throw new UsageError("not_covered", `leaf ${p.ownLeafIndex} is not below the sender's filtered direct path`);
  // RFC 9420 §7.5: "Identify a node in the resolution of the copath node for which the recipient has a private key."
  const j = res.findIndex((n) => isAncestorOrSelf(n, own) && p.privateKeys.has(n));
  if (j < 0) throw new UsageError("missing_private_key", `no private key for any node of the resolution of node ${fcp[k]}`);
  const ct = updatePath.nodes[k]!.encryptedPathSecret[j]!;
  const groupContext = typeof p.groupContext === "function" ? p.groupContext(merged.tree) : p.groupContext;
  const pathSecret = await decryptWithLabel(cs, p.privateKeys.get(res[j]!)!, LABEL, groupContext, ct.kemOutput, ct.ciphertext);

  // RFC 9420 §7.5 steps 4–6: derive the secrets above, the key pairs, and check the public keys.
  const secrets = derivePathSecrets(cs, pathSecret, fdp.length - k);
  const keyPairs = await Promise.all(secrets.map((s) => deriveNodeKeyPair(cs, s)));
  for (let m = 0; m < keyPairs.length; m++) {
    if (!bytesEqual(keyPairs[m]!.publicKey, updatePath.nodes[k + m]!.encryptionKey)) {
      throw new ValidationError("path_key_mismatch", `the key derived for node ${fdp[k + m]} differs from the UpdatePath's`, "RFC 9420 §7.5");
    }
  }
  const commitSecret = deriveCommitSecret(cs, secrets[secrets.length - 1]!);
  wipe(...secrets.slice(1));

  const privateKeys = p.privateKeys
    .without(directPath((2 * p.senderLeafIndex) as NodeIndex, tree.nLeaves))
    .with(keyPairs.map((kp, m) => [fdp[k + m]!, kp.privateKey] as const))
    .retainNonBlank(merged.tree);
  return { tree: merged.tree, commitSecret, privateKeys, pathSecret, pathSecretNode: fdp[k]! };
}
