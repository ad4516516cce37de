/**
 * KeyPackages (RFC 9420 §10, §10.1): creation, validation failures with stable codes, the
 * official vectors' KeyPackages, KeyPackageRef and last_resort.
 */
import { describe, expect, it } from "vitest";
import { ALL_SUITE_IDS, type CipherSuite } from "../../src/crypto/cipher-suite.js";
import { ValidationError } from "../../src/errors.js";
import { unsafeTestingAuthenticationService } from "../../src/mls/auth/authentication-service.js";
import { basicCredentialAuthenticator } from "../../src/mls/auth/basic.js";
import { buildCapabilities } from "../../src/mls/core/capabilities-ops.js";
import type { Credential } from "../../src/mls/core/credential.js";
import { extensionTypes } from "../../src/mls/core/extension.js";
import { isGrease } from "../../src/mls/core/grease.js";
import { credentialTypes, leafNodeSources, wireFormats } from "../../src/mls/core/protocol.js";
import { encodeRequiredCapabilities } from "../../src/mls/core/required-capabilities.js";
import { decodeMlsMessage } from "../../src/mls/framing/mls-message.js";
import { decodeKeyPackage, encodeKeyPackage, type KeyPackage, type KeyPackageTbs } from "../../src/mls/messages/key-package.js";
import {
  checkKeyPackagePrivateKeys,
  createKeyPackage,
  isLastResort,
  keyPackageRef,
  lastResortExtension,
  signKeyPackage,
  validateKeyPackage,
  verifyKeyPackageSignature,
  type CreatedKeyPackage,
  type KeyPackageValidationOptions,
} from "../../src/mls/messages/key-package-ops.js";
import type { LeafNodeContent } from "../../src/mls/tree/leaf-node.js";
import { signLeafNode } from "../../src/mls/tree/leaf-node-ops.js";
import { utf8 } from "../../src/util/bytes.js";
import { PROVIDERS } from "../helpers/providers.js";
import { describeVectors, h } from "../helpers/vectors.js";

const NOW = 1_700_000_000;
const alice: Credential = { credentialType: credentialTypes.basic, identity: utf8("alice@example.org/phone") };
const as = basicCredentialAuthenticator({ allowedIdentities: ["alice@example.org/phone"] });
const opts: KeyPackageValidationOptions = { authService: as, now: NOW };

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  expect((err as ValidationError).code).toBe(code);
}

/** Re-sign a KeyPackage after changing TBS fields (so only the intended defect remains). */
function resign(cs: CipherSuite, made: CreatedKeyPackage, changes: Partial<KeyPackageTbs>): KeyPackage {
  const { signature: _s, ...tbs } = made.keyPackage;
  return signKeyPackage(cs, made.privateKeys.signaturePrivateKey, { ...tbs, ...changes });
}

/** Re-sign the leaf (and then the package) after changing leaf fields. */
function resignLeaf(cs: CipherSuite, made: CreatedKeyPackage, changes: Partial<LeafNodeContent>, group?: { groupId: Uint8Array; leafIndex: number }): KeyPackage {
  const { signature: _s, ...content } = made.keyPackage.leafNode;
  const leafNode = signLeafNode(cs, made.privateKeys.signaturePrivateKey, { ...content, ...changes } as LeafNodeContent, group);
  return resign(cs, made, { leafNode });
}

