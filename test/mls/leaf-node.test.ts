/**
 * LeafNode signatures (RFC 9420 §7.2) for the three sources, §7.3 validation rules, and the
 * capability / GREASE helpers (§7.2, §11.1, §13.4, §13.5).
 */
import { describe, expect, it } from "vitest";
import { ALL_SUITE_IDS, type CipherSuite } from "../../src/crypto/cipher-suite.js";
import { UsageError, ValidationError } from "../../src/errors.js";
import { unsafeTestingAuthenticationService, type AuthenticationService } from "../../src/mls/auth/authentication-service.js";
import { basicCredentialAuthenticator } from "../../src/mls/auth/basic.js";
import type { Capabilities } from "../../src/mls/core/capabilities.js";
import {
  buildCapabilities,
  capabilitiesWithoutGrease,
  isDefaultExtensionType,
  isDefaultProposalType,
  requiredCapabilitiesOf,
  supportsExtension,
  supportsProposal,
} from "../../src/mls/core/capabilities-ops.js";
import type { Credential } from "../../src/mls/core/credential.js";
import { GREASE_VALUES, greaseExtension, isGrease, randomGreaseValues, withoutGrease } from "../../src/mls/core/grease.js";
import { credentialTypes, leafNodeSources, nodeTypes } from "../../src/mls/core/protocol.js";
import { encodeRequiredCapabilities } from "../../src/mls/core/required-capabilities.js";
import { decodedLeafNodeEncoding, decodeLeafNode, encodeLeafNode, encodeLeafNodeTbs, leafNodeFields, type LeafNode, type LeafNodeContent } from "../../src/mls/tree/leaf-node.js";
import { decodeRatchetTree, encodeRatchetTree } from "../../src/mls/tree/ratchet-tree.js";
import {
  memberCredentialFacts,
  signLeafNode,
  validateLeafNode,
  validateLeafNodeSync,
  verifyLeafNodeSignature,
  type LeafNodeValidationOptions,
} from "../../src/mls/tree/leaf-node-ops.js";
import { toHex, utf8 } from "../../src/util/bytes.js";
import { PROVIDERS } from "../helpers/providers.js";

const NOW = 1_700_000_000;
const toHexOf = (b: Uint8Array | null): string => (b === null ? "null" : toHex(b));
const GROUP = { groupId: utf8("room@muc.example.org"), leafIndex: 3 };
const basic = (id: string): Credential => ({ credentialType: credentialTypes.basic, identity: utf8(id) });

async function expectCode(p: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  const err = await (typeof p === "function" ? Promise.resolve().then(p) : p).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  expect((err as ValidationError).code).toBe(code);
}

interface Made {
  readonly cs: CipherSuite;
  readonly sk: Uint8Array;
  readonly content: LeafNodeContent;
}

async function content(cs: CipherSuite, source: 1 | 2 | 3, over: Partial<LeafNodeContent> = {}, sk = cs.signatureKeyPair().privateKey): Promise<Made> {
  const common = {
    encryptionKey: (await cs.hpkeKeyPair()).publicKey,
    signatureKey: cs.signaturePublicKey(sk),
    credential: basic("alice@example.org"),
    capabilities: buildCapabilities({ grease: cs.randomBytes }),
    extensions: [],
  };
  const src =
    source === leafNodeSources.key_package
      ? { leafNodeSource: leafNodeSources.key_package, lifetime: { notBefore: BigInt(NOW - 60), notAfter: BigInt(NOW + 86400) } }
      : source === leafNodeSources.update
        ? { leafNodeSource: leafNodeSources.update }
        : { leafNodeSource: leafNodeSources.commit, parentHash: cs.randomBytes(cs.params.Nh) };
  return { cs, sk, content: { ...common, ...src, ...over } as LeafNodeContent };
}

const groupFor = (source: number) => (source === leafNodeSources.key_package ? undefined : GROUP);

