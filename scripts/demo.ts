/**
 * Engine demo (the README's main job until the gateway lands): two members who share an epoch
 * derived through the RFC 9420 key schedule exchange PrivateMessages under every cipher suite and
 * both crypto providers; a tampered message is rejected; both sides agree on the exporter and the
 * epoch authenticator.
 */
import { ALL_SUITE_IDS, type CipherSuite } from "../src/crypto/cipher-suite.js";
import { nativeProvider } from "../src/crypto/native/index.js";
import { portableProvider } from "../src/crypto/portable/index.js";
import { XmppMlsError } from "../src/errors.js";
import { contentTypes, senderTypes, wireFormats } from "../src/mls/core/protocol.js";
import { signFramedContent, verifyFramedContentSignature } from "../src/mls/framing/content-auth.js";
import { decodeMlsMessage, encodeMlsMessage } from "../src/mls/framing/mls-message.js";
import { protectPrivateMessage, unprotectPrivateMessage } from "../src/mls/framing/private-message-protection.js";
import { encodeGroupContext } from "../src/mls/schedule/group-context.js";
import { mlsExporter, runKeySchedule, zeroSecret } from "../src/mls/schedule/key-schedule.js";
import { SecretTree } from "../src/mls/schedule/secret-tree.js";
import { fromUtf8, toHex, utf8 } from "../src/util/bytes.js";

function member(cs: CipherSuite, initSecret: Uint8Array, commitSecret: Uint8Array, groupContext: Uint8Array) {
  const { epochSecrets } = runKeySchedule(cs, { initSecret, commitSecret, groupContext });
  return { epochSecrets, tree: new SecretTree(cs, epochSecrets.encryptionSecret, 2) };
}

async function runSuite(cs: CipherSuite, verbose: boolean): Promise<string> {
  const groupId = utf8("room@conference.example.org");
  const groupContext = encodeGroupContext({
    version: 1,
    cipherSuite: cs.params.id,
    groupId,
    epoch: 1n,
    treeHash: cs.hash(utf8("tree")),
    confirmedTranscriptHash: cs.hash(utf8("transcript")),
    extensions: [],
  });
  const initSecret = cs.randomBytes(cs.params.Nh);
  const commitSecret = zeroSecret(cs);
  const alice = member(cs, initSecret, commitSecret, groupContext);
  const bob = member(cs, initSecret, commitSecret, groupContext);
  const aliceSig = cs.signatureKeyPair();

  const text = `hello from alice (${cs.params.name})`;
  const signed = signFramedContent({
    cs,
    signaturePrivateKey: aliceSig.privateKey,
    wireFormat: wireFormats.mls_private_message,
    groupContext,
    content: {
      groupId,
      epoch: 1n,
      sender: { senderType: senderTypes.member, leafIndex: 0 },
      authenticatedData: new Uint8Array(0),
      contentType: contentTypes.application,
      applicationData: utf8(text),
    },
  });
  const pm = protectPrivateMessage({ cs, secretTree: alice.tree, senderDataSecret: alice.epochSecrets.senderDataSecret, content: signed });
  const wire = encodeMlsMessage({ version: 1, wireFormat: wireFormats.mls_private_message, privateMessage: pm });

  // A tampered copy is rejected with a typed error, and does not burn bob's key.
  const tampered = wire.slice();
  tampered[tampered.length - 3]! ^= 0x40;
  let rejected = "not rejected!";
  try {
    const m = decodeMlsMessage(tampered);
    if (m.wireFormat === wireFormats.mls_private_message) {
      unprotectPrivateMessage({ cs, secretTree: bob.tree, senderDataSecret: bob.epochSecrets.senderDataSecret, message: m.privateMessage, isMemberLeaf: (l) => l < 2 });
    }
  } catch (e) {
    rejected = e instanceof XmppMlsError ? e.code : String(e);
  }

  const m = decodeMlsMessage(wire);
  if (m.wireFormat !== wireFormats.mls_private_message) throw new Error("unexpected wire format");
  const got = unprotectPrivateMessage({ cs, secretTree: bob.tree, senderDataSecret: bob.epochSecrets.senderDataSecret, message: m.privateMessage, isMemberLeaf: (l) => l < 2 });
  verifyFramedContentSignature(cs, aliceSig.publicKey, got.content, groupContext);
  const body = got.content.content;
  const read = body.contentType === contentTypes.application ? fromUtf8(body.applicationData) : "?";

  const ea = mlsExporter(cs, alice.epochSecrets.exporterSecret, "demo", new Uint8Array(0), 16);
  const eb = mlsExporter(cs, bob.epochSecrets.exporterSecret, "demo", new Uint8Array(0), 16);
  const agree = toHex(ea) === toHex(eb) && toHex(alice.epochSecrets.epochAuthenticator) === toHex(bob.epochSecrets.epochAuthenticator);
  if (read !== text || !agree || rejected === "not rejected!") throw new Error(`demo check failed for suite ${cs.params.id}`);
  if (verbose) {
    console.log(`  wire (${wire.length} B): ${toHex(wire).slice(0, 64)}…`);
    console.log(`  bob reads: "${read}"`);
    console.log(`  tampered copy rejected: ${rejected}`);
    console.log(`  epoch authenticator (both): ${toHex(alice.epochSecrets.epochAuthenticator).slice(0, 32)}…`);
  }
  return `${String(cs.params.id).padStart(2)}  ${cs.provider.padEnd(8)}  ${cs.params.name.padEnd(52)} ok  (${wire.length} B, tamper → ${rejected})`;
}

async function main(): Promise<void> {
  console.log("xmpp-mls engine demo: alice → bob PrivateMessage under one epoch of the RFC 9420 key schedule\n");
  console.log("Suite 1, native provider, in detail:");
  await runSuite(nativeProvider.suite(1), true);
  console.log("\nAll suites, both providers:");
  for (const id of ALL_SUITE_IDS) {
    for (const p of [portableProvider, nativeProvider]) console.log("  " + (await runSuite(p.suite(id), false)));
  }
  console.log("\nAll checks passed.");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
