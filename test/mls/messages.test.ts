/**
 * RFC 9420 wire structs against messages.json: every field of every case is decoded with its
 * decoder and re-encoded byte for byte (mlswg test-vectors.md, "Messages"). No crypto involved.
 * Then edge cases of the select-dependent fields that the vectors do not reach.
 */
import { describe, expect, it } from "vitest";
import { encodeSignContent, signContentWith } from "../../src/crypto/labeled.js";
import { nativeProvider } from "../../src/crypto/native/index.js";
import { Writer } from "../../src/codec/writer.js";
import { CodecError, UsageError } from "../../src/errors.js";
import { decodeCredential, encodeCredential } from "../../src/mls/core/credential.js";
import { decodeExternalSenders, encodeExternalSenders } from "../../src/mls/core/external-senders.js";
import { contentTypes, credentialTypes, leafNodeSources, proposalTypes, senderTypes, wireFormats } from "../../src/mls/core/protocol.js";
import {
  decodeAuthenticatedContent,
  encodeAuthenticatedContent,
  encodeConfirmedTranscriptHashInput,
  encodeFramedContent,
  encodeFramedContentTbs,
  confirmedTranscriptHashInput,
  framedContentOf,
  framedContentSizeHint,
  framedContentTbsSizeHint,
  writeFramedContentTbs,
  type ContentBody,
  type FramedContent,
} from "../../src/mls/framing/framed-content.js";
import { decodeMlsMessage, encodeMlsMessage, type MlsMessage } from "../../src/mls/framing/mls-message.js";
import {
  decodePrivateMessageContent,
  encodePrivateMessageContent,
  encodeSenderData,
} from "../../src/mls/framing/private-message.js";
import {
  decodePublicMessage,
  encodeAuthenticatedContentTbm,
  encodePublicMessage,
  type PublicMessage,
} from "../../src/mls/framing/public-message.js";
import { commitSizeHint, decodeCommit, encodeCommit } from "../../src/mls/messages/commit.js";
import { encodeGroupInfo, encodeGroupInfoTbs } from "../../src/mls/messages/group-info.js";
import { encodeKeyPackage, encodeKeyPackageTbs } from "../../src/mls/messages/key-package.js";
import {
  decodeAdd,
  decodeExternalInit,
  decodeGroupContextExtensions,
  decodePreSharedKey,
  decodeProposal,
  decodeReInit,
  decodeRemove,
  decodeUpdate,
  encodeAdd,
  encodeExternalInit,
  encodeGroupContextExtensions,
  encodePreSharedKey,
  encodeProposal,
  encodeReInit,
  encodeRemove,
  encodeUpdate,
} from "../../src/mls/messages/proposal.js";
import { decodeGroupSecrets, decodeWelcome, encodeGroupSecrets, encodeWelcome, findEncryptedGroupSecrets, welcomeNewMembers, type Welcome } from "../../src/mls/messages/welcome.js";
import { confirmedTranscriptHash } from "../../src/mls/schedule/transcript-hash.js";
import { encodeLeafNode, encodeLeafNodeTbs, type LeafNode } from "../../src/mls/tree/leaf-node.js";
import { decodeRatchetTree, encodeRatchetTree } from "../../src/mls/tree/ratchet-tree.js";
import { encodeUpdatePath, updatePathSizeHint } from "../../src/mls/tree/update-path.js";
import { concat, toHex } from "../../src/util/bytes.js";
import { describeVectors, h } from "../helpers/vectors.js";

type Field =
  | "mls_welcome"
  | "mls_group_info"
  | "mls_key_package"
  | "ratchet_tree"
  | "group_secrets"
  | "add_proposal"
  | "update_proposal"
  | "remove_proposal"
  | "pre_shared_key_proposal"
  | "re_init_proposal"
  | "external_init_proposal"
  | "group_context_extensions_proposal"
  | "commit"
  | "public_message_application"
  | "public_message_proposal"
  | "public_message_commit"
  | "private_message";

type MessagesCase = Record<Field, string>;

/** Decode, check what the field must be, and re-encode. */
interface Codec {
  readonly roundTrip: (bytes: Uint8Array) => Uint8Array;
  /** The Proposal type of a bare proposal body, to also check the Proposal union form. */
  readonly proposalType?: number;
}

function mlsMessage(wireFormat: number, check?: (m: MlsMessage) => void): Codec {
  return {
    roundTrip: (b) => {
      const m = decodeMlsMessage(b);
      expect(m.wireFormat).toBe(wireFormat);
      check?.(m);
      return encodeMlsMessage(m);
    },
  };
}

