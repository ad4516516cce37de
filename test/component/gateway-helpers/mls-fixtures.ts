/**
 * MLS inputs for gateway tests: real KeyPackages (the engine's createKeyPackage, identity
 * `<bare>/<device>`, capabilities listing xmpp_binding), a real registration GroupInfo (one
 * member, xmpp_binding + external_senders with the DS, signed by the member), and synthetic but
 * well-formed handshakes (PublicMessage framing with random signature and tags: the DS's default
 * validator checks framing only).
 */
import type { CipherSuite } from "../../../src/crypto/cipher-suite.js";
import { nativeProvider } from "../../../src/crypto/native/index.js";
import type { DsIdentity } from "../../../src/component/ds-identity.js";
import { xmppBindingExtension } from "../../../src/xmpp/binding-extension.js";
import { buildCapabilities } from "../../../src/mls/core/capabilities-ops.js";
import { extensionTypes, type Extension } from "../../../src/mls/core/extension.js";
import { encodeExternalSenders } from "../../../src/mls/core/external-senders.js";
import { contentTypes, credentialTypes, proposalOrRefTypes, proposalTypes, protocolVersions, senderTypes, wireFormats } from "../../../src/mls/core/protocol.js";
import { encodeMlsMessage, type MlsMessage } from "../../../src/mls/framing/mls-message.js";
import type { Sender } from "../../../src/mls/framing/sender.js";
import { ratchetTreeExtension, signGroupInfo } from "../../../src/mls/group/group-info-ops.js";
import { createKeyPackage, lastResortExtension, type CreatedKeyPackage } from "../../../src/mls/messages/key-package-ops.js";
import type { ProposalOrRef, Proposal } from "../../../src/mls/messages/proposal.js";
import { rootTreeHash } from "../../../src/mls/tree/tree-hash.js";
import { TreeState } from "../../../src/mls/tree/tree-state.js";
import { toHex, utf8 } from "../../../src/util/bytes.js";
import { XMPP_BINDING_EXTENSION_TYPE } from "../../../src/xmpp/ns.js";

export const SUITE = 1;
export const cs: CipherSuite = nativeProvider.suite(SUITE);

export interface TestKeyPackage extends CreatedKeyPackage {
  /** MLSMessage(KeyPackage) bytes. */
  readonly message: Uint8Array;
  readonly refHex: string;
}

/** A valid KeyPackage of `identity` (`user@domain/device`). */
export async function makeKeyPackage(identity: string, opts: { lastResort?: boolean; binding?: boolean; suite?: CipherSuite } = {}): Promise<TestKeyPackage> {
  const suite = opts.suite ?? cs;
  const created = await createKeyPackage({
    cs: suite,
    credential: { credentialType: credentialTypes.basic, identity: utf8(identity) },
    capabilities: buildCapabilities({ extensions: opts.binding === false ? [] : [XMPP_BINDING_EXTENSION_TYPE] }),
    extensions: opts.lastResort === true ? [lastResortExtension()] : [],
    grease: false,
  });
  const message = encodeMlsMessage({ version: protocolVersions.mls10, wireFormat: wireFormats.mls_key_package, keyPackage: created.keyPackage });
  return { ...created, message, refHex: toHex(created.ref) };
}

export interface TestGroup {
  readonly groupId: Uint8Array;
  readonly groupIdHex: string;
  readonly creator: TestKeyPackage;
  /** MLSMessage(GroupInfo) of epoch `epoch`. */
  readonly groupInfo: Uint8Array;
}

export interface GroupInfoOptions {
  readonly room: string;
  /** JID named in xmpp_binding. */
  readonly ds: string;
  /** The DS whose ExternalSender goes into external_senders; none = no external_senders. */
  readonly identity?: DsIdentity;
  readonly epoch?: bigint;
  readonly groupId?: Uint8Array;
  /** Replace the GroupContext extensions entirely. */
  readonly extensions?: readonly Extension[];
  /** Omit the ratchet_tree extension. */
  readonly noTree?: boolean;
}

