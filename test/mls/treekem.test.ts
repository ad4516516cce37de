/**
 * treekem.json (RFC 9420 §7.4–§7.6, §7.9, §12.4.2): rebuild each member's private state (leaf key
 * and the path secrets it holds), have every other member process each given UpdatePath (path
 * secret learned, commit secret, tree hash after merging), then create a fresh UpdatePath from the
 * same sender and check that every other member processes it to the same commit secret and tree.
 */
import { describe, expect, it } from "vitest";
import type { CipherSuite } from "../../src/crypto/cipher-suite.js";
import { ValidationError } from "../../src/errors.js";
import { encodeGroupContext } from "../../src/mls/schedule/group-context.js";
import { verifyLeafNodeSignature } from "../../src/mls/tree/leaf-signature.js";
import { verifyParentHashes } from "../../src/mls/tree/parent-hash.js";
import { deriveNodeKeyPair } from "../../src/mls/tree/path-secrets.js";
import { decodeRatchetTree, encodeRatchetTree } from "../../src/mls/tree/ratchet-tree.js";
import { rootTreeHash } from "../../src/mls/tree/tree-hash.js";
import { TreePrivateKeys } from "../../src/mls/tree/tree-private-keys.js";
import { TreeState } from "../../src/mls/tree/tree-state.js";
import { createUpdatePath, mergeUpdatePath, pathSecretForLeaf, processUpdatePath } from "../../src/mls/tree/treekem.js";
import { decodeUpdatePath, encodeUpdatePath, type UpdatePath } from "../../src/mls/tree/update-path.js";
import { PROVIDERS } from "../helpers/providers.js";
import { describeVectors, h } from "../helpers/vectors.js";
import { leafNodeFields } from "../../src/mls/tree/leaf-node.js";

interface LeafPrivate {
  index: number;
  encryption_priv: string;
  signature_priv: string;
  path_secrets: { node: number; path_secret: string }[];
}

interface Case {
  cipher_suite: number;
  group_id: string;
  epoch: number;
  confirmed_transcript_hash: string;
  ratchet_tree: string;
  leaves_private: LeafPrivate[];
  update_paths: { sender: number; update_path: string; path_secrets: (string | null)[]; commit_secret: string; tree_hash_after: string }[];
}

/** The provisional GroupContext for a merged tree (RFC 9420 §12.4.2). */
function groupContextFor(cs: CipherSuite, c: Case): (t: TreeState) => Uint8Array {
  return (t) =>
    encodeGroupContext({
      version: 1,
      cipherSuite: c.cipher_suite,
      groupId: h(c.group_id),
      epoch: BigInt(c.epoch),
      treeHash: rootTreeHash(cs, t),
      confirmedTranscriptHash: h(c.confirmed_transcript_hash),
      extensions: [],
    });
}

/** A leaf's private state: its leaf key and the keys of the path nodes it knows, checked against the tree. */
async function privateState(cs: CipherSuite, tree: TreeState, lp: LeafPrivate): Promise<TreePrivateKeys> {
  const leaf = tree.leaf(lp.index)!;
  expect(await cs.hpkePublicKey(h(lp.encryption_priv))).toEqual(leaf.encryptionKey);
  const entries: [number, Uint8Array][] = [[2 * lp.index, h(lp.encryption_priv)]];
  for (const ps of lp.path_secrets) {
    const kp = await deriveNodeKeyPair(cs, h(ps.path_secret));
    expect(kp.publicKey, `node ${ps.node}`).toEqual(tree.encryptionKey(ps.node));
    entries.push([ps.node, kp.privateKey]);
  }
  return TreePrivateKeys.from(entries);
}

