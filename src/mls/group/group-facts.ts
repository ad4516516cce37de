/**
 * Facts about a group that leaf validation (RFC 9420 §7.3) checks new leaves against, computed
 * once per tree and cached, plus the tree-wide uniqueness of leaf keys (§7.3 last step).
 *
 * Each is O(n) the first time for a tree and O(1) after (a WeakMap keyed by the immutable
 * TreeState), so validating many proposals against one tree stays linear.
 * @module
 */
import { ValidationError } from "../../errors.js";
import { bytesEqual } from "../../util/bytes.js";
import {
  checkGroupExtensionsSupported,
  checkRequiredCapabilities,
  requiredCapabilitiesOf,
  supportsCredential,
} from "../core/capabilities-ops.js";
import type { Extension } from "../core/extension.js";
import { nodeTypes } from "../core/protocol.js";
import { memberCredentialFacts, type LeafNodeGroupFacts, type MemberCredentialFacts } from "../tree/leaf-node-ops.js";
import type { LeafNode } from "../tree/leaf-node.js";
import type { TreeState } from "../tree/tree-state.js";

const credentialCache = new WeakMap<TreeState, MemberCredentialFacts>();

/** RFC 9420 §7.3 credential facts (types in use, types supported by all) of every leaf of `tree`. */
export function credentialFactsOf(tree: TreeState): MemberCredentialFacts {
  let f = credentialCache.get(tree);
  if (f === undefined) {
    f = memberCredentialFacts(tree.members().map((m) => m.leafNode));
    credentialCache.set(tree, f);
  }
  return f;
}

/** {@link LeafNodeGroupFacts} for leaves joining or changing in a group with this tree and these extensions. */
export function groupFactsOf(tree: TreeState, extensions: readonly Extension[], version: number): LeafNodeGroupFacts {
  const cred = credentialFactsOf(tree);
  return {
    version,
    groupContextExtensions: extensions,
    requiredCapabilities: requiredCapabilitiesOf(extensions),
    credentialTypesInUse: cred.credentialTypesInUse,
    credentialTypesSupportedByAll: cred.credentialTypesSupportedByAll,
  };
}

/**
 * The group-compatibility part of RFC 9420 §7.3 for a leaf (no signature, no AS): required
 * capabilities, GroupContext extensions supported (§13.4), credential type supported by all
 * members and every credential type in use supported by this leaf.
 */
export function checkLeafFitsGroup(leaf: LeafNode, facts: LeafNodeGroupFacts): void {
  const caps = leaf.capabilities;
  if (facts.requiredCapabilities) checkRequiredCapabilities(caps, facts.requiredCapabilities, "RFC 9420 §7.3");
  const gce = facts.groupContextExtensions ?? [];
  if (gce.length > 0) checkGroupExtensionsSupported(caps, gce.map((e) => e.extensionType));
  const byAll = facts.credentialTypesSupportedByAll;
  if (byAll != null && !byAll.includes(leaf.credential.credentialType)) {
    throw new ValidationError("valid.credential_type_unsupported_by_members", `credential type ${leaf.credential.credentialType} is not supported by all members`, "RFC 9420 §7.3");
  }
  for (const t of facts.credentialTypesInUse ?? []) {
    if (!supportsCredential(caps, t)) throw new ValidationError("valid.member_credential_type_unsupported", `capabilities do not list credential type ${t} used by a member`, "RFC 9420 §7.3");
  }
}

/**
 * RFC 9420 §11.1, §12.1.7, §13.4: every member of `tree` supports the extensions and the
 * required capabilities of a new GroupContext extension list. O(n).
 */
export function checkAllMembersSupport(tree: TreeState, extensions: readonly Extension[]): void {
  const required = requiredCapabilitiesOf(extensions);
  const types = extensions.map((e) => e.extensionType);
  for (const m of tree.members()) {
    try {
      if (required !== null) checkRequiredCapabilities(m.leafNode.capabilities, required, "RFC 9420 §12.1.7");
      checkGroupExtensionsSupported(m.leafNode.capabilities, types);
    } catch (e) {
      if (e instanceof ValidationError) throw new ValidationError(e.code, `member at leaf ${m.leafIndex}: ${e.message}`, e.rfc, { cause: e });
      throw e;
    }
  }
}

