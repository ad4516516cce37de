/**
 * Checks of the GroupInfo that registers a group (XEP "Registering a Group", checks 4-7):
 *
 *   MLSMessage(GroupInfo) ──suite policy──▶ ratchet_tree present, tree hash matches, signature
 *   verifies with the signer's leaf (RFC 9420 §12.4.3, §12.4.3.3) ──▶ group id, epoch 0, one
 *   member whose identity is the requester ──▶ xmpp_binding names this room and this DS, and
 *   external_senders holds the DS's ExternalSender (RFC 9420 §12.1.8.1)
 *
 * Errors: `invalid-message` reason `invalid-group-info` (or `malformed`), `not-acceptable`
 * reason `cipher-suite`, `invalid-message` reason `binding-mismatch`.
 * @module
 */
import type { CryptoProvider } from "../crypto/cipher-suite.js";
import { CodecError, CryptoError, ValidationError, XmppMlsError } from "../errors.js";
import { extensionTypes, findExtension } from "../mls/core/extension.js";
import { decodeExternalSenders } from "../mls/core/external-senders.js";
import { credentialTypes, wireFormats } from "../mls/core/protocol.js";
import { decodeMlsMessage } from "../mls/framing/mls-message.js";
import { ratchetTreeOf, verifyGroupInfoWithTree } from "../mls/group/group-info-ops.js";
import { rootTreeHash } from "../mls/tree/tree-hash.js";
import type { TreeState } from "../mls/tree/tree-state.js";
import { bytesEqual, toHex } from "../util/bytes.js";
import { XmppProtocolError } from "../xmpp/errors.js";
import type { DsIdentity } from "./ds-identity.js";
import { DsError } from "./errors.js";
import { jidOfCredential } from "./kp-validator.js";
import type { ExternalSendersInfo } from "./store/types.js";
import { bareOf } from "./store/validate.js";
import { bindingOf } from "../xmpp/binding-extension.js";

export interface RegistrationExpectations {
  /** Lowercase hex of the `group` attribute. */
  readonly groupId: string;
  /** The room's bare JID, lowercase. */
  readonly room: string;
  /** The DS JID. */
  readonly domain: string;
  /** The requester's full JID (server-stamped). */
  readonly requester: string;
  readonly allowedCipherSuites: readonly number[];
  readonly provider: CryptoProvider;
  readonly identity: DsIdentity;
  /**
   * XEP check 5: epoch 0 and exactly one member (the requester). With `false`, an existing group
   * (any epoch, the requester among its members) may be registered. Default true.
   */
  readonly requireFresh?: boolean;
}

export interface RegisteredGroupInfo {
  readonly epoch: bigint;
  readonly cipherSuite: number;
  readonly externalSenders: ExternalSendersInfo;
}

function invalid(why: string, reason = "invalid-group-info", cause?: unknown): XmppProtocolError {
  return new XmppProtocolError("ds.invalid_message", `group-info: ${why}`, { reason, ...(cause !== undefined && { cause }) });
}

/** Canonical device JID: bare part lowercased, resource as is. */
function canonicalFullJid(jid: string): string {
  const slash = jid.indexOf("/");
  return slash < 0 ? jid.toLowerCase() : `${jid.slice(0, slash).toLowerCase()}${jid.slice(slash)}`;
}