function publicContent(m: MlsMessage): FramedContent {
  if (m.wireFormat !== wireFormats.mls_public_message) throw new Error("not a PublicMessage");
  return m.publicMessage.content;
}

const FIELDS: Record<Field, Codec> = {
  mls_welcome: mlsMessage(wireFormats.mls_welcome),
  mls_group_info: mlsMessage(wireFormats.mls_group_info),
  mls_key_package: mlsMessage(wireFormats.mls_key_package),
  ratchet_tree: { roundTrip: (b) => encodeRatchetTree(decodeRatchetTree(b)) },
  group_secrets: { roundTrip: (b) => encodeGroupSecrets(decodeGroupSecrets(b)) },
  add_proposal: { roundTrip: (b) => encodeAdd(decodeAdd(b)), proposalType: proposalTypes.add },
  update_proposal: { roundTrip: (b) => encodeUpdate(decodeUpdate(b)), proposalType: proposalTypes.update },
  remove_proposal: { roundTrip: (b) => encodeRemove(decodeRemove(b)), proposalType: proposalTypes.remove },
  pre_shared_key_proposal: { roundTrip: (b) => encodePreSharedKey(decodePreSharedKey(b)), proposalType: proposalTypes.psk },
  re_init_proposal: { roundTrip: (b) => encodeReInit(decodeReInit(b)), proposalType: proposalTypes.reinit },
  external_init_proposal: { roundTrip: (b) => encodeExternalInit(decodeExternalInit(b)), proposalType: proposalTypes.external_init },
  group_context_extensions_proposal: {
    roundTrip: (b) => encodeGroupContextExtensions(decodeGroupContextExtensions(b)),
    proposalType: proposalTypes.group_context_extensions,
  },
  commit: { roundTrip: (b) => encodeCommit(decodeCommit(b)) },
  public_message_application: mlsMessage(wireFormats.mls_public_message, (m) =>
    expect(publicContent(m).contentType).toBe(contentTypes.application),
  ),
  public_message_proposal: mlsMessage(wireFormats.mls_public_message, (m) =>
    expect(publicContent(m).contentType).toBe(contentTypes.proposal),
  ),
  public_message_commit: mlsMessage(wireFormats.mls_public_message, (m) => expect(publicContent(m).contentType).toBe(contentTypes.commit)),
  private_message: mlsMessage(wireFormats.mls_private_message),
};

const u16 = (n: number): Uint8Array => new Uint8Array([n >> 8, n & 0xff]);

describeVectors<MessagesCase>("messages", (cases) => {
  for (const [field, codec] of Object.entries(FIELDS) as [Field, Codec][]) {
    describe(field, () => {
      cases.forEach((c, i) => {
        it(`case ${i}`, () => {
          const bytes = h(c[field]);
          expect(toHex(codec.roundTrip(bytes))).toBe(c[field]);
          if (codec.proposalType !== undefined) {
            // The same body inside the Proposal union (RFC 9420 §12.1).
            const asProposal = concat(u16(codec.proposalType), bytes);
            const p = decodeProposal(asProposal);
            expect(p.proposalType).toBe(codec.proposalType);
            expect(toHex(encodeProposal(p))).toBe(toHex(asProposal));
          }
        });
      });
    });
  }
});

// --- edge cases the vectors do not reach ----------------------------------------------------------

const basic = { credentialType: credentialTypes.basic, identity: new Uint8Array([0x61]) } as const;
const caps = { versions: [1], cipherSuites: [1], extensions: [], proposals: [], credentials: [1] };
const leaf: LeafNode = {
  encryptionKey: new Uint8Array([1]),
  signatureKey: new Uint8Array([2]),
  credential: basic,
  capabilities: caps,
  leafNodeSource: leafNodeSources.update,
  extensions: [],
  signature: new Uint8Array([3]),
};

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof CodecError || e instanceof UsageError) return e.code;
    throw e;
  }
  return "no error";
}