for (const p of PROVIDERS) {
  describe(`createKeyPackage / validateKeyPackage round trip (${p.name})`, () => {
    for (const suite of ALL_SUITE_IDS) {
      it(`suite ${suite}`, async () => {
        const cs = p.suite(suite);
        const made = await createKeyPackage({ cs, credential: alice, now: NOW });
        const kp = made.keyPackage;
        expect(kp.cipherSuite).toBe(suite);
        expect(kp.leafNode.leafNodeSource).toBe(leafNodeSources.key_package);
        if (kp.leafNode.leafNodeSource !== leafNodeSources.key_package) throw new Error("unreachable");
        expect(kp.leafNode.lifetime).toEqual({ notBefore: BigInt(NOW - 3600), notAfter: BigInt(NOW + 90 * 86400) });
        // Default capabilities: all seven suites, the credential type, GREASE (RFC 9420 §13.5).
        for (const s of ALL_SUITE_IDS) expect(kp.leafNode.capabilities.cipherSuites).toContain(s);
        expect(kp.leafNode.capabilities.credentials).toContain(credentialTypes.basic);
        expect(kp.leafNode.capabilities.cipherSuites.some(isGrease)).toBe(true);
        expect(kp.leafNode.capabilities.credentials.some(isGrease)).toBe(true);
        expect(kp.extensions.filter((e) => isGrease(e.extensionType))).toHaveLength(1);
        expect(kp.initKey).not.toEqual(kp.leafNode.encryptionKey);

        const decoded = decodeKeyPackage(encodeKeyPackage(kp));
        const validated = await validateKeyPackage(cs, decoded, opts);
        expect(encodeKeyPackage(validated)).toEqual(encodeKeyPackage(kp));
        expect(keyPackageRef(cs, decoded)).toEqual(made.ref);
        expect(made.ref).toHaveLength(cs.params.Nh);
        await checkKeyPackagePrivateKeys(cs, decoded, made.privateKeys);
      });
    }
  });

  describe(`validateKeyPackage failures (${p.name})`, () => {
    const setup = async (suite = 1) => {
      const cs = p.suite(suite);
      return { cs, made: await createKeyPackage({ cs, credential: alice, now: NOW }) };
    };

    it("bad KeyPackage signature", async () => {
      const { cs, made } = await setup();
      const sig = made.keyPackage.signature.slice();
      sig[5]! ^= 1;
      const kp = { ...made.keyPackage, signature: sig };
      expect(verifyKeyPackageSignature(cs, kp)).toBe(false);
      await expectCode(validateKeyPackage(cs, kp, opts), "valid.bad_key_package_signature");
    });

    it("signature by another key", async () => {
      const { cs, made } = await setup();
      const { signature: _s, ...tbs } = made.keyPackage;
      const kp = signKeyPackage(cs, cs.signatureKeyPair().privateKey, tbs);
      await expectCode(validateKeyPackage(cs, kp, opts), "valid.bad_key_package_signature");
    });

    it("tampered leaf node (KeyPackage re-signed, leaf signature stale)", async () => {
      const { cs, made } = await setup();
      const leafNode = { ...made.keyPackage.leafNode, extensions: [{ extensionType: extensionTypes.application_id, extensionData: utf8("x") }] };
      await expectCode(validateKeyPackage(cs, resign(cs, made, { leafNode }), opts), "valid.bad_leaf_node_signature");
    });

    it("wrong cipher suite", async () => {
      const { made } = await setup(1);
      await expectCode(validateKeyPackage(p.suite(3), made.keyPackage, opts), "valid.wrong_cipher_suite");
    });

    it("wrong protocol version", async () => {
      const { cs, made } = await setup();
      await expectCode(validateKeyPackage(cs, resign(cs, made, { version: 2 }), opts), "valid.wrong_protocol_version");
      await expectCode(validateKeyPackage(cs, made.keyPackage, { ...opts, version: 2 }), "valid.wrong_protocol_version");
    });

    it("expired and not-yet-valid lifetime (outside the clock skew)", async () => {
      const { cs, made } = await setup();
      const after = NOW + 90 * 86400;
      await expectCode(validateKeyPackage(cs, made.keyPackage, { ...opts, now: after + 301 }), "valid.lifetime_expired");
      await expectCode(validateKeyPackage(cs, made.keyPackage, { ...opts, now: NOW - 3600 - 301 }), "valid.lifetime_not_yet_valid");
      // Within the default 300 s skew: still valid.
      await validateKeyPackage(cs, made.keyPackage, { ...opts, now: after + 299 });
      await expectCode(validateKeyPackage(cs, made.keyPackage, { ...opts, now: after + 1, clockSkewSeconds: 0 }), "valid.lifetime_expired");
    });

    it("lifetime longer than the application maximum", async () => {
      const { cs, made } = await setup();
      await expectCode(validateKeyPackage(cs, made.keyPackage, { ...opts, maxLifetimeSeconds: 30 * 86400 }), "valid.lifetime_too_long");
      await validateKeyPackage(cs, made.keyPackage, { ...opts, maxLifetimeSeconds: 91 * 86400 });
    });

    it("init_key == encryption_key", async () => {
      const { cs, made } = await setup();
      const kp = resign(cs, made, { initKey: made.keyPackage.leafNode.encryptionKey });
      await expectCode(validateKeyPackage(cs, kp, opts), "valid.init_key_equals_encryption_key");
    });

    it("malformed init_key", async () => {
      const { cs, made } = await setup();
      await expectCode(validateKeyPackage(cs, resign(cs, made, { initKey: new Uint8Array(31) }), opts), "valid.malformed_init_key");
    });

    it("leaf_node_source is not key_package", async () => {
      const { cs, made } = await setup();
      const group = { groupId: utf8("g"), leafIndex: 0 };
      const kp = resignLeaf(cs, made, { leafNodeSource: leafNodeSources.update } as Partial<LeafNodeContent>, group);
      await expectCode(validateKeyPackage(cs, kp, opts), "valid.wrong_leaf_node_source");
    });

    it("unsupported required capability of the group", async () => {
      const { cs, made } = await setup();
      const required = (extensionTypes: number[], proposalTypes: number[], credentialTypes: number[]) => ({
        groupContextExtensions: [
          { extensionType: 0x0003, extensionData: encodeRequiredCapabilities({ extensionTypes, proposalTypes, credentialTypes }) },
        ],
      });
      const v = (groupFacts: ReturnType<typeof required>) => validateKeyPackage(cs, made.keyPackage, { ...opts, groupFacts });
      await expectCode(v(required([0xff00], [], [])), "valid.unsupported_required_capability");
      await expectCode(v(required([], [0xff01], [])), "valid.unsupported_required_capability");
      await expectCode(v(required([], [], [0xff02])), "valid.unsupported_required_capability");
      // Default types need not (MUST NOT) be listed, so requiring them always succeeds (RFC 9420 §7.2).
      await v(required([extensionTypes.ratchet_tree, extensionTypes.external_senders], [1, 7], [credentialTypes.basic]));
    });

    it("group cipher suite missing from capabilities", async () => {
      const { cs, made } = await setup();
      const caps = { ...made.keyPackage.leafNode.capabilities, cipherSuites: [2, 3, 0x0a0a] };
      await expectCode(validateKeyPackage(cs, resignLeaf(cs, made, { capabilities: caps }), opts), "valid.unsupported_cipher_suite");
      await validateKeyPackage(cs, resignLeaf(cs, made, { capabilities: caps }), { ...opts, checkCipherSuiteCapability: false });
    });

    it("KeyPackage extension not in capabilities, and duplicates", async () => {
      const { cs, made } = await setup();
      const ext = { extensionType: 0xf000, extensionData: new Uint8Array(2) };
      await expectCode(validateKeyPackage(cs, resign(cs, made, { extensions: [ext] }), opts), "valid.extension_not_in_capabilities");
      const listed = { ...made.keyPackage.leafNode.capabilities, extensions: [0xf000] };
      const ok = resign(cs, { ...made, keyPackage: resignLeaf(cs, made, { capabilities: listed }) }, { extensions: [ext] });
      await validateKeyPackage(cs, ok, opts);
      const dup = resign(cs, { ...made, keyPackage: ok }, { extensions: [ext, ext] });
      await expectCode(validateKeyPackage(cs, dup, opts), "valid.duplicate_extension");
    });

    it("credential rejected by the authentication service", async () => {
      const { cs, made } = await setup();
      const strict = basicCredentialAuthenticator({ allowedIdentities: ["bob@example.org"] });
      await expectCode(validateKeyPackage(cs, made.keyPackage, { ...opts, authService: strict }), "valid.credential_rejected");
    });

    it("private keys that do not match", async () => {
      const { cs, made } = await setup();
      const other = await createKeyPackage({ cs, credential: alice, now: NOW });
      const k = made.privateKeys;
      await expectCode(checkKeyPackagePrivateKeys(cs, made.keyPackage, { ...k, initPrivateKey: other.privateKeys.initPrivateKey }), "valid.private_key_mismatch");
      await expectCode(checkKeyPackagePrivateKeys(cs, made.keyPackage, { ...k, encryptionPrivateKey: k.initPrivateKey }), "valid.private_key_mismatch");
      await expectCode(checkKeyPackagePrivateKeys(cs, made.keyPackage, { ...k, signaturePrivateKey: other.privateKeys.signaturePrivateKey }), "valid.private_key_mismatch");
    });
  });

  describe(`GREASE and unknown values are ignored (${p.name})`, () => {
    it("every GREASE value and unknown codepoints in capabilities and extensions", async () => {
      const cs = p.suite(2);
      const grease = [0x0a0a, 0x1a1a, 0x2a2a, 0x3a3a, 0x4a4a, 0x5a5a, 0x6a6a, 0x7a7a, 0x8a8a, 0x9a9a, 0xaaaa, 0xbaba, 0xcaca, 0xdada, 0xeaea];
      const capabilities = {
        versions: [1, 0x0200],
        cipherSuites: [2, 0x0099, ...grease],
        extensions: [0x7777, ...grease],
        proposals: [0x8888, ...grease],
        credentials: [credentialTypes.basic, 0x9999, ...grease],
      };
      const made = await createKeyPackage({
        cs,
        credential: alice,
        now: NOW,
        capabilities,
        extensions: [{ extensionType: 0x7777, extensionData: utf8("unknown but listed") }],
        leafExtensions: [{ extensionType: 0xeaea, extensionData: new Uint8Array([1, 2, 3]) }],
      });
      expect(made.keyPackage.leafNode.capabilities.extensions).toEqual(capabilities.extensions);
      await validateKeyPackage(cs, decodeKeyPackage(encodeKeyPackage(made.keyPackage)), opts);
    });

    it("grease: false produces no GREASE at all", async () => {
      const cs = p.suite(1);
      const made = await createKeyPackage({ cs, credential: alice, now: NOW, grease: false });
      const c = made.keyPackage.leafNode.capabilities;
      expect([...c.cipherSuites, ...c.extensions, ...c.proposals, ...c.credentials].some(isGrease)).toBe(false);
      expect(made.keyPackage.extensions).toEqual([]);
      expect(c).toEqual(buildCapabilities());
    });
  });

  describe(`last_resort (${p.name})`, () => {
    it("is detected, listed in capabilities and survives encoding", async () => {
      const cs = p.suite(1);
      const last = await createKeyPackage({ cs, credential: alice, now: NOW, extensions: [lastResortExtension()] });
      const plain = await createKeyPackage({ cs, credential: alice, now: NOW });
      expect(isLastResort(last.keyPackage)).toBe(true);
      expect(isLastResort(plain.keyPackage)).toBe(false);
      expect(last.keyPackage.leafNode.capabilities.extensions).toContain(extensionTypes.last_resort);
      const decoded = decodeKeyPackage(encodeKeyPackage(last.keyPackage));
      expect(isLastResort(decoded)).toBe(true);
      expect(decoded.extensions.find((e) => e.extensionType === 0x000a)?.extensionData).toEqual(new Uint8Array(0));
      await validateKeyPackage(cs, decoded, opts);
    });
  });
}