/** The last four bytes of a key as a number: a cheap prefilter before comparing bytes. */
export function keyTag(k: Uint8Array): number {
  const n = k.length;
  return n < 4 ? n : ((k[n - 1]! | (k[n - 2]! << 8) | (k[n - 3]! << 16) | (k[n - 4]! << 24)) >>> 0);
}

/**
 * RFC 9420 §7.3 "Verify that the following fields are unique among the members of the group:
 * signature_key, encryption_key" for the leaves at `changed` (new or replaced leaves) of `tree`.
 * One pass over the tree.
 */
export function checkUniqueLeafKeys(tree: TreeState, changed: readonly number[]): void {
  if (changed.length === 0) return;
  const sig = new Map<number, { key: Uint8Array; leaf: number }[]>();
  const enc = new Map<number, { key: Uint8Array; leaf: number }[]>();
  const put = (m: typeof sig, key: Uint8Array, leaf: number, what: string): void => {
    const list = m.get(keyTag(key)) ?? [];
    for (const o of list) {
      if (o.leaf !== leaf && bytesEqual(o.key, key)) throw new ValidationError(`duplicate_${what}`, `leaves ${o.leaf} and ${leaf} have the same ${what}`, "RFC 9420 §7.3");
    }
    list.push({ key, leaf });
    m.set(keyTag(key), list);
  };
  for (const i of changed) {
    const l = tree.leaf(i);
    if (l === null) continue;
    put(sig, l.signatureKey, i, "signature_key");
    put(enc, l.encryptionKey, i, "encryption_key");
  }
  const changedSet = new Set(changed);
  const clash = (map: typeof sig, key: Uint8Array): number | null => {
    const list = map.get(keyTag(key));
    if (list !== undefined) for (const o of list) if (bytesEqual(o.key, key)) return o.leaf;
    return null;
  };
  // One pass over the leaves, no per-member allocation (10,000 members: every Commit).
  for (let i = 0; i < tree.nLeaves; i++) {
    const v = tree.nodes[2 * i];
    if (v === null || v === undefined || v.nodeType !== nodeTypes.leaf || changedSet.has(i)) continue;
    const s1 = clash(sig, v.leafNode.signatureKey);
    if (s1 !== null) throw new ValidationError("duplicate_signature_key", `leaves ${s1} and ${i} have the same signature_key`, "RFC 9420 §7.3");
    const e1 = clash(enc, v.leafNode.encryptionKey);
    if (e1 !== null) throw new ValidationError("duplicate_encryption_key", `leaves ${e1} and ${i} have the same encryption_key`, "RFC 9420 §7.3");
  }
}

/** A set of public keys with a fast membership test (tag prefilter, then bytes). */
export class KeySet {
  readonly #byTag = new Map<number, Uint8Array[]>();

  has(key: Uint8Array): boolean {
    const list = this.#byTag.get(keyTag(key));
    return list !== undefined && list.some((k) => bytesEqual(k, key));
  }

  /** Adds `key`; false when it was already present. */
  add(key: Uint8Array): boolean {
    const t = keyTag(key);
    const list = this.#byTag.get(t);
    if (list === undefined) {
      this.#byTag.set(t, [key]);
      return true;
    }
    if (list.some((k) => bytesEqual(k, key))) return false;
    list.push(key);
    return true;
  }
}

const sigIndexCache = new WeakMap<TreeState, Map<number, { key: Uint8Array; leaf: number }[]>>();

/** The leaf holding signature key `key` in `tree`, or null. O(n) once per tree, then O(1). */
export function leafBySignatureKey(tree: TreeState, key: Uint8Array): number | null {
  let idx = sigIndexCache.get(tree);
  if (idx === undefined) {
    idx = new Map();
    for (const m of tree.members()) {
      const t = keyTag(m.leafNode.signatureKey);
      const list = idx.get(t) ?? [];
      list.push({ key: m.leafNode.signatureKey, leaf: m.leafIndex });
      idx.set(t, list);
    }
    sigIndexCache.set(tree, idx);
  }
  const list = idx.get(keyTag(key));
  if (list !== undefined) for (const e of list) if (bytesEqual(e.key, key)) return e.leaf;
  return null;
}
