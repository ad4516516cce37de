/**
 * The pluggable check of handshake messages (XEP "Processing by the Hub", check 5), and the
 * default implementation that checks only the framing.
 *
 *   Sequencer ──(group lock held)──▶ validateProposal(...) for each <proposal/>
 *                                 ──▶ validate(...) for the <commit/>
 *             ──durable append──▶ verdict.apply()    (the validator may now advance its view)
 *
 * A validator decides; it must not change its own state before `apply` is called, because the
 * store append can still fail. The observer (`src/mls/group/public-group.ts`, a PublicGroup that
 * follows the group from the registration GroupInfo and every accepted PublicMessage commit)
 * plugs in here: it verifies signatures, membership tags, the proposal list, the path and the new
 * GroupInfo, returns the added devices and removed leaves, and merges the staged commit in `apply`.
 * `groupCreated` hands it the registration GroupInfo.
 *
 * {@link framingCommitValidator} (the default) checks only what needs no group state: the
 * MLSMessage decodes, is a PublicMessage (or PrivateMessage where the group allows it) of the
 * expected content type, group id and epoch; external commits follow the group policy; proposals a
 * commit includes by reference exist in this epoch. For PublicMessage commits it also reports the
 * devices added (identity and KeyPackageRef of each Add), which routes the Welcome.
 * @module
 */
import { isCipherSuiteId, type CryptoProvider } from "../crypto/cipher-suite.js";
import { makeKeyPackageRef, makeProposalRef } from "../crypto/labeled.js";
import { CodecError, XmppMlsError } from "../errors.js";
import { contentTypes, proposalOrRefTypes, proposalTypes, senderTypes, wireFormats } from "../mls/core/protocol.js";
import { encodeAuthenticatedContent, type FramedContent, type FramedContentAuthData } from "../mls/framing/framed-content.js";
import { decodeMlsMessage } from "../mls/framing/mls-message.js";
import { encodeKeyPackage } from "../mls/messages/key-package.js";
import type { Proposal, ProposalOrRef } from "../mls/messages/proposal.js";
import { bytesEqual, toHex } from "../util/bytes.js";
import { jidOfCredential } from "./kp-validator.js";
import type { GroupRecord } from "./store/types.js";

/** Why a message was refused: `invalid` → `invalid-message reason=…`, `policy` → `policy-violation reason=…`. */
export interface Rejection {
  readonly ok: false;
  readonly kind: "invalid" | "policy";
  /** A lowercase token from the XEP's reason tables, e.g. `wrong-group`, `not-authorized-add`. */
  readonly reason: string;
  /** Human-readable, without payload bytes or secrets. */
  readonly message: string;
}

export function reject(reason: string, message: string, kind: Rejection["kind"] = "invalid"): Rejection {
  return { ok: false, kind, reason, message };
}

/** A device a commit adds: the credential identity (full JID) and the KeyPackageRef (hex) of its Add. */
export interface AddedDevice {
  readonly jid: string;
  readonly keyPackageRef: string;
}

export interface CommitAcceptance {
  readonly ok: true;
  /** The epoch the commit creates (`epoch + 1`). */
  readonly newEpoch: bigint;
  /** The GroupInfo to store for the new epoch, when the validator computed or checked one. */
  readonly groupInfo?: Uint8Array;
  /** Devices added; `undefined` when unknown (PrivateMessage commits). */
  readonly added?: readonly AddedDevice[];
  /** Leaf indices removed; `undefined` when unknown. */
  readonly removed?: readonly number[];
  /** Called once the commit is durably sequenced. */
  readonly apply?: () => void | Promise<void>;
}

export type CommitVerdict = CommitAcceptance | Rejection;

export interface ProposalAcceptance {
  readonly ok: true;
  /** Called once the proposal is durably sequenced. */
  readonly apply?: () => void | Promise<void>;
}

export type ProposalVerdict = ProposalAcceptance | Rejection;

