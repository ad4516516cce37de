/**
 * Valid encodings of every wire struct, for the fuzz tests to mutate: a hand-built fixture set
 * (always present) plus sub-structures cut out of messages.json when the vectors are available.
 */
import { encodeApplicationId } from "../../src/mls/core/application-id.js";
import { encodeCapabilities } from "../../src/mls/core/capabilities.js";
import { encodeCredential, type Credential } from "../../src/mls/core/credential.js";
import { encodeExternalPub } from "../../src/mls/core/external-pub.js";
import { encodeExternalSenders } from "../../src/mls/core/external-senders.js";
import { encodeHpkeCiphertext, type HpkeCiphertext } from "../../src/mls/core/hpke-ciphertext.js";
import { encodeLifetime } from "../../src/mls/core/lifetime.js";
import type { PreSharedKeyId } from "../../src/mls/core/pre-shared-key-id.js";
import {
  contentTypes,
  credentialTypes,
  leafNodeSources,
  proposalOrRefTypes,
  proposalTypes,
  senderTypes,
  wireFormats,
} from "../../src/mls/core/protocol.js";
import { encodeRequiredCapabilities } from "../../src/mls/core/required-capabilities.js";
import {
  encodeAuthenticatedContent,
  encodeFramedContent,
  type FramedContent,
} from "../../src/mls/framing/framed-content.js";
import { decodeMlsMessage, encodeMlsMessage, type MlsMessage } from "../../src/mls/framing/mls-message.js";
import {
  encodePrivateContentAad,
  encodePrivateMessage,
  encodePrivateMessageContent,
  encodeSenderData,
  encodeSenderDataAad,
  type PrivateMessage,
} from "../../src/mls/framing/private-message.js";
import { encodePublicMessage, type PublicMessage } from "../../src/mls/framing/public-message.js";
import { encodeSender, type Sender } from "../../src/mls/framing/sender.js";
import { decodeCommit, encodeCommit, type Commit } from "../../src/mls/messages/commit.js";
import { encodeGroupInfo, type GroupInfo } from "../../src/mls/messages/group-info.js";
import { encodeKeyPackage, type KeyPackage } from "../../src/mls/messages/key-package.js";
import { encodeProposal, type Proposal } from "../../src/mls/messages/proposal.js";
import { encodeGroupSecrets, encodeWelcome, type GroupSecrets } from "../../src/mls/messages/welcome.js";
import { encodeLeafNode, type LeafNode } from "../../src/mls/tree/leaf-node.js";
import { encodeParentNode, type ParentNode } from "../../src/mls/tree/parent-node.js";
import { decodeRatchetTree, encodeRatchetTree, type RatchetTree } from "../../src/mls/tree/ratchet-tree.js";
import { encodeUpdatePath, type UpdatePath } from "../../src/mls/tree/update-path.js";
import { fromHex } from "../../src/util/bytes.js";
import { loadVectors } from "../helpers/vectors.js";

/** Names of the sample pools, one per decoder (PrivateMessageContent has one per content type). */
export type SampleKind =
  | "Credential"
  | "Capabilities"
  | "Lifetime"
  | "HpkeCiphertext"
  | "RequiredCapabilities"
  | "ExternalSenders"
  | "ApplicationId"
  | "ExternalPub"
  | "LeafNode"
  | "ParentNode"
  | "RatchetTree"
  | "UpdatePath"
  | "KeyPackage"
  | "Add"
  | "Update"
  | "Remove"
  | "PreSharedKey"
  | "ReInit"
  | "ExternalInit"
  | "GroupContextExtensions"
  | "Proposal"
  | "Commit"
  | "GroupSecrets"
  | "Welcome"
  | "GroupInfo"
  | "Sender"
  | "FramedContent"
  | "AuthenticatedContent"
  | "PublicMessage"
  | "PrivateMessage"
  | "SenderData"
  | "SenderDataAAD"
  | "PrivateContentAAD"
  | "PrivateMessageContent/application"
  | "PrivateMessageContent/proposal"
  | "PrivateMessageContent/commit"
  | "MLSMessage";

