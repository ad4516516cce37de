/**
 * Creating a group (RFC 9420 §11): a one-member tree with the creator's leaf, epoch 0, an empty
 * confirmed transcript hash, a fresh random epoch secret, the creator's chosen GroupContext
 * extensions (e.g. required_capabilities §11.1, external_senders §12.1.8.1, application ones),
 * then the confirmation tag over the empty transcript and the interim transcript hash.
 * @module
 */
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { UsageError } from "../../errors.js";
import { bytesEqual, wipe } from "../../util/bytes.js";
import { validateWithAuthenticationService } from "../auth/authentication-service.js";
import type { Capabilities } from "../core/capabilities.js";
import { buildCapabilities, checkNoDuplicateExtensions, withCredentialType, withExtensionTypes } from "../core/capabilities-ops.js";
import type { Credential } from "../core/credential.js";
import { extensionTypes, findExtension, type Extension } from "../core/extension.js";
import { decodeExternalSenders } from "../core/external-senders.js";
import type { Lifetime } from "../core/lifetime.js";
import { leafNodeSources, protocolVersions } from "../core/protocol.js";
import type { KeyPackagePrivateKeys } from "../messages/key-package-ops.js";
import { DEFAULT_LIFETIME } from "../messages/key-package-ops.js";
import type { KeyPackage } from "../messages/key-package.js";
import { encodeGroupContext, type GroupContext } from "../schedule/group-context.js";
import { keyScheduleFromJoiner } from "../schedule/key-schedule.js";
import { confirmationTag as computeConfirmationTag, interimTranscriptHash, INITIAL_CONFIRMED_TRANSCRIPT_HASH } from "../schedule/transcript-hash.js";
import type { LeafNode } from "../tree/leaf-node.js";
import { signLeafNode, validateLeafNodeSync } from "../tree/leaf-node-ops.js";
import { rootTreeHash } from "../tree/tree-hash.js";
import type { LeafIndex } from "../tree/tree-math.js";
import { TreePrivateKeys } from "../tree/tree-private-keys.js";
import { TreeState } from "../tree/tree-state.js";
import type { GroupConfig } from "./group-config.js";
import { groupFactsOf } from "./group-facts.js";
import { EpochRuntime, GroupState } from "./group-state.js";

/** The creator's leaf: from one of its KeyPackages, or built fresh. */
export type CreatorLeaf =
  | { readonly keyPackage: KeyPackage; readonly privateKeys: KeyPackagePrivateKeys }
  | {
      readonly credential: Credential;
      readonly signaturePrivateKey: Uint8Array;
      /** Default: all suites, basic and x509 credentials, with GREASE (RFC 9420 §13.5). */
      readonly capabilities?: Capabilities;
      readonly extensions?: readonly Extension[];
      /** Default: now - 1 h .. now + 90 days. */
      readonly lifetime?: Lifetime;
    };

export interface CreateGroupParams {
  readonly cs: CipherSuite;
  readonly config: GroupConfig;
  readonly leaf: CreatorLeaf;
  /** Default: KDF.Nh random bytes (RFC 9420 §11 "a freshly generated random value of size KDF.Nh"). */
  readonly groupId?: Uint8Array;
  /** GroupContext extensions (RFC 9420 §11 "Any values of the creator's choosing"). */
  readonly extensions?: readonly Extension[];
}

async function creatorLeaf(cs: CipherSuite, config: GroupConfig, leaf: CreatorLeaf, extensions: readonly Extension[]): Promise<{ leafNode: LeafNode; encryptionPrivateKey: Uint8Array; signaturePrivateKey: Uint8Array }> {
  if ("keyPackage" in leaf) {
    if (leaf.keyPackage.cipherSuite !== cs.params.id) throw new UsageError("wrong_cipher_suite", `the KeyPackage uses suite ${leaf.keyPackage.cipherSuite}, the group ${cs.params.id}`);
    if (!bytesEqual(cs.signaturePublicKey(leaf.privateKeys.signaturePrivateKey), leaf.keyPackage.leafNode.signatureKey)) {
      throw new UsageError("private_key_mismatch", "the signature private key does not match the KeyPackage");
    }
    return { leafNode: leaf.keyPackage.leafNode, encryptionPrivateKey: leaf.privateKeys.encryptionPrivateKey, signaturePrivateKey: leaf.privateKeys.signaturePrivateKey };
  }
  const now = config.now();
  const enc = await cs.hpkeKeyPair();
  let capabilities = leaf.capabilities ?? buildCapabilities({ grease: (n) => cs.randomBytes(n) });
  capabilities = withCredentialType(capabilities, leaf.credential.credentialType);
  // The creator must support its own group's extensions (RFC 9420 §13.4) and its leaf extensions (§7.2).
  capabilities = withExtensionTypes(capabilities, [...extensions, ...(leaf.extensions ?? [])].map((e) => e.extensionType));
  const leafNode = signLeafNode(cs, leaf.signaturePrivateKey, {
    encryptionKey: enc.publicKey,
    signatureKey: cs.signaturePublicKey(leaf.signaturePrivateKey),
    credential: leaf.credential,
    capabilities,
    leafNodeSource: leafNodeSources.key_package,
    lifetime: leaf.lifetime ?? {
      notBefore: BigInt(Math.max(0, now - DEFAULT_LIFETIME.notBeforeOffsetSeconds)),
      notAfter: BigInt(now + DEFAULT_LIFETIME.notAfterOffsetSeconds),
    },
    extensions: leaf.extensions ?? [],
  });
  return { leafNode, encryptionPrivateKey: enc.privateKey, signaturePrivateKey: leaf.signaturePrivateKey };
}

