/**
 * Reinitialization (RFC 9420 §11.2), including to another cipher suite, and subgroup branching
 * (RFC 9420 §11.3): the new group is linked to the old one by a resumption PSK, and joiners check
 * what the RFC asks them to check.
 */
import { describe, expect, it } from "vitest";
import type { CipherSuite, CryptoProvider } from "../../src/crypto/cipher-suite.js";
import { UsageError, ValidationError } from "../../src/errors.js";
import { extensionTypes, type Extension } from "../../src/mls/core/extension.js";
import { pskTypes, resumptionPskUsages, type ResumptionPskUsage } from "../../src/mls/core/pre-shared-key-id.js";
import { credentialTypes, proposalTypes } from "../../src/mls/core/protocol.js";
import { encodeRequiredCapabilities } from "../../src/mls/core/required-capabilities.js";
import {
  branchGroup,
  createCommit,
  createGroup,
  createReinitGroup,
  joinBranchGroup,
  joinReinitGroup,
  mergeStagedCommit,
  processMessage,
  proposeReInit,
  protect,
  type GroupState,
  type JoinResumedParams,
} from "../../src/mls/group/index.js";
import { decodeMlsMessage, type MlsMessage } from "../../src/mls/framing/mls-message.js";
import { createKeyPackage, type CreatedKeyPackage } from "../../src/mls/messages/key-package-ops.js";
import { toHex, utf8 } from "../../src/util/bytes.js";
import { basic, GroupHarness, testConfig, wire } from "../helpers/group-harness.js";
import { PROVIDERS } from "../helpers/providers.js";

const REQUIRE_BASIC: Extension = {
  extensionType: extensionTypes.required_capabilities,
  extensionData: encodeRequiredCapabilities({ extensionTypes: [], proposalTypes: [], credentialTypes: [credentialTypes.basic] }),
};

async function group(p: CryptoProvider, ...others: string[]): Promise<GroupHarness> {
  const g = await GroupHarness.create(p.suite(1), testConfig(), "alice");
  await g.add("alice", ...others);
  return g;
}

/** bob proposes a ReInit to `suite`, carol commits it; everyone is then pendingReinit. */
async function commitReinit(g: GroupHarness, suite: number, groupId: Uint8Array): Promise<void> {
  const sent = await proposeReInit(g.get("bob"), { groupId, cipherSuite: suite, extensions: [REQUIRE_BASIC] });
  await g.deliverProposal(sent.message, { name: "bob", state: sent.state }, sent.ref);
  const c = await g.commit("carol");
  expect(c.staged.reinit?.cipherSuite).toBe(suite);
  for (const n of g.names()) expect(g.get(n).status.kind).toBe("pendingReinit");
}

function joinParams(cs: CipherSuite, g: GroupHarness, welcome: MlsMessage, kp: CreatedKeyPackage): JoinResumedParams {
  return { cs, config: g.config, welcome: decodeMlsMessage(wire(welcome)), keyPackage: kp.keyPackage, keyPackagePrivateKeys: kp.privateKeys };
}

/** All states agree and can talk and commit. */
async function expectWorkingGroup(states: Map<string, GroupState>): Promise<void> {
  const list = [...states.values()];
  expect(new Set(list.map((s) => toHex(s.epochAuthenticator()))).size).toBe(1);
  expect(new Set(list.map((s) => s.epoch))).toEqual(new Set([1n]));
  const [first, ...rest] = list;
  const m = protect(first!, utf8("first words"));
  for (const s of rest) {
    const r = await processMessage(s, wire(m));
    expect(r.kind === "application" && r.data).toEqual(utf8("first words"));
  }
  const c = await createCommit(rest[0]!);
  for (const s of [first!, ...rest.slice(1)]) {
    const r = await processMessage(s, wire(c.commitMessage));
    if (r.kind !== "commit") throw new Error("expected a commit");
    expect(toHex(mergeStagedCommit(s, r.staged).epochAuthenticator())).toBe(toHex(c.staged.epochAuthenticator!));
  }
}

/**
 * A hand-made first Commit of a resumed group (to test joiner-side checks): any group_id, suite,
 * members and resumption PSK, with the internal `resumption` option of createCommit.
 */
async function craft(old: GroupState, o: { cs: CipherSuite; groupId: Uint8Array; extensions: Extension[]; keyPackages: CreatedKeyPackage[]; usage: ResumptionPskUsage; pskEpoch: bigint; creator: CreatedKeyPackage }): Promise<MlsMessage> {
  const g0 = await createGroup({ cs: o.cs, config: old.config, leaf: { keyPackage: o.creator.keyPackage, privateKeys: o.creator.privateKeys }, groupId: o.groupId, extensions: o.extensions });
  const psk = old.resumptionPsk(o.pskEpoch)!;
  const c = await createCommit(g0, {
    proposals: [
      ...o.keyPackages.map((k) => ({ proposalType: proposalTypes.add, add: { keyPackage: k.keyPackage } }) as const),
      { proposalType: proposalTypes.psk, psk: { psk: { psktype: pskTypes.resumption, usage: o.usage, pskGroupId: old.groupId, pskEpoch: o.pskEpoch, pskNonce: o.cs.randomBytes(o.cs.params.Nh) } } },
    ],
    resumption: { usage: o.usage, psks: () => psk },
  });
  return c.welcome!;
}