type Pools = Map<SampleKind, Uint8Array[]>;

const b = (n: number, fill = 0x11): Uint8Array => new Uint8Array(n).fill(fill);
const u16 = (n: number): Uint8Array => new Uint8Array([n >> 8, n & 0xff]);
const withType = (t: number, body: Uint8Array): Uint8Array => {
  const out = new Uint8Array(body.length + 2);
  out.set(u16(t));
  out.set(body, 2);
  return out;
};

function addPool(pools: Pools, kind: SampleKind, bytes: Uint8Array): void {
  let list = pools.get(kind);
  if (list === undefined) pools.set(kind, (list = []));
  list.push(bytes);
}

// --- collectors: record a struct and everything inside it ------------------------------------------

function addCredential(p: Pools, c: Credential): void {
  addPool(p, "Credential", encodeCredential(c));
}

function addLeafNode(p: Pools, l: LeafNode): void {
  addPool(p, "LeafNode", encodeLeafNode(l));
  addPool(p, "Update", encodeLeafNode(l));
  addCredential(p, l.credential);
  addPool(p, "Capabilities", encodeCapabilities(l.capabilities));
  if (l.leafNodeSource === leafNodeSources.key_package) addPool(p, "Lifetime", encodeLifetime(l.lifetime));
  addPool(p, "ExternalSenders", encodeExternalSenders([{ signatureKey: l.signatureKey, credential: l.credential }]));
}

function addKeyPackage(p: Pools, kp: KeyPackage): void {
  addPool(p, "KeyPackage", encodeKeyPackage(kp));
  addPool(p, "Add", encodeKeyPackage(kp));
  addLeafNode(p, kp.leafNode);
}

function addUpdatePath(p: Pools, up: UpdatePath): void {
  addPool(p, "UpdatePath", encodeUpdatePath(up));
  addLeafNode(p, up.leafNode);
  for (const n of up.nodes) for (const ct of n.encryptedPathSecret) addPool(p, "HpkeCiphertext", encodeHpkeCiphertext(ct));
}

function addProposal(p: Pools, prop: Proposal): void {
  const bytes = encodeProposal(prop);
  addPool(p, "Proposal", bytes);
  const body = bytes.subarray(2);
  switch (prop.proposalType) {
    case proposalTypes.add:
      return addKeyPackage(p, prop.add.keyPackage);
    case proposalTypes.update:
      return addLeafNode(p, prop.update.leafNode);
    case proposalTypes.remove:
      return addPool(p, "Remove", body);
    case proposalTypes.psk:
      return addPool(p, "PreSharedKey", body);
    case proposalTypes.reinit:
      return addPool(p, "ReInit", body);
    case proposalTypes.external_init:
      return addPool(p, "ExternalInit", body);
    case proposalTypes.group_context_extensions:
      return addPool(p, "GroupContextExtensions", body);
  }
}

function addCommit(p: Pools, c: Commit): void {
  addPool(p, "Commit", encodeCommit(c));
  for (const por of c.proposals) if (por.type === proposalOrRefTypes.proposal) addProposal(p, por.proposal);
  if (c.path) addUpdatePath(p, c.path);
}

function addTree(p: Pools, tree: RatchetTree): void {
  addPool(p, "RatchetTree", encodeRatchetTree(tree));
  for (const n of tree.slice(0, 7)) {
    if (n === null) continue;
    if (n.nodeType === 1) addLeafNode(p, n.leafNode);
    else addPool(p, "ParentNode", encodeParentNode(n.parentNode));
  }
}