describe("leaves of a decoded ratchet tree (one object over the shared tree bytes)", () => {
  it("read every field of all three sources exactly as a standalone decode, for the TBS and the signature too", async () => {
    const cs = PROVIDERS[0]!.suite(1);
    const leaves: LeafNode[] = [];
    for (const source of [leafNodeSources.key_package, leafNodeSources.update, leafNodeSources.commit] as const) {
      // A credential whose identity is longer than 63 bytes: a two-byte length prefix.
      const { sk, content: c } = await content(cs, source, { credential: basic(`${"x".repeat(70)}@example.org`) });
      leaves.push(signLeafNode(cs, sk, c, groupFor(source)));
    }
    const nodes = [leaves[0]!, null, leaves[1]!, null, leaves[2]!].map((l) => (l === null ? null : { nodeType: nodeTypes.leaf, leafNode: l }));
    const bytes = encodeRatchetTree(nodes);
    const decoded = decodeRatchetTree(bytes);
    bytes.fill(0); // the tree keeps its own copy
    for (const [k, made] of leaves.entries()) {
      const node = decoded[2 * k];
      if (node?.nodeType !== nodeTypes.leaf) throw new Error("expected a leaf");
      const leaf = node.leafNode;
      const standalone = decodeLeafNode(encodeLeafNode(made));
      expect(leafNodeFields(leaf)).toEqual(standalone);
      expect(leaf.leafNodeSource).toBe(made.leafNodeSource);
      expect(leaf.credential).toEqual(made.credential);
      expect(leaf.encryptionKey).toEqual(made.encryptionKey);
      expect(leaf.signature).toEqual(made.signature);
      expect(toHexOf(decodedLeafNodeEncoding(leaf))).toBe(toHexOf(encodeLeafNode(made)));
      expect(toHexOf(encodeLeafNodeTbs(leaf, groupFor(made.leafNodeSource)))).toBe(toHexOf(encodeLeafNodeTbs(made, groupFor(made.leafNodeSource))));
      expect(verifyLeafNodeSignature(cs, leaf, groupFor(made.leafNodeSource))).toBe(true);
      if (made.leafNodeSource === leafNodeSources.key_package) expect(leaf.leafNodeSource === leafNodeSources.key_package && leaf.lifetime).toEqual(made.lifetime);
      if (made.leafNodeSource === leafNodeSources.commit) expect(leaf.leafNodeSource === leafNodeSources.commit && leaf.parentHash).toEqual(made.parentHash);
      // Spreading an accessor object copies only its encoding; leafNodeFields is the way to derive a leaf.
      const changed: LeafNode = { ...leafNodeFields(leaf), signature: new Uint8Array(leaf.signature.length) };
      expect(verifyLeafNodeSignature(cs, changed, groupFor(made.leafNodeSource))).toBe(false);
    }
    // Deep equality of two such leaves is equality of their encodings.
    const again = decodeRatchetTree(encodeRatchetTree(nodes));
    expect(again).toEqual(decoded);
    expect(again[0]).not.toEqual(decoded[2]);
  });
});

for (const p of PROVIDERS) {
  describe(`LeafNode signatures (${p.name})`, () => {
    for (const suite of ALL_SUITE_IDS) {
      it(`suite ${suite}: key_package, update and commit sources`, async () => {
        const cs = p.suite(suite);
        for (const source of [1, 2, 3] as const) {
          const { sk, content: c } = await content(cs, source);
          const g = groupFor(source);
          const leaf = signLeafNode(cs, sk, c, g);
          expect(verifyLeafNodeSignature(cs, leaf, g)).toBe(true);
          // Survives the codec.
          const again = decodeLeafNode(encodeLeafNode(leaf));
          expect(verifyLeafNodeSignature(cs, again, g)).toBe(true);
          // Tampering with any signed field breaks it.
          const flipped = leaf.encryptionKey.slice();
          flipped[0]! ^= 1;
          expect(verifyLeafNodeSignature(cs, { ...leaf, encryptionKey: flipped }, g)).toBe(false);
          expect(verifyLeafNodeSignature(cs, { ...leaf, extensions: [{ extensionType: 1, extensionData: utf8("x") }] }, g)).toBe(false);
          expect(verifyLeafNodeSignature(cs, { ...leaf, credential: basic("mallory@example.org") }, g)).toBe(false);
          const sig = leaf.signature.slice();
          sig[sig.length - 1]! ^= 0x80;
          expect(verifyLeafNodeSignature(cs, { ...leaf, signature: sig }, g)).toBe(false);
          if (g !== undefined) {
            // RFC 9420 §7.2: update and commit leaves are bound to group_id and leaf_index.
            expect(verifyLeafNodeSignature(cs, leaf, { ...g, leafIndex: g.leafIndex + 1 })).toBe(false);
            expect(verifyLeafNodeSignature(cs, leaf, { ...g, groupId: utf8("other") })).toBe(false);
            expect(() => verifyLeafNodeSignature(cs, leaf)).toThrow(UsageError);
          }
        }
      });
    }
  });
}