/** What a validator may look at besides the message. */
export interface HandshakeContext {
  /** The group as stored (its `epoch` is the current epoch). */
  readonly group: GroupRecord;
  /** The group's cipher suite (from its GroupInfo). */
  readonly cipherSuite: number;
  /**
   * Proposals this commit may reference, in sequence order: those accepted earlier in this epoch,
   * then those of the same submission (already accepted by `validateProposal`).
   */
  readonly proposals: readonly Uint8Array[];
  readonly welcome?: Uint8Array;
  readonly groupInfo?: Uint8Array;
}

export interface CommitValidator {
  /**
   * Check a commit for `epoch` of the group `groupId` (lowercase hex) submitted by `submitter`
   * (full JID). Must not throw for bad input: return {@link reject}.
   */
  validate(groupId: string, epoch: bigint, mlsMessageBytes: Uint8Array, submitter: string, context: HandshakeContext): CommitVerdict | Promise<CommitVerdict>;
  /** Check a proposal (submitted alone or before a commit). */
  validateProposal(groupId: string, epoch: bigint, mlsMessageBytes: Uint8Array, submitter: string, context: HandshakeContext): ProposalVerdict | Promise<ProposalVerdict>;
  /** A group was registered with this GroupInfo (epoch 0). */
  groupCreated?(group: GroupRecord, groupInfo: Uint8Array): void | Promise<void>;
}

/** The parts of a decoded handshake the framing check looks at. */
type Framed =
  | { readonly wireFormat: "public"; readonly content: FramedContent; readonly auth: FramedContentAuthData }
  | { readonly wireFormat: "private"; readonly contentType: number };

/**
 * Decode `bytes` as a handshake of `contentType` for `groupId`/`epoch`, or say why not
 * (XEP reasons malformed, wire-format, wrong-group, attribute-mismatch).
 */
export function checkFraming(bytes: Uint8Array, groupId: string, epoch: bigint, contentType: number, group: GroupRecord): Framed | Rejection {
  let msg;
  try {
    msg = decodeMlsMessage(bytes);
  } catch (e) {
    if (e instanceof CodecError) return reject("malformed", `not an MLSMessage: ${e.code}`);
    throw e;
  }
  let framed: Framed;
  let gid: Uint8Array;
  let msgEpoch: bigint;
  if (msg.wireFormat === wireFormats.mls_public_message) {
    const { content, auth } = msg.publicMessage;
    framed = { wireFormat: "public", content, auth };
    gid = content.groupId;
    msgEpoch = content.epoch;
  } else if (msg.wireFormat === wireFormats.mls_private_message) {
    // RFC 9750 §5.3: with PrivateMessage handshakes the DS can only sequence.
    if (group.handshakeWireFormat === "public") return reject("wire-format", "this group requires PublicMessage handshakes");
    const pm = msg.privateMessage;
    framed = { wireFormat: "private", contentType: pm.contentType };
    gid = pm.groupId;
    msgEpoch = pm.epoch;
  } else {
    return reject("wire-format", `wire format ${msg.wireFormat} is not a handshake framing`);
  }
  if (toHex(gid) !== groupId) return reject("wrong-group", "the message's group_id differs from 'group'");
  if (msgEpoch !== epoch) return reject("attribute-mismatch", `the message is for epoch ${msgEpoch}, 'epoch' says ${epoch}`);
  const ct = framed.wireFormat === "public" ? framed.content.contentType : framed.contentType;
  if (ct !== contentType) return reject("attribute-mismatch", `content type ${ct} where ${contentType} was expected`);
  return framed;
}

export interface FramingCommitValidatorOptions {
  /** Hashes for KeyPackageRefs and ProposalRefs. */
  readonly provider: CryptoProvider;
}