/** RFC 9420 §11: create a one-member group at epoch 0. */
export async function createGroup(p: CreateGroupParams): Promise<GroupState> {
  const { cs, config } = p;
  const extensions = p.extensions ?? [];
  checkNoDuplicateExtensions(extensions, "GroupContext.extensions");
  const groupId = p.groupId ?? cs.randomBytes(cs.params.Nh);
  const own = await creatorLeaf(cs, config, p.leaf, extensions);
  const tree = TreeState.create(own.leafNode);

  // RFC 9420 §7.3 for our own leaf against the group we are creating (we send it, so the lifetime is checked).
  validateLeafNodeSync(cs, own.leafNode, {
    groupFacts: groupFactsOf(tree, extensions, protocolVersions.mls10),
    now: config.now(),
    clockSkewSeconds: config.lifetime.clockSkewSeconds,
    maxLifetimeSeconds: config.lifetime.maxLifetimeSeconds,
  });
  const es = findExtension(extensions, extensionTypes.external_senders);
  if (es !== null) {
    for (const s of decodeExternalSenders(es.extensionData)) {
      // RFC 9420 §5.3.1: "When an external_senders extension is added to the group".
      await validateWithAuthenticationService(config.authenticationService, s.credential, s.signatureKey, { cipherSuite: cs.params.id, now: config.now(), purpose: "external_sender", groupId });
    }
  }

  const groupContext: GroupContext = {
    version: protocolVersions.mls10,
    cipherSuite: cs.params.id,
    groupId,
    epoch: 0n,
    treeHash: rootTreeHash(cs, tree),
    confirmedTranscriptHash: INITIAL_CONFIRMED_TRANSCRIPT_HASH,
    extensions,
  };
  const gcBytes = encodeGroupContext(groupContext);
  // RFC 9420 §11 "Epoch secret: A fresh random value of size KDF.Nh". The schedule module derives
  // epoch_secret from a joiner_secret; a fresh random joiner_secret (and no PSK) yields an
  // epoch_secret that is itself a fresh pseudorandom value, as required.
  const seed = cs.randomBytes(cs.params.Nh);
  const { welcomeSecret, epochSecrets } = keyScheduleFromJoiner(cs, seed, undefined, gcBytes);
  wipe(seed, welcomeSecret);
  // RFC 9420 §11: confirmation_tag over the empty confirmed_transcript_hash, then the interim hash.
  const tag = computeConfirmationTag(cs, epochSecrets.confirmationKey, INITIAL_CONFIRMED_TRANSCRIPT_HASH);
  const runtime = EpochRuntime.create(cs, 0n, epochSecrets.encryptionSecret, epochSecrets.senderDataSecret, tree.nLeaves, config.ratchetLimits);
  wipe(epochSecrets.encryptionSecret);
  return GroupState.fromFields(
    {
      cs,
      config,
      groupContext,
      tree,
      interimTranscriptHash: interimTranscriptHash(cs, INITIAL_CONFIRMED_TRANSCRIPT_HASH, tag),
      confirmationTag: tag,
      epochSecrets,
      runtime,
      ownLeafIndex: 0 as LeafIndex,
      signaturePrivateKey: own.signaturePrivateKey,
      privateKeys: TreePrivateKeys.from([[0, own.encryptionPrivateKey]]),
      pendingProposals: new Map(),
      ownUpdateKeys: new Map(),
      resumptionPsks: [{ epoch: 0n, psk: epochSecrets.resumptionPsk }],
      pastEpochs: [],
      status: { kind: "active" },
    },
    gcBytes,
  );
}
