/**
 * tree-operations.json (RFC 9420 §7.7, §12.1.1–§12.1.3): apply the Add, Update or Remove proposal
 * (sent by `proposal_sender`) to `tree_before` and compare the result with `tree_after`, byte for
 * byte, and both tree hashes.
 */
import { describe, expect, it } from "vitest";
import { proposalTypes } from "../../src/mls/core/protocol.js";
import { decodeProposal, type Proposal } from "../../src/mls/messages/proposal.js";
import { decodeRatchetTree, encodeRatchetTree } from "../../src/mls/tree/ratchet-tree.js";
import { rootTreeHash } from "../../src/mls/tree/tree-hash.js";
import { TreeState } from "../../src/mls/tree/tree-state.js";
import { PROVIDERS } from "../helpers/providers.js";
import { describeVectors, h } from "../helpers/vectors.js";

interface Case {
  cipher_suite: number;
  tree_before: string;
  proposal: string;
  proposal_sender: number;
  tree_hash_before: string;
  tree_after: string;
  tree_hash_after: string;
}

function apply(tree: TreeState, proposal: Proposal, sender: number): TreeState {
  switch (proposal.proposalType) {
    case proposalTypes.add:
      return tree.addLeaf(proposal.add.keyPackage.leafNode).tree;
    case proposalTypes.update:
      return tree.updateLeaf(sender, proposal.update.leafNode);
    case proposalTypes.remove:
      return tree.removeLeaf(proposal.remove.removed);
    default:
      throw new Error(`unexpected proposal type ${proposal.proposalType}`);
  }
}

describeVectors<Case>("tree-operations", (cases) => {
  for (const p of PROVIDERS) {
    describe(p.name, () => {
      cases.forEach((c, idx) => {
        const proposal = decodeProposal(h(c.proposal));
        it(`#${idx} suite ${c.cipher_suite} proposal type ${proposal.proposalType}`, () => {
          const cs = p.suite(c.cipher_suite);
          const before = TreeState.fromRatchetTree(decodeRatchetTree(h(c.tree_before)));
          expect(rootTreeHash(cs, before)).toEqual(h(c.tree_hash_before));
          const beforeBytes = encodeRatchetTree(before.toRatchetTree());

          const after = apply(before, proposal, c.proposal_sender);
          expect(encodeRatchetTree(after.toRatchetTree())).toEqual(h(c.tree_after));
          // Incremental (memo carried over) and from-scratch hashes agree with the vector.
          expect(rootTreeHash(cs, after)).toEqual(h(c.tree_hash_after));
          expect(rootTreeHash(cs, TreeState.fromRatchetTree(decodeRatchetTree(h(c.tree_after))))).toEqual(h(c.tree_hash_after));

          // The old value is untouched.
          expect(encodeRatchetTree(before.toRatchetTree())).toEqual(beforeBytes);
          expect(rootTreeHash(cs, before)).toEqual(h(c.tree_hash_before));
        });
      });
    });
  }
});