/** A GroupInfo of a one-member group created by `creator` (RFC 9420 §11, §12.4.3). */
export function makeGroupInfo(creator: TestKeyPackage, o: GroupInfoOptions): { groupId: Uint8Array; bytes: Uint8Array } {
  const groupId = o.groupId ?? cs.randomBytes(16);
  const tree = TreeState.create(creator.keyPackage.leafNode);
  const extensions: Extension[] = o.extensions !== undefined ? [...o.extensions] : [xmppBindingExtension(o.room, o.ds)];
  if (o.extensions === undefined && o.identity !== undefined) {
    extensions.push({ extensionType: extensionTypes.external_senders, extensionData: encodeExternalSenders([o.identity.externalSender(SUITE)]) });
  }
  const gi = signGroupInfo(cs, creator.privateKeys.signaturePrivateKey, {
    groupContext: {
      version: protocolVersions.mls10,
      cipherSuite: SUITE,
      groupId,
      epoch: o.epoch ?? 0n,
      treeHash: rootTreeHash(cs, tree),
      confirmedTranscriptHash: new Uint8Array(0),
      extensions,
    },
    extensions: o.noTree === true ? [] : [ratchetTreeExtension(tree)],
    confirmationTag: cs.randomBytes(32),
    signer: 0,
  });
  return { groupId, bytes: encodeMlsMessage({ version: protocolVersions.mls10, wireFormat: wireFormats.mls_group_info, groupInfo: gi }) };
}

/** A synthetic GroupInfo for a later epoch (not signed by anyone: only the framing is checked). */
export function makeEpochGroupInfo(groupId: Uint8Array, epoch: bigint, room: string, ds: string): Uint8Array {
  const msg: MlsMessage = {
    version: protocolVersions.mls10,
    wireFormat: wireFormats.mls_group_info,
    groupInfo: {
      groupContext: {
        version: protocolVersions.mls10, cipherSuite: SUITE, groupId, epoch,
        treeHash: cs.randomBytes(32), confirmedTranscriptHash: cs.randomBytes(32), extensions: [xmppBindingExtension(room, ds)],
      },
      extensions: [],
      confirmationTag: cs.randomBytes(32),
      signer: 0,
      signature: cs.randomBytes(64),
    },
  };
  return encodeMlsMessage(msg);
}

const MEMBER: Sender = { senderType: senderTypes.member, leafIndex: 0 };

/** A well-formed PublicMessage commit (random signature and tags). */
export function syntheticCommit(groupId: Uint8Array, epoch: bigint, o: { proposals?: readonly ProposalOrRef[]; sender?: Sender } = {}): Uint8Array {
  const sender = o.sender ?? MEMBER;
  return encodeMlsMessage({
    version: protocolVersions.mls10,
    wireFormat: wireFormats.mls_public_message,
    publicMessage: {
      content: { groupId, epoch, sender, authenticatedData: new Uint8Array(0), contentType: contentTypes.commit, commit: { proposals: [...(o.proposals ?? [])], path: null } },
      auth: { signature: cs.randomBytes(64), confirmationTag: cs.randomBytes(32) },
      ...(sender.senderType === senderTypes.member && { membershipTag: cs.randomBytes(32) }),
    },
  });
}

/** A well-formed PublicMessage proposal (random signature and tag). */
export function syntheticProposal(groupId: Uint8Array, epoch: bigint, proposal: Proposal = { proposalType: proposalTypes.remove, remove: { removed: 1 } }): Uint8Array {
  return encodeMlsMessage({
    version: protocolVersions.mls10,
    wireFormat: wireFormats.mls_public_message,
    publicMessage: {
      content: { groupId, epoch, sender: MEMBER, authenticatedData: new Uint8Array(0), contentType: contentTypes.proposal, proposal },
      auth: { signature: cs.randomBytes(64) },
      membershipTag: cs.randomBytes(32),
    },
  });
}

/** An inline Add of `kp`. */
export function addOf(kp: TestKeyPackage): ProposalOrRef {
  return { type: proposalOrRefTypes.proposal, proposal: { proposalType: proposalTypes.add, add: { keyPackage: kp.keyPackage } } };
}

/** A synthetic Welcome whose secrets name `refs` (random HPKE ciphertexts). */
export function syntheticWelcome(refs: readonly Uint8Array[]): Uint8Array {
  return encodeMlsMessage({
    version: protocolVersions.mls10,
    wireFormat: wireFormats.mls_welcome,
    welcome: {
      cipherSuite: SUITE,
      secrets: refs.map((r) => ({ newMember: r, encryptedGroupSecrets: { kemOutput: cs.randomBytes(32), ciphertext: cs.randomBytes(48) } })),
      encryptedGroupInfo: cs.randomBytes(64),
    },
  });
}