interface WelcomeCase {
  cipher_suite: number;
  init_priv: string;
  key_package: string;
  welcome: string;
}
interface PassiveCase {
  cipher_suite: number;
  key_package: string;
  init_priv: string;
  encryption_priv: string;
  signature_priv: string;
}

function vectorKeyPackage(hex: string): KeyPackage {
  const m = decodeMlsMessage(h(hex));
  if (m.wireFormat !== wireFormats.mls_key_package) throw new Error(`expected mls_key_package, got wire format ${m.wireFormat}`);
  return m.keyPackage;
}

/** A time inside the package's lifetime (the passive-client ones expired in 2024). */
function insideLifetime(kp: KeyPackage): number {
  if (kp.leafNode.leafNodeSource !== leafNodeSources.key_package) throw new Error("not a key_package leaf");
  return Number(kp.leafNode.lifetime.notBefore) + 60;
}

const vectorOpts = (kp: KeyPackage): KeyPackageValidationOptions => ({ authService: unsafeTestingAuthenticationService, now: insideLifetime(kp) });

describeVectors<WelcomeCase>("welcome", (cases) => {
  for (const p of PROVIDERS) {
    describe(p.name, () => {
      cases.forEach((c, i) => {
        it(`case ${i} suite ${c.cipher_suite}`, async () => {
          const cs = p.suite(c.cipher_suite);
          const kp = vectorKeyPackage(c.key_package);
          // The vector's KeyPackageRef is the Welcome's new_member (RFC 9420 §12.4.3.1).
          const welcome = decodeMlsMessage(h(c.welcome));
          if (welcome.wireFormat !== wireFormats.mls_welcome) throw new Error("expected mls_welcome");
          expect(welcome.welcome.secrets.map((s) => s.newMember)).toContainEqual(keyPackageRef(cs, kp));
          expect(await cs.hpkePublicKey(h(c.init_priv))).toEqual(kp.initKey);
          // Vector quirk: the suite-7 KeyPackage lists only suites 1-6 in its capabilities.
          if (!kp.leafNode.capabilities.cipherSuites.includes(c.cipher_suite)) {
            await expectCode(validateKeyPackage(cs, kp, vectorOpts(kp)), "valid.unsupported_cipher_suite");
          }
          await validateKeyPackage(cs, kp, { ...vectorOpts(kp), checkCipherSuiteCapability: kp.leafNode.capabilities.cipherSuites.includes(c.cipher_suite) });
          expect(encodeKeyPackage(kp)).toEqual(h(c.key_package).subarray(4)); // MLSMessage header is 4 bytes
        });
      });
    });
  }
});

describeVectors<PassiveCase>("passive-client-welcome", (cases) => {
  for (const p of PROVIDERS) {
    describe(p.name, () => {
      cases.forEach((c, i) => {
        it(`case ${i} suite ${c.cipher_suite}`, async () => {
          const cs = p.suite(c.cipher_suite);
          const kp = vectorKeyPackage(c.key_package);
          const validated = await validateKeyPackage(cs, kp, vectorOpts(kp));
          await checkKeyPackagePrivateKeys(cs, validated, {
            initPrivateKey: h(c.init_priv),
            encryptionPrivateKey: h(c.encryption_priv),
            signaturePrivateKey: h(c.signature_priv),
          });
          // Expired now: the lifetime check is real.
          if (kp.leafNode.leafNodeSource !== leafNodeSources.key_package) throw new Error("unreachable");
          await expectCode(validateKeyPackage(cs, kp, { ...vectorOpts(kp), now: Number(kp.leafNode.lifetime.notAfter) + 3600 }), "valid.lifetime_expired");
        });
      });
    });
  }
});