/** The default validator: framing only (see the module documentation). */
export function framingCommitValidator(options: FramingCommitValidatorOptions): CommitValidator {
  const { provider } = options;
  return Object.freeze({
    validateProposal(groupId: string, epoch: bigint, bytes: Uint8Array, _submitter: string, ctx: HandshakeContext): ProposalVerdict {
      const f = checkFraming(bytes, groupId, epoch, contentTypes.proposal, ctx.group);
      return "ok" in f ? f : { ok: true };
    },

    validate(groupId: string, epoch: bigint, bytes: Uint8Array, _submitter: string, ctx: HandshakeContext): CommitVerdict {
      const f = checkFraming(bytes, groupId, epoch, contentTypes.commit, ctx.group);
      if ("ok" in f) return f;
      const newEpoch = epoch + 1n;
      if (f.wireFormat === "private") return { ok: true, newEpoch };
      const { content } = f;
      const sender = content.sender.senderType;
      // XEP "Group Policy": ExternalInit (external Commit) only when the room allows external joins.
      if (sender === senderTypes.new_member_commit && !ctx.group.policy.allowExternalJoin) {
        return reject("external-join-disabled", "external commits are not allowed in this group", "policy");
      }
      // RFC 9420 §12.1.8: external senders send proposals, never commits.
      if (sender !== senderTypes.member && sender !== senderTypes.new_member_commit) {
        return reject("invalid-commit", "a commit must come from a member or a new member");
      }
      if (content.contentType !== contentTypes.commit) return reject("attribute-mismatch", "not a commit");
      try {
        return { ok: true, newEpoch, ...proposalEffects(provider, ctx, content.commit.proposals) };
      } catch (e) {
        if (e instanceof RejectionError) return e.rejection;
        if (e instanceof XmppMlsError) return reject("invalid-proposal", `an Add cannot be read: ${e.code}`);
        throw e;
      }
    },
  });
}

class RejectionError extends Error {
  constructor(readonly rejection: Rejection) {
    super(rejection.message);
  }
}

/** Adds and removes of a commit's proposal list, by value or by reference (RFC 9420 §12.4). */
function proposalEffects(
  provider: CryptoProvider,
  ctx: HandshakeContext,
  list: readonly ProposalOrRef[],
): { added: AddedDevice[]; removed: number[] } {
  const byRef = list.some((p) => p.type === proposalOrRefTypes.reference) ? referencedProposals(provider, ctx) : [];
  const added: AddedDevice[] = [];
  const removed: number[] = [];
  for (const p of list) {
    let proposal: Proposal;
    if (p.type === proposalOrRefTypes.reference) {
      const hit = byRef.find((r) => bytesEqual(r.ref, p.reference));
      // XEP "The submit Element": referenced proposals were accepted in this epoch or come with the commit.
      if (hit === undefined) throw new RejectionError(reject("invalid-commit", "the commit references a proposal unknown in this epoch"));
      proposal = hit.proposal;
    } else {
      proposal = p.proposal;
    }
    if (proposal.proposalType === proposalTypes.add) {
      const kp = proposal.add.keyPackage;
      if (!isCipherSuiteId(kp.cipherSuite) || kp.cipherSuite !== ctx.cipherSuite) {
        throw new RejectionError(reject("invalid-proposal", "an Add's KeyPackage is not of the group's cipher suite"));
      }
      const ref = makeKeyPackageRef(provider.suite(kp.cipherSuite), encodeKeyPackage(kp));
      added.push({ jid: jidOfCredential(kp.leafNode.credential), keyPackageRef: toHex(ref) });
    } else if (proposal.proposalType === proposalTypes.remove) {
      removed.push(proposal.remove.removed);
    }
  }
  return { added, removed };
}

/** ProposalRef (RFC 9420 §5.2) and content of every PublicMessage proposal of the context. */
function referencedProposals(provider: CryptoProvider, ctx: HandshakeContext): { ref: Uint8Array; proposal: Proposal }[] {
  if (!isCipherSuiteId(ctx.cipherSuite)) return [];
  const cs = provider.suite(ctx.cipherSuite);
  const out: { ref: Uint8Array; proposal: Proposal }[] = [];
  for (const bytes of ctx.proposals) {
    let msg;
    try {
      msg = decodeMlsMessage(bytes);
    } catch {
      continue;
    }
    if (msg.wireFormat !== wireFormats.mls_public_message) continue;
    const { content, auth } = msg.publicMessage;
    if (content.contentType !== contentTypes.proposal) continue;
    // RFC 9420 §5.2: ProposalRef = RefHash("MLS 1.0 Proposal Reference", AuthenticatedContent).
    const ref = makeProposalRef(cs, encodeAuthenticatedContent({ wireFormat: msg.wireFormat, content, auth }));
    out.push({ ref, proposal: content.proposal });
  }
  return out;
}