function addFramedContent(p: Pools, fc: FramedContent, auth: PublicMessage["auth"]): void {
  addPool(p, "FramedContent", encodeFramedContent(fc));
  addPool(p, "Sender", encodeSender(fc.sender));
  addPool(p, "AuthenticatedContent", encodeAuthenticatedContent({ wireFormat: wireFormats.mls_public_message, content: fc, auth }));
  const { groupId: _g, epoch: _e, sender: _s, authenticatedData: _a, ...body } = fc;
  const kind = `PrivateMessageContent/${(["", "application", "proposal", "commit"] as const)[fc.contentType]}` as SampleKind;
  addPool(p, kind, encodePrivateMessageContent({ ...body, auth, paddingLength: 0 }));
  addPool(p, kind, encodePrivateMessageContent({ ...body, auth, paddingLength: 17 }));
  if (fc.contentType === contentTypes.proposal) addProposal(p, fc.proposal);
  if (fc.contentType === contentTypes.commit) addCommit(p, fc.commit);
}

function addPrivateMessage(p: Pools, pm: PrivateMessage): void {
  addPool(p, "PrivateMessage", encodePrivateMessage(pm));
  addPool(p, "SenderDataAAD", encodeSenderDataAad(pm));
  addPool(p, "PrivateContentAAD", encodePrivateContentAad(pm));
}

function addMlsMessage(p: Pools, m: MlsMessage): void {
  addPool(p, "MLSMessage", encodeMlsMessage(m));
  switch (m.wireFormat) {
    case wireFormats.mls_public_message:
      addPool(p, "PublicMessage", encodePublicMessage(m.publicMessage));
      return addFramedContent(p, m.publicMessage.content, m.publicMessage.auth);
    case wireFormats.mls_private_message:
      return addPrivateMessage(p, m.privateMessage);
    case wireFormats.mls_welcome:
      addPool(p, "Welcome", encodeWelcome(m.welcome));
      for (const s of m.welcome.secrets) addPool(p, "HpkeCiphertext", encodeHpkeCiphertext(s.encryptedGroupSecrets));
      return;
    case wireFormats.mls_group_info:
      addPool(p, "GroupInfo", encodeGroupInfo(m.groupInfo));
      for (const e of [...m.groupInfo.extensions, ...m.groupInfo.groupContext.extensions]) {
        if (e.extensionType === 4) addPool(p, "ExternalPub", e.extensionData);
        if (e.extensionType === 3) addPool(p, "RequiredCapabilities", e.extensionData);
        if (e.extensionType === 5) addPool(p, "ExternalSenders", e.extensionData);
      }
      return;
    case wireFormats.mls_key_package:
      return addKeyPackage(p, m.keyPackage);
  }
}

// --- fixtures ----------------------------------------------------------------------------------------