describeVectors<Case>("treekem", (cases) => {
  for (const p of PROVIDERS) {
    describe(p.name, () => {
      cases.forEach((c, idx) => {
        it(`#${idx} suite ${c.cipher_suite}`, async () => {
          const cs = p.suite(c.cipher_suite);
          const tree = TreeState.fromRatchetTree(decodeRatchetTree(h(c.ratchet_tree)));
          const gc = groupContextFor(cs, c);
          const keys = new Map<number, TreePrivateKeys>();
          for (const lp of c.leaves_private) keys.set(lp.index, await privateState(cs, tree, lp));

          for (const u of c.update_paths) {
            const up = decodeUpdatePath(h(u.update_path));
            const merged = mergeUpdatePath(cs, tree, u.sender, up);
            expect(rootTreeHash(cs, merged.tree)).toEqual(h(u.tree_hash_after));
            expect(u.path_secrets[u.sender]).toBeNull();

            // The given UpdatePath, processed by every other member with private state.
            for (const lp of c.leaves_private) {
              if (lp.index === u.sender) continue;
              const own = { ownLeafIndex: lp.index, privateKeys: keys.get(lp.index)! };
              const r = await processUpdatePath({ cs, tree, senderLeafIndex: u.sender, updatePath: up, ...own, groupContext: gc });
              const expected = u.path_secrets[lp.index];
              expect(expected, `leaf ${lp.index}`).not.toBeNull();
              expect(r.pathSecret, `path secret of leaf ${lp.index}`).toEqual(h(expected!));
              expect(r.commitSecret).toEqual(h(u.commit_secret));
              expect(rootTreeHash(cs, r.tree)).toEqual(h(u.tree_hash_after));
              // The receiver now holds the keys of the path nodes above the common ancestor.
              // Every key it holds matches the public key of the merged tree, including the new ones
              // (checked for the first receiver only: public-key derivation is slow for P-521/X448).
              if (lp === c.leaves_private.find((x) => x.index !== u.sender)) {
                for (const [n, priv] of r.privateKeys.entries()) expect(await cs.hpkePublicKey(priv), `node ${n}`).toEqual(r.tree.encryptionKey(n));
              }
              expect(r.privateKeys.has(r.pathSecretNode)).toBe(true);
              expect(r.privateKeys.has(merged.filteredDirectPath[merged.filteredDirectPath.length - 1]!)).toBe(true);
            }

            // A fresh UpdatePath from the same sender.
            const sender = c.leaves_private.find((lp) => lp.index === u.sender);
            if (sender === undefined) continue;
            const old = tree.leaf(u.sender)!;
            const { prepared, updatePath } = await createUpdatePath({
              cs,
              tree,
              leafIndex: u.sender,
              leaf: old,
              sign: { signaturePrivateKey: h(sender.signature_priv), groupId: h(c.group_id) },
              groupContext: gc,
            });
            const wire: UpdatePath = decodeUpdatePath(encodeUpdatePath(updatePath));
            expect(() => verifyLeafNodeSignature(cs, wire.leafNode, h(c.group_id), u.sender)).not.toThrow();
            expect(() => verifyParentHashes(cs, prepared.tree)).not.toThrow();
            const newTreeBytes = encodeRatchetTree(prepared.tree.toRatchetTree());
            for (const lp of c.leaves_private) {
              if (lp.index === u.sender) continue;
              const own = { ownLeafIndex: lp.index, privateKeys: keys.get(lp.index)! };
              const r = await processUpdatePath({ cs, tree, senderLeafIndex: u.sender, updatePath: wire, ...own, groupContext: gc });
              expect(r.commitSecret).toEqual(prepared.commitSecret);
              expect(rootTreeHash(cs, r.tree)).toEqual(rootTreeHash(cs, prepared.tree));
              expect(encodeRatchetTree(r.tree.toRatchetTree())).toEqual(newTreeBytes);
              expect(r.privateKeys.get(r.pathSecretNode)).toEqual(prepared.privateKeys.get(r.pathSecretNode));
            }
          }
        });
      });
    });
  }

  // Rejections, on the first case with at least two private leaves (native provider).
  describe("rejections and excluded leaves", () => {
    const c = cases.find((x) => x.leaves_private.length >= 2 && x.update_paths.some((u) => up(u).nodes.length > 0));
    function up(u: Case["update_paths"][number]): UpdatePath {
      return decodeUpdatePath(h(u.update_path));
    }
    it("a wrong leaf parent hash, a reused key, a wrong path length, a wrong group context", async () => {
      expect(c).toBeDefined();
      const cs = PROVIDERS[PROVIDERS.length - 1]!.suite(c!.cipher_suite);
      const tree = TreeState.fromRatchetTree(decodeRatchetTree(h(c!.ratchet_tree)));
      const u = c!.update_paths.find((x) => up(x).nodes.length > 0)!;
      const path = up(u);
      const receiver = c!.leaves_private.find((lp) => lp.index !== u.sender)!;
      const keys = await privateState(cs, tree, receiver);
      const base = { cs, tree, senderLeafIndex: u.sender, ownLeafIndex: receiver.index, privateKeys: keys, groupContext: groupContextFor(cs, c!) };

      const key0 = path.nodes[0]!.encryptionKey.slice();
      key0[key0.length - 1]! ^= 1;
      const badKey = { ...path, nodes: [{ ...path.nodes[0]!, encryptionKey: key0 }, ...path.nodes.slice(1)] };
      await expect(processUpdatePath({ ...base, updatePath: badKey })).rejects.toMatchObject({ code: "valid.parent_hash" });

      const reused = { ...path, nodes: [{ ...path.nodes[0]!, encryptionKey: tree.leaf(receiver.index)!.encryptionKey }, ...path.nodes.slice(1)] };
      await expect(processUpdatePath({ ...base, updatePath: reused })).rejects.toMatchObject({ code: "valid.update_path_key_reused" });

      await expect(processUpdatePath({ ...base, updatePath: { ...path, nodes: path.nodes.slice(1) } })).rejects.toBeInstanceOf(ValidationError);

      const wrongContext = new Uint8Array([1, 2, 3]);
      await expect(processUpdatePath({ ...base, updatePath: path, groupContext: wrongContext })).rejects.toMatchObject({ code: "crypto.hpke" });
    });

    it("leaves added by the same Commit are excluded from the copath resolutions (RFC 9420 §7.6)", async () => {
      const cs = PROVIDERS[PROVIDERS.length - 1]!.suite(c!.cipher_suite);
      const tree0 = TreeState.fromRatchetTree(decodeRatchetTree(h(c!.ratchet_tree)));
      const [committer, receiver] = c!.leaves_private;
      const template = tree0.leaf(committer!.index)!;
      const joinerKeys = await cs.hpkeKeyPair();
      const { tree, leafIndex: joiner } = tree0.addLeaf({ ...leafNodeFields(template), encryptionKey: joinerKeys.publicKey, signatureKey: cs.signatureKeyPair().publicKey });
      const gc = groupContextFor(cs, c!);
      const sign = { signaturePrivateKey: h(committer!.signature_priv), groupId: h(c!.group_id) };
      const withJoiner = await createUpdatePath({ cs, tree, leafIndex: committer!.index, leaf: template, sign, groupContext: gc });
      const { prepared, updatePath } = await createUpdatePath({ cs, tree, leafIndex: committer!.index, leaf: template, sign, groupContext: gc, excluded: [joiner] });
      const count = (u: UpdatePath) => u.nodes.reduce((a, n) => a + n.encryptedPathSecret.length, 0);
      expect(count(withJoiner.updatePath)).toBe(count(updatePath) + 1);
      expect(prepared.recipients.flat().some((k) => k === joinerKeys.publicKey)).toBe(false);

      // The joiner's Welcome path secret belongs to the common ancestor and matches its key.
      const forJoiner = pathSecretForLeaf(prepared, joiner);
      expect((await deriveNodeKeyPair(cs, forJoiner.pathSecret)).publicKey).toEqual(prepared.tree.encryptionKey(forJoiner.node));

      const keys = await privateState(cs, tree0, receiver!);
      const base = { cs, tree, senderLeafIndex: committer!.index, ownLeafIndex: receiver!.index, privateKeys: keys, groupContext: gc };
      const r = await processUpdatePath({ ...base, updatePath, excluded: [joiner] });
      expect(r.commitSecret).toEqual(prepared.commitSecret);
      // Without knowing about the joiner the receiver counts one ciphertext too few.
      await expect(processUpdatePath({ ...base, updatePath })).rejects.toMatchObject({ code: "valid.update_path_ciphertexts" });
      // The joiner itself does not process the path.
      await expect(processUpdatePath({ ...base, ownLeafIndex: joiner, updatePath, excluded: [joiner] })).rejects.toMatchObject({ code: "usage.excluded_leaf" });
    });
  });
});