describe("validateLeafNode (RFC 9420 §7.3)", () => {
  const p = PROVIDERS[1]!;
  const cs = p.suite(1);
  const as: AuthenticationService = unsafeTestingAuthenticationService;
  const base: LeafNodeValidationOptions = { authService: as, now: NOW };
  const make = async (source: 1 | 2 | 3 = 1, over: Partial<LeafNodeContent> = {}): Promise<{ leaf: LeafNode; m: Made }> => {
    const m = await content(cs, source, over);
    return { leaf: signLeafNode(cs, m.sk, m.content, groupFor(source)), m };
  };

  it("accepts a well-formed leaf of each source", async () => {
    for (const source of [1, 2, 3] as const) {
      const { leaf } = await make(source);
      await validateLeafNode(cs, leaf, { ...base, expectedSource: source, group: groupFor(source) });
    }
  });

  it("bad signature", async () => {
    const { leaf } = await make();
    const sig = leaf.signature.slice();
    sig[3]! ^= 4;
    await expectCode(validateLeafNode(cs, { ...leaf, signature: sig }, base), "valid.bad_leaf_node_signature");
  });

  it("wrong leaf_node_source for the context", async () => {
    const { leaf } = await make(3);
    await expectCode(validateLeafNode(cs, leaf, { ...base, group: GROUP, expectedSource: leafNodeSources.update }), "valid.wrong_leaf_node_source");
  });

  it("malformed keys for the suite", async () => {
    const { leaf, m } = await make();
    await expectCode(validateLeafNode(cs, signLeafNode(cs, m.sk, { ...m.content, encryptionKey: new Uint8Array(33) }), base), "valid.malformed_encryption_key");
    await expectCode(validateLeafNode(cs, { ...leaf, signatureKey: new Uint8Array(65) }, base), "valid.malformed_signature_key");
  });

  it("leaf extensions must be listed in capabilities, except default types; no duplicates", async () => {
    const custom = { extensionType: 0xf0f0, extensionData: utf8("v") };
    const appId = { extensionType: 0x0001, extensionData: utf8("device-1") };
    const { leaf: unlisted } = await make(1, { extensions: [custom] });
    await expectCode(validateLeafNode(cs, unlisted, base), "valid.extension_not_in_capabilities");
    const caps = { ...buildCapabilities(), extensions: [0xf0f0, 0x0a0a] };
    const { leaf: listed } = await make(1, { extensions: [appId, custom, { extensionType: 0x0a0a, extensionData: new Uint8Array(0) }], capabilities: caps });
    await validateLeafNode(cs, listed, base);
    const { leaf: dup } = await make(1, { extensions: [appId, appId] });
    await expectCode(validateLeafNode(cs, dup, base), "valid.duplicate_extension");
  });

  it("the leaf's credential type must be in its own capabilities", async () => {
    const { leaf } = await make(1, { capabilities: { ...buildCapabilities(), credentials: [credentialTypes.x509] } });
    await expectCode(validateLeafNode(cs, leaf, base), "valid.credential_type_not_in_capabilities");
  });

  it("group version and cipher suite must be in capabilities", async () => {
    const { leaf: noSuite } = await make(1, { capabilities: { ...buildCapabilities(), cipherSuites: [2, 3] } });
    await expectCode(validateLeafNode(cs, noSuite, base), "valid.unsupported_cipher_suite");
    await validateLeafNode(cs, noSuite, { ...base, checkCipherSuiteCapability: false });
    const { leaf } = await make();
    await expectCode(validateLeafNode(cs, leaf, { ...base, groupFacts: { version: 2 } }), "valid.unsupported_protocol_version");
  });

  it("required_capabilities and GroupContext extensions (§11.1, §13.4)", async () => {
    const caps: Capabilities = { ...buildCapabilities(), extensions: [0xf001], proposals: [0xf002] };
    const { leaf } = await make(1, { capabilities: caps });
    const rc = (e: number[], pr: number[], c: number[]) => ({
      extensionType: 0x0003,
      extensionData: encodeRequiredCapabilities({ extensionTypes: e, proposalTypes: pr, credentialTypes: c }),
    });
    const v = (groupContextExtensions: { extensionType: number; extensionData: Uint8Array }[]) =>
      validateLeafNode(cs, leaf, { ...base, groupFacts: { groupContextExtensions } });
    await v([rc([0xf001], [0xf002], [credentialTypes.basic, credentialTypes.x509])]);
    await expectCode(v([rc([0xf003], [], [])]), "valid.unsupported_required_capability");
    await expectCode(v([rc([], [0xf004], [])]), "valid.unsupported_required_capability");
    await expectCode(v([rc([], [], [0xf005])]), "valid.unsupported_required_capability");
    // Every GroupContext extension must be supported; default ones always are.
    await v([rc([], [], []), { extensionType: 0x0005, extensionData: new Uint8Array(0) }, { extensionType: 0xf001, extensionData: new Uint8Array(0) }]);
    await expectCode(v([{ extensionType: 0xf00f, extensionData: new Uint8Array(0) }]), "valid.unsupported_group_extension");
    // A precomputed requirement overrides decoding.
    await expectCode(
      validateLeafNode(cs, leaf, { ...base, groupFacts: { requiredCapabilities: { extensionTypes: [0xabcd], proposalTypes: [], credentialTypes: [] } } }),
      "valid.unsupported_required_capability",
    );
    expect(requiredCapabilitiesOf([rc([7], [8], [9])])).toEqual({ extensionTypes: [7], proposalTypes: [8], credentialTypes: [9] });
    expect(requiredCapabilitiesOf([])).toBeNull();
  });

  it("credential types across members", async () => {
    const basicOnly: Capabilities = { ...buildCapabilities(), credentials: [credentialTypes.basic] };
    const { leaf: mine } = await make(1, { capabilities: basicOnly });
    const { leaf: other } = await make(1);
    const x509Member = { ...other, credential: { credentialType: credentialTypes.x509, certificates: [new Uint8Array(3)] } } as LeafNode;
    const basicOnlyMember = { ...other, capabilities: { ...other.capabilities, credentials: [credentialTypes.basic] } } as LeafNode;
    const x509OnlyMember = { ...other, capabilities: { ...other.capabilities, credentials: [credentialTypes.x509] } } as LeafNode;

    const facts = memberCredentialFacts([other, null, basicOnlyMember, undefined]);
    expect(facts.credentialTypesInUse).toEqual([credentialTypes.basic]);
    expect(facts.credentialTypesSupportedByAll).toEqual([credentialTypes.basic]);
    expect(memberCredentialFacts([null])).toEqual({ credentialTypesInUse: [], credentialTypesSupportedByAll: null });
    await validateLeafNode(cs, mine, { ...base, groupFacts: facts });

    // A member uses x509, which this leaf does not support.
    await expectCode(validateLeafNode(cs, mine, { ...base, groupFacts: memberCredentialFacts([x509Member]) }), "valid.member_credential_type_unsupported");
    // A member does not support basic, this leaf's type.
    await expectCode(validateLeafNode(cs, mine, { ...base, groupFacts: memberCredentialFacts([x509OnlyMember]) }), "valid.credential_type_unsupported_by_members");
  });

  it("lifetime of key_package leaves, skew, opt-out and maximum", async () => {
    const { leaf } = await make(1);
    await expectCode(validateLeafNode(cs, leaf, { ...base, now: NOW + 86400 + 301 }), "valid.lifetime_expired");
    await expectCode(validateLeafNode(cs, leaf, { ...base, now: NOW - 60 - 301 }), "valid.lifetime_not_yet_valid");
    await validateLeafNode(cs, leaf, { ...base, now: NOW - 60 - 299 });
    await validateLeafNode(cs, leaf, { ...base, now: NOW + 86400 + 10, clockSkewSeconds: 20 });
    await validateLeafNode(cs, leaf, { ...base, now: NOW + 10 * 86400, checkLifetime: false });
    await expectCode(validateLeafNode(cs, leaf, { ...base, maxLifetimeSeconds: 3600 }), "valid.lifetime_too_long");
    // Update and commit leaves carry no lifetime.
    const { leaf: upd } = await make(2);
    await validateLeafNode(cs, upd, { ...base, group: GROUP, now: 0 });
  });

  it("Update must change encryption_key; successor credential checked by the AS (§5.3.1)", async () => {
    const { leaf: old, m } = await make(2);
    const same = signLeafNode(cs, m.sk, { ...m.content }, GROUP);
    await expectCode(validateLeafNode(cs, same, { ...base, group: GROUP, replaces: old }), "valid.encryption_key_not_updated");
    const fresh = signLeafNode(cs, m.sk, { ...m.content, encryptionKey: (await cs.hpkeKeyPair()).publicKey }, GROUP);
    await validateLeafNode(cs, fresh, { ...base, group: GROUP, replaces: old });
    const other = signLeafNode(cs, m.sk, { ...m.content, encryptionKey: (await cs.hpkeKeyPair()).publicKey, credential: basic("mallory@example.org") }, GROUP);
    await expectCode(validateLeafNode(cs, other, { ...base, group: GROUP, replaces: old }), "valid.invalid_successor");
  });

  it("credential validated through the AS; any AS failure becomes valid.credential_rejected", async () => {
    const { leaf } = await make(1);
    await validateLeafNode(cs, leaf, { ...base, authService: basicCredentialAuthenticator({ allowedIdentities: ["alice@example.org"] }) });
    await expectCode(validateLeafNode(cs, leaf, { ...base, authService: basicCredentialAuthenticator({ allowedIdentities: ["bob@example.org"] }) }), "valid.credential_rejected");
    const seen: unknown[] = [];
    const throwing: AuthenticationService = {
      ...unsafeTestingAuthenticationService,
      validateCredential: async (_c, key, ctx) => {
        seen.push(key, ctx.cipherSuite, ctx.now);
        throw new Error("directory unreachable");
      },
    };
    await expectCode(validateLeafNode(cs, leaf, { ...base, authService: throwing }), "valid.credential_rejected");
    expect(seen).toEqual([leaf.signatureKey, 1, NOW]);
    // checkCredential: false skips the AS; the sync variant never calls it.
    await validateLeafNode(cs, leaf, { ...base, authService: throwing, checkCredential: false });
    validateLeafNodeSync(cs, leaf, { now: NOW });
    expect(seen).toHaveLength(3);
  });
});