function fixtures(p: Pools): void {
  const basic: Credential = { credentialType: credentialTypes.basic, identity: new TextEncoder().encode("alice@example.org") };
  const x509: Credential = { credentialType: credentialTypes.x509, certificates: [b(80, 0x30), b(3, 0x31)] };
  const capabilities = { versions: [1, 0x0a0a], cipherSuites: [1, 2, 3], extensions: [0x000a], proposals: [0x1a1a], credentials: [1, 2] };
  const common = {
    encryptionKey: b(32, 1),
    signatureKey: b(32, 2),
    capabilities,
    extensions: [{ extensionType: 0x0a0a, extensionData: b(3) }],
    signature: b(64, 3),
  };
  const lifetime = { notBefore: 0n, notAfter: 0xffffffffffffffffn };
  const kpLeaf: LeafNode = { ...common, credential: basic, leafNodeSource: leafNodeSources.key_package, lifetime };
  const updLeaf: LeafNode = { ...common, credential: x509, leafNodeSource: leafNodeSources.update };
  const commitLeaf: LeafNode = { ...common, credential: basic, leafNodeSource: leafNodeSources.commit, parentHash: b(32, 4) };
  const parent: ParentNode = { encryptionKey: b(32, 5), parentHash: b(0), unmergedLeaves: [1, 3] };
  const ct: HpkeCiphertext = { kemOutput: b(32, 6), ciphertext: b(48, 7) };
  const path: UpdatePath = {
    leafNode: commitLeaf,
    nodes: [
      { encryptionKey: b(32, 8), encryptedPathSecret: [ct, ct] },
      { encryptionKey: b(32, 9), encryptedPathSecret: [] },
    ],
  };
  const kp: KeyPackage = { version: 1, cipherSuite: 1, initKey: b(32, 10), leafNode: kpLeaf, extensions: [], signature: b(64, 11) };
  const extPsk: PreSharedKeyId = { psktype: 1, pskId: b(8, 12), pskNonce: b(32, 13) };
  const resPsk: PreSharedKeyId = { psktype: 2, usage: 1, pskGroupId: b(4, 14), pskEpoch: 7n, pskNonce: b(32, 15) };
  const proposals: Proposal[] = [
    { proposalType: proposalTypes.add, add: { keyPackage: kp } },
    { proposalType: proposalTypes.update, update: { leafNode: updLeaf } },
    { proposalType: proposalTypes.remove, remove: { removed: 5 } },
    { proposalType: proposalTypes.psk, psk: { psk: extPsk } },
    { proposalType: proposalTypes.psk, psk: { psk: resPsk } },
    { proposalType: proposalTypes.reinit, reinit: { groupId: b(16, 16), version: 1, cipherSuite: 2, extensions: [] } },
    { proposalType: proposalTypes.external_init, externalInit: { kemOutput: b(32, 17) } },
    {
      proposalType: proposalTypes.group_context_extensions,
      groupContextExtensions: { extensions: [{ extensionType: 3, extensionData: b(4, 0) }] },
    },
  ];
  const commit: Commit = {
    proposals: [
      ...proposals.map((proposal) => ({ type: proposalOrRefTypes.proposal, proposal }) as const),
      { type: proposalOrRefTypes.reference, reference: b(32, 18) },
    ],
    path,
  };
  const tree: RatchetTree = [
    { nodeType: 1, leafNode: kpLeaf },
    { nodeType: 2, parentNode: parent },
    null,
    null,
    { nodeType: 1, leafNode: commitLeaf },
  ];
  const groupSecrets: GroupSecrets[] = [
    { joinerSecret: b(32, 19), pathSecret: b(32, 20), psks: [extPsk, resPsk] },
    { joinerSecret: b(32, 19), pathSecret: null, psks: [] },
  ];
  const groupContext = {
    version: 1,
    cipherSuite: 1,
    groupId: b(16, 21),
    epoch: 9n,
    treeHash: b(32, 22),
    confirmedTranscriptHash: b(32, 23),
    extensions: [{ extensionType: 5, extensionData: encodeExternalSenders([{ signatureKey: b(32), credential: basic }]) }],
  };
  const groupInfo: GroupInfo = {
    groupContext,
    extensions: [{ extensionType: 4, extensionData: encodeExternalPub({ externalPub: b(32, 24) }) }],
    confirmationTag: b(32, 25),
    signer: 3,
    signature: b(64, 26),
  };
  const senders: Sender[] = [
    { senderType: senderTypes.member, leafIndex: 4 },
    { senderType: senderTypes.external, senderIndex: 0 },
    { senderType: senderTypes.new_member_proposal },
    { senderType: senderTypes.new_member_commit },
  ];
  const header = { groupId: b(16, 21), epoch: 9n, authenticatedData: b(5, 27) };
  const contents: FramedContent[] = [
    { ...header, sender: senders[0]!, contentType: contentTypes.application, applicationData: b(100, 28) },
    { ...header, sender: senders[1]!, contentType: contentTypes.proposal, proposal: proposals[2]! },
    { ...header, sender: senders[2]!, contentType: contentTypes.proposal, proposal: proposals[0]! },
    { ...header, sender: senders[3]!, contentType: contentTypes.commit, commit },
    { ...header, sender: senders[0]!, contentType: contentTypes.commit, commit: { proposals: [], path: null } },
  ];
  const privateMessage: PrivateMessage = { ...header, contentType: contentTypes.application, encryptedSenderData: b(28, 29), ciphertext: b(120, 30) };
  const messages: MlsMessage[] = [
    { version: 1, wireFormat: wireFormats.mls_private_message, privateMessage },
    {
      version: 1,
      wireFormat: wireFormats.mls_welcome,
      welcome: { cipherSuite: 1, secrets: [{ newMember: b(32, 31), encryptedGroupSecrets: ct }], encryptedGroupInfo: b(200, 32) },
    },
    { version: 1, wireFormat: wireFormats.mls_group_info, groupInfo },
    { version: 1, wireFormat: wireFormats.mls_key_package, keyPackage: kp },
  ];
  for (const content of contents) {
    const auth = content.contentType === contentTypes.commit ? { signature: b(64, 33), confirmationTag: b(32, 34) } : { signature: b(64, 33) };
    const publicMessage = content.sender.senderType === senderTypes.member ? { content, auth, membershipTag: b(32, 35) } : { content, auth };
    messages.push({ version: 1, wireFormat: wireFormats.mls_public_message, publicMessage });
  }

  for (const m of messages) addMlsMessage(p, m);
  addCommit(p, commit);
  addTree(p, tree);
  for (const gs of groupSecrets) addPool(p, "GroupSecrets", encodeGroupSecrets(gs));
  addPool(p, "SenderData", encodeSenderData({ leafIndex: 3, generation: 1000, reuseGuard: b(4, 36) }));
  addPool(p, "ApplicationId", encodeApplicationId(b(20, 37)));
  addPool(p, "ApplicationId", encodeApplicationId(b(0)));
  addPool(p, "RequiredCapabilities", encodeRequiredCapabilities({ extensionTypes: [0x000a], proposalTypes: [], credentialTypes: [1, 2] }));
}