for (const p of PROVIDERS) {
  describe(`${p.name}: ReInit (RFC 9420 §11.2)`, () => {
    for (const target of [3, 2, 1] as const) {
      it(`reinitializes a suite 1 group to suite ${target} end to end`, async () => {
        const g = await group(p, "bob", "carol");
        const newId = utf8(`reinit-to-${target}`);
        await commitReinit(g, target, newId);
        const cs = p.suite(target);
        const kps = new Map<string, CreatedKeyPackage>();
        for (const n of ["bob", "carol"]) kps.set(n, await createKeyPackage({ cs, credential: basic(n) }));
        const aliceOld = g.get("alice");
        // Everyone but alice must be covered, and with the ReInit's suite.
        await expect(createReinitGroup(aliceOld, { cs, keyPackages: [kps.get("bob")!.keyPackage] })).rejects.toMatchObject({ code: "usage.reinit_membership" });
        await expect(createReinitGroup(aliceOld, { cs: p.suite(target === 3 ? 2 : 3), keyPackages: [] })).rejects.toMatchObject({ code: "usage.wrong_cipher_suite" });

        let leaf;
        if (target === 2) {
          // P-256 signatures: alice's Ed25519 key cannot sign in the new group.
          await expect(createReinitGroup(aliceOld, { cs, keyPackages: [...kps.values()].map((k) => k.keyPackage) })).rejects.toMatchObject({ code: "usage.leaf_required" });
          leaf = { credential: basic("alice"), signaturePrivateKey: cs.signatureKeyPair().privateKey };
        }
        const resumed = await createReinitGroup(aliceOld, { cs, keyPackages: [...kps.values()].map((k) => k.keyPackage), leaf });
        expect(resumed.state.cipherSuite).toBe(target);
        expect(resumed.state.groupId).toEqual(newId);
        expect(resumed.state.groupContext.extensions).toEqual([REQUIRE_BASIC]);
        const states = new Map<string, GroupState>([["alice", resumed.state]]);
        for (const n of ["bob", "carol"]) {
          const joined = await joinReinitGroup(g.get(n), joinParams(cs, g, resumed.welcome, kps.get(n)!));
          expect(joined.resumption).toEqual({ usage: "reinit", groupId: aliceOld.groupId, epoch: aliceOld.epoch });
          states.set(n, joined.state);
        }
        await expectWorkingGroup(states);
      });
    }

    it("joiners refuse Welcomes that do not match the ReInit", async () => {
      const g = await group(p, "bob", "carol");
      const newId = utf8("the-new-group");
      await commitReinit(g, 1, newId);
      const cs = p.suite(1);
      const old = g.get("alice");
      const fresh = async (n: string) => createKeyPackage({ cs, credential: basic(n) });
      const cases: [string, Parameters<typeof craft>[1]["usage"], Partial<Parameters<typeof craft>[1]>][] = [
        ["valid.reinit_parameters", resumptionPskUsages.reinit, { groupId: utf8("another-id") }],
        ["valid.reinit_extensions", resumptionPskUsages.reinit, { extensions: [] }],
        ["valid.reinit_psk_mismatch", resumptionPskUsages.reinit, { pskEpoch: old.epoch - 1n }],
        ["valid.reinit_psk_missing", resumptionPskUsages.branch, {}],
      ];
      for (const [code, usage, change] of cases) {
        const bob = await fresh("bob");
        const carol = await fresh("carol");
        const welcome = await craft(old, { cs, groupId: newId, extensions: [REQUIRE_BASIC], keyPackages: [bob, carol], usage, pskEpoch: old.epoch, creator: await fresh("alice"), ...change });
        await expect(joinReinitGroup(g.get("bob"), joinParams(cs, g, welcome, bob)), code).rejects.toMatchObject({ code });
      }
      // A stranger in the new group, or a member left out.
      const bob = await fresh("bob");
      const withStranger = await craft(old, { cs, groupId: newId, extensions: [REQUIRE_BASIC], keyPackages: [bob, await fresh("carol"), await fresh("mallory")], usage: resumptionPskUsages.reinit, pskEpoch: old.epoch, creator: await fresh("alice") });
      await expect(joinReinitGroup(g.get("bob"), joinParams(cs, g, withStranger, bob))).rejects.toMatchObject({ code: "valid.reinit_membership" });
      const bob2 = await fresh("bob");
      const withoutCarol = await craft(old, { cs, groupId: newId, extensions: [REQUIRE_BASIC], keyPackages: [bob2], usage: resumptionPskUsages.reinit, pskEpoch: old.epoch, creator: await fresh("alice") });
      await expect(joinReinitGroup(g.get("bob"), joinParams(cs, g, withoutCarol, bob2))).rejects.toMatchObject({ code: "valid.reinit_membership" });
    });

    it("needs a committed ReInit; reinit and branch PSKs are refused in ordinary Commits (RFC 9420 §12.1.4)", async () => {
      const g = await group(p, "bob");
      const alice = g.get("alice");
      await expect(createReinitGroup(alice, { cs: g.cs, keyPackages: [] })).rejects.toMatchObject({ code: "usage.not_pending_reinit" });
      for (const usage of [resumptionPskUsages.reinit, resumptionPskUsages.branch]) {
        const id = { psktype: pskTypes.resumption, usage, pskGroupId: alice.groupId, pskEpoch: alice.epoch, pskNonce: g.cs.randomBytes(32) } as const;
        await expect(createCommit(alice, { proposals: [{ proposalType: proposalTypes.psk, psk: { psk: id } }] })).rejects.toMatchObject({ code: "valid.psk_usage" });
      }
    });
  });

  describe(`${p.name}: branching (RFC 9420 §11.3)`, () => {
    it("branches a subgroup; its members join and check it; the old group goes on", async () => {
      const g = await group(p, "bob", "carol", "dave");
      const cs = g.cs;
      const bob = await createKeyPackage({ cs, credential: basic("bob") });
      const carol = await createKeyPackage({ cs, credential: basic("carol") });
      const mallory = await createKeyPackage({ cs, credential: basic("mallory") });
      const alice = g.get("alice");
      await expect(branchGroup(alice, { keyPackages: [bob.keyPackage, mallory.keyPackage] })).rejects.toMatchObject({ code: "usage.not_a_member" });
      await expect(branchGroup(alice, { keyPackages: [bob.keyPackage, bob.keyPackage] })).rejects.toMatchObject({ code: "usage.not_a_member" });
      const sub = await branchGroup(alice, { keyPackages: [bob.keyPackage, carol.keyPackage], groupId: utf8("subgroup") });
      expect(sub.state.groupId).toEqual(utf8("subgroup"));
      const states = new Map<string, GroupState>([["alice", sub.state]]);
      for (const [n, kp] of [["bob", bob], ["carol", carol]] as const) {
        const joined = await joinBranchGroup(g.get(n), joinParams(cs, g, sub.welcome, kp));
        expect(joined.resumption).toEqual({ usage: "branch", groupId: alice.groupId, epoch: alice.epoch });
        states.set(n, joined.state);
      }
      await expectWorkingGroup(states);
      // A branch Welcome is not a ReInit Welcome.
      const carol2 = await createKeyPackage({ cs, credential: basic("carol") });
      const sub2 = await branchGroup(alice, { keyPackages: [carol2.keyPackage] });
      await expect(joinReinitGroup(g.get("carol"), joinParams(cs, g, sub2.welcome, carol2))).rejects.toThrow(UsageError);
      // The old group is untouched.
      await g.commit("dave");
    });

    it("joiners refuse a subgroup with strangers or other parameters", async () => {
      const g = await group(p, "bob", "carol");
      const old = g.get("alice");
      const cs = g.cs;
      const fresh = async (n: string, c: CipherSuite = cs) => createKeyPackage({ cs: c, credential: basic(n) });
      const bob = await fresh("bob");
      const strangers = await craft(old, { cs, groupId: utf8("sub"), extensions: [], keyPackages: [bob, await fresh("mallory")], usage: resumptionPskUsages.branch, pskEpoch: old.epoch, creator: await fresh("alice") });
      await expect(joinBranchGroup(g.get("bob"), joinParams(cs, g, strangers, bob))).rejects.toMatchObject({ code: "valid.branch_membership" });
      const cs3 = p.suite(3);
      const bob3 = await fresh("bob", cs3);
      const otherSuite = await craft(old, { cs: cs3, groupId: utf8("sub"), extensions: [], keyPackages: [bob3], usage: resumptionPskUsages.branch, pskEpoch: old.epoch, creator: await fresh("alice", cs3) });
      await expect(joinBranchGroup(g.get("bob"), joinParams(cs3, g, otherSuite, bob3))).rejects.toMatchObject({ code: "valid.branch_parameters" });
      const bob4 = await fresh("bob");
      const reinitUsage = await craft(old, { cs, groupId: utf8("sub"), extensions: [], keyPackages: [bob4], usage: resumptionPskUsages.reinit, pskEpoch: old.epoch, creator: await fresh("alice") });
      await expect(joinBranchGroup(g.get("bob"), joinParams(cs, g, reinitUsage, bob4))).rejects.toThrow(ValidationError);
    });
  });
}
