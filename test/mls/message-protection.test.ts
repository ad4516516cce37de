/**
 * message-protection.json (RFC 9420 §6.1–§6.3): for the proposal, commit and application content
 * of each case, unprotect the given PublicMessage/PrivateMessage (sender = leaf 1 of a 2-leaf
 * secret tree), check the content, then protect it ourselves and unprotect it again.
 */
import { expect, it } from "vitest";
import type { CipherSuite } from "../../src/crypto/cipher-suite.js";
import { CryptoError } from "../../src/errors.js";
import { contentTypes, senderTypes, wireFormats } from "../../src/mls/core/protocol.js";
import { signFramedContent, verifyFramedContentSignature } from "../../src/mls/framing/content-auth.js";
import type { ContentBody, FramedContent } from "../../src/mls/framing/framed-content.js";
import { decodeMlsMessage, encodeMlsMessage } from "../../src/mls/framing/mls-message.js";
import { protectPrivateMessage, unprotectPrivateMessage } from "../../src/mls/framing/private-message-protection.js";
import { protectPublicMessage, unprotectPublicMessage } from "../../src/mls/framing/public-message-protection.js";
import { decodeCommit, encodeCommit } from "../../src/mls/messages/commit.js";
import { decodeProposal, encodeProposal } from "../../src/mls/messages/proposal.js";
import { encodeGroupContext } from "../../src/mls/schedule/group-context.js";
import { SecretTree } from "../../src/mls/schedule/secret-tree.js";
import { bytesEqual } from "../../src/util/bytes.js";
import { PROVIDERS } from "../helpers/providers.js";
import { describeVectors, h } from "../helpers/vectors.js";

interface Case {
  cipher_suite: number;
  group_id: string;
  epoch: number;
  tree_hash: string;
  confirmed_transcript_hash: string;
  signature_priv: string;
  signature_pub: string;
  encryption_secret: string;
  sender_data_secret: string;
  membership_key: string;
  proposal: string;
  proposal_pub: string;
  proposal_priv: string;
  commit: string;
  commit_pub: string;
  commit_priv: string;
  application: string;
  application_priv: string;
}

const SENDER = 1;

function setup(cs: CipherSuite, c: Case) {
  const groupContext = encodeGroupContext({
    version: 1,
    cipherSuite: c.cipher_suite,
    groupId: h(c.group_id),
    epoch: BigInt(c.epoch),
    treeHash: h(c.tree_hash),
    confirmedTranscriptHash: h(c.confirmed_transcript_hash),
    extensions: [],
  });
  return {
    groupContext,
    // "Initialize a secret tree for 2 members with the specified encryption_secret"
    newTree: () => new SecretTree(cs, h(c.encryption_secret), 2),
    senderDataSecret: h(c.sender_data_secret),
    membershipKey: h(c.membership_key),
  };
}

function bodyBytes(b: ContentBody): Uint8Array {
  switch (b.contentType) {
    case contentTypes.application:
      return b.applicationData;
    case contentTypes.proposal:
      return encodeProposal(b.proposal);
    case contentTypes.commit:
      return encodeCommit(b.commit);
  }
}

function makeBody(kind: "proposal" | "commit" | "application", hex: string): ContentBody {
  if (kind === "proposal") return { contentType: contentTypes.proposal, proposal: decodeProposal(h(hex)) };
  if (kind === "commit") return { contentType: contentTypes.commit, commit: decodeCommit(h(hex)) };
  return { contentType: contentTypes.application, applicationData: h(hex) };
}

const isMemberLeaf = (leaf: number) => leaf === 0 || leaf === 1;