describe("select edge cases", () => {
  it("an unknown proposal type fails with codec.bad_enum", () => {
    expect(codeOf(() => decodeProposal(new Uint8Array([0x0a, 0x0a, 0x00])))).toBe("codec.bad_enum");
  });

  it("an unknown credential type fails with codec.bad_enum; x509 round-trips", () => {
    expect(codeOf(() => decodeCredential(new Uint8Array([0x00, 0x03, 0x01, 0x00])))).toBe("codec.bad_enum");
    const x509 = { credentialType: credentialTypes.x509, certificates: [new Uint8Array([1, 2]), new Uint8Array(70)] } as const;
    const bytes = encodeCredential(x509);
    expect(decodeCredential(bytes)).toEqual(x509);
    expect(toHex(bytes.subarray(0, 5))).toBe("0002404b02"); // type 2, a 75-byte vector (two-byte header), the first cert_data length
  });

  it("external senders round-trip", () => {
    const list = [{ signatureKey: new Uint8Array([9, 9]), credential: basic }];
    expect(decodeExternalSenders(encodeExternalSenders(list))).toEqual(list);
  });

  it("LeafNodeTBS appends group_id and leaf_index for update/commit leaves only", () => {
    const { signature: _s, ...content } = leaf;
    const body = encodeLeafNode(leaf).subarray(0, -2); // drop opaque signature<V> (1-byte header + 1 byte)
    expect(toHex(encodeLeafNodeTbs(content, { groupId: new Uint8Array([7]), leafIndex: 5 }))).toBe(toHex(body) + "010700000005");
    expect(codeOf(() => encodeLeafNodeTbs(content))).toBe("usage.missing_group_context");
    const kpLeaf = { ...content, leafNodeSource: leafNodeSources.key_package, lifetime: { notBefore: 0n, notAfter: 1n } } as const;
    expect(encodeLeafNodeTbs(kpLeaf, { groupId: new Uint8Array([7]), leafIndex: 5 })).toEqual(encodeLeafNodeTbs(kpLeaf));
  });

  it("KeyPackageTBS and GroupInfoTBS are the struct minus the trailing signature", () => {
    const kpLeaf = { ...leaf, leafNodeSource: leafNodeSources.key_package, lifetime: { notBefore: 0n, notAfter: 1n } } as const;
    const kp = { version: 1, cipherSuite: 1, initKey: new Uint8Array([4]), leafNode: kpLeaf, extensions: [], signature: new Uint8Array(80) };
    const full = encodeKeyPackage(kp);
    expect(toHex(encodeKeyPackageTbs(kp))).toBe(toHex(full.subarray(0, full.length - 82)));
    const gc = {
      version: 1,
      cipherSuite: 1,
      groupId: new Uint8Array([1]),
      epoch: 3n,
      treeHash: new Uint8Array(32),
      confirmedTranscriptHash: new Uint8Array(32),
      extensions: [],
    };
    const gi = { groupContext: gc, extensions: [], confirmationTag: new Uint8Array(32), signer: 0, signature: new Uint8Array([5]) };
    const giBytes = encodeGroupInfo(gi);
    expect(toHex(encodeGroupInfoTbs(gi))).toBe(toHex(giBytes.subarray(0, giBytes.length - 2)));
  });

  const content: FramedContent = {
    groupId: new Uint8Array([0xaa]),
    epoch: 1n,
    sender: { senderType: senderTypes.member, leafIndex: 2 },
    authenticatedData: new Uint8Array(0),
    contentType: contentTypes.application,
    applicationData: new Uint8Array([1, 2, 3]),
  };
  const { contentType: _t, applicationData: _a, ...header } = content;
  const commitContent: FramedContent = { ...header, contentType: contentTypes.commit, commit: { proposals: [], path: null } };

  it("FramedContentAuthData carries confirmation_tag for commits only", () => {
    const auth = { signature: new Uint8Array([1]), confirmationTag: new Uint8Array([2]) };
    const ac = { wireFormat: wireFormats.mls_public_message, content: commitContent, auth };
    const bytes = encodeAuthenticatedContent(ac);
    expect(decodeAuthenticatedContent(bytes)).toEqual(ac);
    expect(toHex(bytes.subarray(-4))).toBe("01010102");
    expect(codeOf(() => encodeAuthenticatedContent({ ...ac, auth: { signature: new Uint8Array([1]) } }))).toBe("usage.confirmation_tag_mismatch");
    expect(codeOf(() => encodeAuthenticatedContent({ ...ac, content }))).toBe("usage.confirmation_tag_mismatch");
    // wire_format || content || signature
    expect(toHex(encodeConfirmedTranscriptHashInput(ac))).toBe("0001" + toHex(encodeFramedContent(commitContent)) + "0101");
    expect(codeOf(() => encodeConfirmedTranscriptHashInput({ ...ac, content, auth: { signature: new Uint8Array(1) } }))).toBe("usage.not_a_commit");
  });

  it("FramedContentTBS includes the GroupContext exactly for member and new_member_commit senders", () => {
    const gc = new Uint8Array([0xc0, 0xc1]);
    const tbs = encodeFramedContentTbs({ wireFormat: wireFormats.mls_private_message, content, groupContext: gc });
    expect(toHex(tbs)).toBe("00010002" + toHex(encodeFramedContent(content)) + "c0c1");
    expect(codeOf(() => encodeFramedContentTbs({ wireFormat: 1, content }))).toBe("usage.group_context_mismatch");
    const ext = { ...content, sender: { senderType: senderTypes.external, senderIndex: 0 } } as const;
    expect(toHex(encodeFramedContentTbs({ wireFormat: 1, content: ext }))).toBe("00010001" + toHex(encodeFramedContent(ext)));
    expect(codeOf(() => encodeFramedContentTbs({ wireFormat: 1, content: ext, groupContext: gc }))).toBe("usage.group_context_mismatch");
  });

  it("PublicMessage: membership_tag exactly for members; TBM = TBS || auth", () => {
    const pm: PublicMessage = { content, auth: { signature: new Uint8Array([1]) }, membershipTag: new Uint8Array([2]) };
    const msg: MlsMessage = { version: 1, wireFormat: wireFormats.mls_public_message, publicMessage: pm };
    expect(decodeMlsMessage(encodeMlsMessage(msg))).toEqual(msg);
    expect(codeOf(() => encodePublicMessage({ content, auth: pm.auth }))).toBe("usage.membership_tag_mismatch");
    const ext: FramedContent = {
      ...header,
      sender: { senderType: senderTypes.external, senderIndex: 0 },
      contentType: contentTypes.proposal,
      proposal: { proposalType: proposalTypes.remove, remove: { removed: 1 } },
    };
    const withTag = { content: ext, auth: pm.auth, membershipTag: new Uint8Array(1) };
    expect(codeOf(() => encodePublicMessage(withTag))).toBe("usage.membership_tag_mismatch");
    expect(decodePublicMessage(encodePublicMessage({ content: ext, auth: pm.auth }))).toEqual({ content: ext, auth: pm.auth });
    const gc = new Uint8Array([0xc0]);
    const tbs = encodeFramedContentTbs({ wireFormat: wireFormats.mls_public_message, content, groupContext: gc });
    expect(toHex(encodeAuthenticatedContentTbm(pm, gc))).toBe(toHex(tbs) + "0101");
  });

  it("PrivateMessageContent: zero padding round-trips, a non-zero padding byte is rejected", () => {
    const pmc = {
      contentType: contentTypes.application,
      applicationData: new Uint8Array([7]),
      auth: { signature: new Uint8Array([1]) },
      paddingLength: 5,
    } as const;
    const bytes = encodePrivateMessageContent(pmc);
    expect(toHex(bytes)).toBe("0107" + "0101" + "0000000000");
    expect(decodePrivateMessageContent(bytes, contentTypes.application)).toEqual(pmc);
    const bad = bytes.slice();
    bad[bad.length - 2] = 1;
    expect(codeOf(() => decodePrivateMessageContent(bad, contentTypes.application))).toBe("codec.nonzero_padding");
    expect(codeOf(() => decodePrivateMessageContent(bytes, 9))).toBe("codec.bad_enum");
    expect(toHex(encodeSenderData({ leafIndex: 1, generation: 2, reuseGuard: new Uint8Array([9, 9, 9, 9]) }))).toBe("000000010000000209090909");
    expect(codeOf(() => encodeSenderData({ leafIndex: 1, generation: 2, reuseGuard: new Uint8Array(3) }))).toBe("usage.bad_reuse_guard");
  });

  it("MLSMessage rejects another protocol version and an unknown wire format", () => {
    expect(codeOf(() => decodeMlsMessage(new Uint8Array([0, 2, 0, 3])))).toBe("codec.bad_enum");
    expect(codeOf(() => decodeMlsMessage(new Uint8Array([0, 1, 0, 6])))).toBe("codec.bad_enum");
  });

  it("a ratchet tree of 10,000 leaves round-trips byte for byte", () => {
    const parentNode = { encryptionKey: new Uint8Array(32), parentHash: new Uint8Array(32), unmergedLeaves: [] };
    const parent = { nodeType: 2, parentNode } as const;
    const bigLeaf = { ...leaf, encryptionKey: new Uint8Array(32), signatureKey: new Uint8Array(32), signature: new Uint8Array(64) };
    const leafNode = { nodeType: 1, leafNode: bigLeaf } as const;
    const tree = Array.from({ length: 19_999 }, (_, i) => (i % 2 === 0 ? leafNode : i % 4 === 1 ? parent : null));
    const bytes = encodeRatchetTree(tree);
    const back = decodeRatchetTree(bytes);
    expect(back.length).toBe(tree.length);
    expect(toHex(encodeRatchetTree(back))).toBe(toHex(bytes));
  });
});