describe("capabilities and GREASE helpers (§7.2, §13.5)", () => {
  it("the fifteen GREASE values", () => {
    expect(GREASE_VALUES).toEqual([0x0a0a, 0x1a1a, 0x2a2a, 0x3a3a, 0x4a4a, 0x5a5a, 0x6a6a, 0x7a7a, 0x8a8a, 0x9a9a, 0xaaaa, 0xbaba, 0xcaca, 0xdada, 0xeaea]);
    let count = 0;
    for (let v = 0; v <= 0xffff; v++) if (isGrease(v)) count++;
    expect(count).toBe(15);
    expect(isGrease(0xfafa)).toBe(false);
    expect(isGrease(0x0a0b)).toBe(false);
    expect(withoutGrease([1, 0x0a0a, 2, 0xeaea, 0xfafa])).toEqual([1, 2, 0xfafa]);
  });

  it("random selections are distinct GREASE values", () => {
    const cs = PROVIDERS[0]!.suite(1);
    for (let i = 0; i < 20; i++) {
      const v = randomGreaseValues(cs.randomBytes, 5);
      expect(new Set(v).size).toBe(5);
      expect(v.every(isGrease)).toBe(true);
    }
    expect(randomGreaseValues(cs.randomBytes, 99)).toHaveLength(15);
    const e = greaseExtension(cs.randomBytes);
    expect(isGrease(e.extensionType)).toBe(true);
    expect(e.extensionData.length).toBeLessThan(16);
  });

  it("buildCapabilities drops default types, adds GREASE on request, and strips it back", () => {
    const cs = PROVIDERS[0]!.suite(1);
    const plain = buildCapabilities({ extensions: [1, 2, 3, 4, 5, 0x000a], proposals: [1, 7, 0x0100] });
    expect(plain).toEqual({ versions: [1], cipherSuites: [1, 2, 3, 4, 5, 6, 7], extensions: [0x000a], proposals: [0x0100], credentials: [1, 2] });
    const greased = buildCapabilities({ extensions: [0x000a], grease: cs.randomBytes });
    for (const list of [greased.cipherSuites, greased.extensions, greased.proposals, greased.credentials]) {
      const n = list.filter(isGrease).length;
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThanOrEqual(2);
    }
    expect(capabilitiesWithoutGrease(greased)).toEqual(buildCapabilities({ extensions: [0x000a] }));
  });

  it("default types are supported without being listed", () => {
    const caps = buildCapabilities();
    for (let t = 1; t <= 5; t++) expect(isDefaultExtensionType(t) && supportsExtension(caps, t)).toBe(true);
    for (let t = 1; t <= 7; t++) expect(isDefaultProposalType(t) && supportsProposal(caps, t)).toBe(true);
    expect(supportsExtension(caps, 0x000a)).toBe(false);
    expect(supportsProposal(caps, 0x0008)).toBe(false);
  });
});