async function checkCase(cs: CipherSuite, c: Case): Promise<number> {
  const s = setup(cs, c);
  const sigPub = h(c.signature_pub);
  let checks = 0;

  for (const kind of ["proposal", "commit"] as const) {
    const expected = h(c[kind]);
    // PublicMessage: membership tag, signature and content.
    const pubMsg = decodeMlsMessage(h(c[`${kind}_pub`]));
    if (pubMsg.wireFormat !== wireFormats.mls_public_message) throw new Error("expected a PublicMessage");
    const ac = unprotectPublicMessage(cs, pubMsg.publicMessage, s.membershipKey, s.groupContext);
    verifyFramedContentSignature(cs, sigPub, ac, s.groupContext);
    expect(bytesEqual(bodyBytes(ac.content), expected)).toBe(true);
    // A wrong membership key is rejected.
    const badKey = s.membershipKey.slice();
    badKey[0]! ^= 1;
    expect(() => unprotectPublicMessage(cs, pubMsg.publicMessage, badKey, s.groupContext)).toThrow(CryptoError);
    checks++;

    // PrivateMessage.
    const privMsg = decodeMlsMessage(h(c[`${kind}_priv`]));
    if (privMsg.wireFormat !== wireFormats.mls_private_message) throw new Error("expected a PrivateMessage");
    const un = unprotectPrivateMessage({ cs, secretTree: s.newTree(), senderDataSecret: s.senderDataSecret, message: privMsg.privateMessage, isMemberLeaf });
    verifyFramedContentSignature(cs, sigPub, un.content, s.groupContext);
    expect(un.content.content.sender).toEqual({ senderType: senderTypes.member, leafIndex: SENDER });
    expect(bytesEqual(bodyBytes(un.content.content), expected)).toBe(true);
    checks++;
  }

  const app = decodeMlsMessage(h(c.application_priv));
  if (app.wireFormat !== wireFormats.mls_private_message) throw new Error("expected a PrivateMessage");
  const appUn = unprotectPrivateMessage({ cs, secretTree: s.newTree(), senderDataSecret: s.senderDataSecret, message: app.privateMessage, isMemberLeaf });
  verifyFramedContentSignature(cs, sigPub, appUn.content, s.groupContext);
  expect(bytesEqual(bodyBytes(appUn.content.content), h(c.application))).toBe(true);
  checks++;

  // Protect ourselves, then unprotect: PublicMessage for proposal/commit, PrivateMessage for all three.
  const sigPriv = h(c.signature_priv);
  for (const kind of ["proposal", "commit", "application"] as const) {
    const content: FramedContent = {
      groupId: h(c.group_id),
      epoch: BigInt(c.epoch),
      sender: { senderType: senderTypes.member, leafIndex: SENDER },
      authenticatedData: new Uint8Array([1, 2, 3]),
      ...makeBody(kind, c[kind]),
    };
    const tag = kind === "commit" ? () => cs.mac(s.membershipKey, new Uint8Array(1)) : undefined;
    if (kind !== "application") {
      const ac = signFramedContent({ cs, signaturePrivateKey: sigPriv, wireFormat: wireFormats.mls_public_message, content, groupContext: s.groupContext, confirmationTag: tag });
      const pm = protectPublicMessage(cs, ac, s.membershipKey, s.groupContext);
      const wire = encodeMlsMessage({ version: 1, wireFormat: wireFormats.mls_public_message, publicMessage: pm });
      const back = decodeMlsMessage(wire);
      if (back.wireFormat !== wireFormats.mls_public_message) throw new Error("round trip changed the wire format");
      const ac2 = unprotectPublicMessage(cs, back.publicMessage, s.membershipKey, s.groupContext);
      verifyFramedContentSignature(cs, sigPub, ac2, s.groupContext);
      expect(bytesEqual(bodyBytes(ac2.content), h(c[kind]))).toBe(true);
      checks++;
    }
    const senderTree = s.newTree();
    const receiverTree = s.newTree();
    const ac = signFramedContent({ cs, signaturePrivateKey: sigPriv, wireFormat: wireFormats.mls_private_message, content, groupContext: s.groupContext, confirmationTag: tag });
    for (let i = 0; i < 2; i++) {
      const pm = protectPrivateMessage({ cs, secretTree: senderTree, senderDataSecret: s.senderDataSecret, content: ac });
      const wire = encodeMlsMessage({ version: 1, wireFormat: wireFormats.mls_private_message, privateMessage: pm });
      const back = decodeMlsMessage(wire);
      if (back.wireFormat !== wireFormats.mls_private_message) throw new Error("round trip changed the wire format");
      const un2 = unprotectPrivateMessage({ cs, secretTree: receiverTree, senderDataSecret: s.senderDataSecret, message: back.privateMessage, isMemberLeaf });
      expect(un2.generation).toBe(i);
      verifyFramedContentSignature(cs, sigPub, un2.content, s.groupContext);
      expect(bytesEqual(bodyBytes(un2.content.content), h(c[kind]))).toBe(true);
      expect(un2.content.content.authenticatedData).toEqual(new Uint8Array([1, 2, 3]));
      // Replaying the same ciphertext fails: its key was deleted after use (RFC 9420 §9.2).
      expect(() =>
        unprotectPrivateMessage({ cs, secretTree: receiverTree, senderDataSecret: s.senderDataSecret, message: back.privateMessage, isMemberLeaf }),
      ).toThrow(/already used/);
      checks++;
    }
  }
  return checks;
}

describeVectors<Case>("message-protection", (cases) => {
  for (const p of PROVIDERS) {
    for (const c of cases) {
      it(`${p.name} suite ${c.cipher_suite}`, async () => {
        const n = await checkCase(p.suite(c.cipher_suite), c);
        expect(n).toBe(13);
      });
    }
  }
});