describe("large structures are written into writers sized from their content", () => {
  // A Commit like a 10,000-member group's, scaled down: many path nodes, ciphertexts of varied sizes.
  const rnd = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
  const path = {
    leafNode: leaf,
    nodes: Array.from({ length: 40 }, (_, k) => ({
      encryptionKey: rnd(32, k),
      encryptedPathSecret: Array.from({ length: 1 + (k % 7) * 30 }, (_, j) => ({ kemOutput: rnd(32, j), ciphertext: rnd(40 + ((j * 13) % 170), k + j) })),
    })),
  };
  const big: FramedContent = {
    groupId: rnd(40, 1),
    epoch: 7n,
    sender: { senderType: senderTypes.member, leafIndex: 3 },
    authenticatedData: rnd(10, 2),
    contentType: contentTypes.commit,
    commit: { proposals: [{ type: 2, reference: rnd(32, 3) }], path },
  };
  const gc = rnd(90, 4);

  it("size hints are never below the encoded size, and not far above it", () => {
    const items = path.nodes.reduce((n, x) => n + 1 + x.encryptedPathSecret.length, 0);
    const exact = encodeUpdatePath(path).length;
    expect(updatePathSizeHint(path)).toBeGreaterThanOrEqual(exact);
    expect(updatePathSizeHint(path)).toBeLessThanOrEqual(exact + 1024 + 8 * items);
    expect(exact).toBeGreaterThan(50_000);
    expect(commitSizeHint(big.commit)).toBeGreaterThanOrEqual(encodeCommit(big.commit).length);
    expect(framedContentSizeHint(big)).toBeGreaterThanOrEqual(encodeFramedContent(big).length);
    const tbs = { wireFormat: wireFormats.mls_private_message, content: big, groupContext: gc };
    expect(framedContentTbsSizeHint(tbs)).toBeGreaterThanOrEqual(encodeFramedContentTbs(tbs).length);
  });

  it("SignContent and the transcript hash input written in place equal the composed encodings (RFC 9420 §5.1.2, §8.2)", () => {
    const tbs = { wireFormat: wireFormats.mls_private_message, content: big, groupContext: gc };
    const composed = toHex(encodeSignContent("FramedContentTBS", encodeFramedContentTbs(tbs)));
    expect(toHex(signContentWith("FramedContentTBS", framedContentTbsSizeHint(tbs), (w) => writeFramedContentTbs(w, tbs)))).toBe(composed);
    // A hint far too small only costs growing the writer.
    expect(toHex(signContentWith("FramedContentTBS", 1, (w) => writeFramedContentTbs(w, tbs)))).toBe(composed);
    const cs = nativeProvider.suite(1);
    const ac = { wireFormat: wireFormats.mls_private_message, content: big, auth: { signature: rnd(64, 5), confirmationTag: rnd(32, 6) } };
    const interim = rnd(32, 7);
    expect(toHex(confirmedTranscriptHash(cs, interim, confirmedTranscriptHashInput(ac)))).toBe(toHex(cs.hash(concat(interim, encodeConfirmedTranscriptHashInput(ac)))));
    expect(toHex(confirmedTranscriptHash(cs, interim, encodeConfirmedTranscriptHashInput(ac)))).toBe(toHex(cs.hash(concat(interim, encodeConfirmedTranscriptHashInput(ac)))));
  });
});