// --- from messages.json ------------------------------------------------------------------------------

interface MessagesCase {
  readonly [field: string]: string;
}

const MLS_MESSAGE_FIELDS = [
  "mls_welcome",
  "mls_group_info",
  "mls_key_package",
  "public_message_application",
  "public_message_proposal",
  "public_message_commit",
  "private_message",
] as const;

/** How many vector cases to mine: enough variety, small enough to keep fast-check's shrinking cheap. */
const VECTOR_CASES = 25;

function fromVectors(p: Pools): void {
  const cases = loadVectors<MessagesCase>("messages");
  if (cases === undefined) return;
  for (const c of cases.slice(0, VECTOR_CASES)) {
    for (const f of MLS_MESSAGE_FIELDS) addMlsMessage(p, decodeMlsMessage(fromHex(c[f]!)));
    addTree(p, decodeRatchetTree(fromHex(c.ratchet_tree!)));
    addCommit(p, decodeCommit(fromHex(c.commit!)));
    addPool(p, "GroupSecrets", fromHex(c.group_secrets!));
    const bare: [string, number][] = [
      ["add_proposal", proposalTypes.add],
      ["update_proposal", proposalTypes.update],
      ["remove_proposal", proposalTypes.remove],
      ["pre_shared_key_proposal", proposalTypes.psk],
      ["re_init_proposal", proposalTypes.reinit],
      ["external_init_proposal", proposalTypes.external_init],
      ["group_context_extensions_proposal", proposalTypes.group_context_extensions],
    ];
    for (const [f, t] of bare) addPool(p, "Proposal", withType(t, fromHex(c[f]!)));
  }
}

let cached: Pools | undefined;

/** Every pool, built once. Each pool holds at least the fixtures. */
export function samplePools(): Pools {
  if (cached === undefined) {
    cached = new Map();
    fixtures(cached);
    fromVectors(cached);
  }
  return cached;
}

export function samplesOf(kind: SampleKind): Uint8Array[] {
  const list = samplePools().get(kind);
  if (list === undefined || list.length === 0) throw new Error(`no samples for ${kind}`);
  return list;
}