/** Run checks 4-7 on `bytes`; returns what the DS stores. */
export function checkRegistrationGroupInfo(bytes: Uint8Array, x: RegistrationExpectations): RegisteredGroupInfo {
  let msg;
  try {
    msg = decodeMlsMessage(bytes);
  } catch (e) {
    if (e instanceof CodecError) throw invalid(`not an MLSMessage (${e.code})`, "malformed", e);
    throw e;
  }
  if (msg.wireFormat !== wireFormats.mls_group_info) throw invalid("not an MLSMessage(GroupInfo)", "malformed");
  const gi = msg.groupInfo;
  const gc = gi.groupContext;

  // Check 6 first: no cryptography with a suite the DS does not accept.
  if (!x.allowedCipherSuites.includes(gc.cipherSuite) || !x.provider.supports(gc.cipherSuite)) {
    throw new DsError("ds.unsupported_cipher_suite", `cipher suite ${gc.cipherSuite} is not allowed here`);
  }
  const cs = x.provider.suite(gc.cipherSuite);

  // Check 4: RFC 9420 §12.4.3.3 ratchet tree, §12.4.3 signature by the signer's leaf.
  let tree: TreeState | null;
  try {
    tree = ratchetTreeOf(gi);
  } catch (e) {
    if (e instanceof CodecError || e instanceof ValidationError) throw invalid(`its ratchet_tree is malformed (${e.code})`, "invalid-group-info", e);
    throw e;
  }
  if (tree === null) throw invalid("it carries no ratchet_tree extension (RFC 9420 §12.4.3.3)");
  if (!bytesEqual(rootTreeHash(cs, tree), gc.treeHash)) throw invalid("the ratchet tree does not match the tree hash of its group context");
  try {
    verifyGroupInfoWithTree(cs, gi, tree);
  } catch (e) {
    if (e instanceof CryptoError) throw invalid("the signature does not verify", "verification-failed", e);
    if (e instanceof ValidationError) throw invalid(`the signer is not a member (${e.code})`, "invalid-group-info", e);
    throw e;
  }

  // Check 5.
  if (toHex(gc.groupId) !== x.groupId) throw invalid("its group_id is not 'group'");
  const requireFresh = x.requireFresh ?? true;
  if (requireFresh && gc.epoch !== 0n) throw invalid(`it is for epoch ${gc.epoch}; a new group starts at epoch 0`);
  const members: string[] = [];
  for (let i = 0; i < tree.nLeaves; i++) {
    const leaf = tree.leaf(i);
    if (leaf === null) continue;
    try {
      members.push(canonicalFullJid(jidOfCredential(leaf.credential)));
    } catch (e) {
      if (e instanceof XmppMlsError) throw invalid("a member's credential is not a JID BasicCredential", "invalid-group-info", e);
      throw e;
    }
  }
  const requester = canonicalFullJid(x.requester);
  if (requireFresh && (members.length !== 1 || members[0] !== requester)) throw invalid("the tree must hold exactly one member: the requesting device");
  if (!requireFresh && !members.includes(requester)) throw invalid("the requesting device is not a member");

  // Check 7: the binding and the DS as external sender.
  let binding;
  try {
    binding = bindingOf(gc.extensions);
  } catch (e) {
    if (e instanceof XmppMlsError || e instanceof TypeError) throw new XmppProtocolError("ds.binding_mismatch", "group-info: xmpp_binding does not decode", { cause: e });
    throw e;
  }
  if (binding === null || binding.room.toLowerCase() !== x.room || bareOf(binding.deliveryService).toLowerCase() !== x.domain) {
    throw new XmppProtocolError("ds.binding_mismatch", "group-info: xmpp_binding does not name this room and this DS");
  }
  const es = findExtension(gc.extensions, extensionTypes.external_senders);
  if (es === null) throw new XmppProtocolError("ds.binding_mismatch", "group-info: no external_senders extension with the DS");
  let senders;
  try {
    senders = decodeExternalSenders(es.extensionData);
  } catch (e) {
    if (e instanceof CodecError) throw invalid("external_senders does not decode", "malformed", e);
    throw e;
  }
  const mine = x.identity.externalSender(gc.cipherSuite);
  const dsIndex = senders.findIndex(
    (s) =>
      bytesEqual(s.signatureKey, mine.signatureKey) &&
      s.credential.credentialType === credentialTypes.basic &&
      mine.credential.credentialType === credentialTypes.basic &&
      bytesEqual(s.credential.identity, mine.credential.identity),
  );
  if (dsIndex < 0) throw new XmppProtocolError("ds.binding_mismatch", "group-info: external_senders does not hold this DS's ExternalSender");
  return { epoch: gc.epoch, cipherSuite: gc.cipherSuite, externalSenders: { bytes: es.extensionData, dsIndex } };
}