describe("Welcome secrets of a large Commit (checked at decode, each entry decoded on demand)", () => {
  const rnd = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed * 13) & 0xff);
  const welcome: Welcome = {
    cipherSuite: 1,
    secrets: Array.from({ length: 40 }, (_, i) => ({ newMember: rnd(32, i), encryptedGroupSecrets: { kemOutput: rnd(32, 100 + i), ciphertext: rnd(60 + i, 200 + i) } })),
    encryptedGroupInfo: rnd(100, 5),
  };
  const bytes = encodeWelcome(welcome);

  it("reads like a plain Welcome: equal, re-encodes identically, spreads; one entry found without the others", () => {
    const decoded = decodeWelcome(bytes);
    expect(decoded).toEqual(welcome);
    expect({ ...decoded }).toEqual(welcome);
    expect(toHex(encodeWelcome(decoded))).toBe(toHex(bytes));
    const fresh = decodeWelcome(bytes);
    expect(findEncryptedGroupSecrets(fresh, rnd(32, 37))).toEqual(welcome.secrets[37]);
    expect(findEncryptedGroupSecrets(fresh, rnd(32, 999))).toBeNull();
    expect(findEncryptedGroupSecrets(welcome, rnd(32, 3))).toEqual(welcome.secrets[3]);
    expect(findEncryptedGroupSecrets(welcome, rnd(31, 3))).toBeNull();
    const refs = welcome.secrets.map((e) => e.newMember);
    expect(welcomeNewMembers(decodeWelcome(bytes))).toEqual(refs);
    expect(welcomeNewMembers(welcome)).toEqual(refs);
    // The caller's buffer is not shared: changing it changes nothing decoded.
    const copy = bytes.slice();
    const again = decodeWelcome(copy);
    copy.fill(0);
    expect(findEncryptedGroupSecrets(again, rnd(32, 20))).toEqual(welcome.secrets[20]);
    expect(again.secrets).toEqual(welcome.secrets);
  });

  it("a malformed entry far into the vector fails the decode itself, naming the entry", () => {
    // The Welcome written by hand, entry `bad` spoilt by `spoil`.
    const craft = (bad: number, spoil: (w: Writer) => void): Uint8Array => {
      const w = new Writer();
      w.u16(1).vector((w) => {
        welcome.secrets.forEach((e, i) => {
          if (i === bad) return spoil(w);
          w.opaque(e.newMember).opaque(e.encryptedGroupSecrets.kemOutput).opaque(e.encryptedGroupSecrets.ciphertext);
        });
      });
      w.opaque(welcome.encryptedGroupInfo);
      return w.finish();
    };
    const failure = (b: Uint8Array): CodecError => {
      try {
        decodeWelcome(b);
      } catch (e) {
        if (e instanceof CodecError) return e;
        throw e;
      }
      throw new Error("decoded");
    };
    // RFC 9420 §2.1.2: a length in more bytes than needed is malformed.
    const nonMinimal = failure(craft(35, (w) => w.bytes(new Uint8Array([0x40, 32])).bytes(rnd(32, 35)).opaque(rnd(32, 1)).opaque(rnd(9, 2))));
    expect(nonMinimal.code).toBe("codec.non_minimal_varint");
    expect(nonMinimal.message).toContain("secrets[35].new_member");
    // A ciphertext longer than what is left.
    const long = failure(craft(39, (w) => w.opaque(rnd(32, 39)).opaque(rnd(32, 1)).bytes(new Uint8Array([0x53, 0x88])).bytes(rnd(10, 3))));
    expect(long.message).toContain("secrets[39].encrypted_group_secrets.ciphertext");
    expect(craft(39, (w) => w.opaque(welcome.secrets[39]!.newMember).opaque(welcome.secrets[39]!.encryptedGroupSecrets.kemOutput).opaque(welcome.secrets[39]!.encryptedGroupSecrets.ciphertext))).toEqual(bytes);
  });
});

