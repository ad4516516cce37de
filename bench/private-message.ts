/**
 * PrivateMessage protect/unprotect of a 100-byte application message (RFC 9420 §6.3): sign,
 * encrypt content and sender data; then decrypt and verify the signature, as a receiver does.
 * Messages are produced for a time budget, then all of them are consumed in order.
 */
import { performance } from "node:perf_hooks";
import type { CipherSuite } from "../src/crypto/cipher-suite.js";
import { contentTypes, senderTypes, wireFormats } from "../src/mls/core/protocol.js";
import { signFramedContent, verifyFramedContentSignature } from "../src/mls/framing/content-auth.js";
import { decodeMlsMessage, encodeMlsMessage } from "../src/mls/framing/mls-message.js";
import { protectPrivateMessage, unprotectPrivateMessage } from "../src/mls/framing/private-message-protection.js";
import { encodeGroupContext } from "../src/mls/schedule/group-context.js";
import { SecretTree } from "../src/mls/schedule/secret-tree.js";

export async function privateMessageBench(cs: CipherSuite, budgetMs = Number(process.env.BENCH_BUDGET_MS ?? 400)): Promise<{ protect: number; unprotect: number }> {
  const { Nh } = cs.params;
  const groupId = cs.randomBytes(16);
  const groupContext = encodeGroupContext({
    version: 1,
    cipherSuite: cs.params.id,
    groupId,
    epoch: 7n,
    treeHash: cs.randomBytes(Nh),
    confirmedTranscriptHash: cs.randomBytes(Nh),
    extensions: [],
  });
  const encryptionSecret = cs.randomBytes(Nh);
  const senderDataSecret = cs.randomBytes(Nh);
  const sig = cs.signatureKeyPair();
  const limits = { maxForwardDistance: 1 << 20, maxPastKeys: 5 };
  const senderTree = new SecretTree(cs, encryptionSecret, 2, limits);
  const receiverTree = new SecretTree(cs, encryptionSecret, 2, limits);
  const payload = cs.randomBytes(100);

  const wire: Uint8Array[] = [];
  const t0 = performance.now();
  const stop = t0 + budgetMs;
  let now = t0;
  do {
    const ac = signFramedContent({
      cs,
      signaturePrivateKey: sig.privateKey,
      wireFormat: wireFormats.mls_private_message,
      content: {
        groupId,
        epoch: 7n,
        sender: { senderType: senderTypes.member, leafIndex: 0 },
        authenticatedData: new Uint8Array(0),
        contentType: contentTypes.application,
        applicationData: payload,
      },
      groupContext,
    });
    const pm = protectPrivateMessage({ cs, secretTree: senderTree, senderDataSecret, content: ac });
    wire.push(encodeMlsMessage({ version: 1, wireFormat: wireFormats.mls_private_message, privateMessage: pm }));
    now = performance.now();
  } while (now < stop);
  const protect = (wire.length * 1000) / (now - t0);

  const t1 = performance.now();
  for (const bytes of wire) {
    const m = decodeMlsMessage(bytes);
    if (m.wireFormat !== wireFormats.mls_private_message) throw new Error("unexpected wire format");
    const un = unprotectPrivateMessage({ cs, secretTree: receiverTree, senderDataSecret, message: m.privateMessage, isMemberLeaf: (l) => l < 2 });
    verifyFramedContentSignature(cs, sig.publicKey, un.content, groupContext);
  }
  const unprotect = (wire.length * 1000) / (performance.now() - t1);
  senderTree.destroy();
  receiverTree.destroy();
  return { protect, unprotect };
}