describe("FramedContent built field by field (per-message paths avoid object spread)", () => {
  const header = { groupId: new Uint8Array([1, 2]), epoch: 9n, sender: { senderType: senderTypes.member, leafIndex: 4 }, authenticatedData: new Uint8Array([7]) } as const;
  const bodies = [
    { contentType: contentTypes.application, applicationData: new Uint8Array([5, 6]) },
    { contentType: contentTypes.proposal, proposal: { proposalType: proposalTypes.remove, remove: { removed: 3 } } },
    { contentType: contentTypes.commit, commit: { proposals: [], path: null } },
  ] as const;
  it("framedContentOf keeps exactly the header and the select arm", () => {
    for (const body of bodies) {
      expect(framedContentOf(header, body)).toStrictEqual({ ...header, ...body });
      // Extra fields of the body's carrier (a PrivateMessageContent's auth and padding) are left out.
      const carrier: ContentBody = Object.assign({ auth: { signature: new Uint8Array(1) }, paddingLength: 3 }, body);
      expect(framedContentOf(header, carrier)).toStrictEqual({ ...header, ...body });
      expect(toHex(encodeFramedContent(framedContentOf(header, body)))).toBe(toHex(encodeFramedContent({ ...header, ...body } as FramedContent)));
    }
  });
});
