/**
 * The default group policy of a group whose handshakes are PublicMessages (XEP "Group Policy",
 * RFC 9750 §5.3, §6.4), as the observer (./observer-validator.ts) applies it to every proposal,
 * sent alone or inline in a Commit, and to the Commit's sender:
 *
 *   | proposal                 | allowed when                                                  | reason otherwise                 |
 *   |--------------------------|---------------------------------------------------------------|----------------------------------|
 *   | Add                      | the added account is affiliated, and the sender is `whoMayAdd` | not-affiliated, not-authorized-add |
 *   |                          | or adds a device of its own account                           |                                  |
 *   | Remove                   | the sender is `whoMayRemove`, or removes a device of its own   | not-authorized-remove            |
 *   |                          | account, or is the hub's external sender                      |                                  |
 *   | Update, PreSharedKey     | always                                                        | -                                |
 *   | GroupContextExtensions   | the sender is an owner; xmpp_binding and the hub's entry in   | not-owner, binding-change        |
 *   |                          | external_senders are unchanged                                |                                  |
 *   | ReInit                   | never in this version                                         | reinit                           |
 *   | ExternalInit             | only in an external Commit (see the validator)                | -                                |
 *
 * Roles are the room affiliations (XEP-0045) of the bare JID of the sender's credential identity,
 * read from the DS's view of the room ({@link AffiliationSource}); before deciding whether an
 * account is affiliated (Adds, external joins) the view is refreshed, since a grant may not have
 * reached the DS yet. The hub's own external sender only ever proposes Removes.
 * @module
 */
import { XmppMlsError } from "../errors.js";
import { credentialRejected } from "../mls/auth/authentication-service.js";
import type { Credential } from "../mls/core/credential.js";
import { extensionTypes, findExtension, type Extension } from "../mls/core/extension.js";
import { decodeExternalSenders, encodeExternalSenders, type ExternalSender } from "../mls/core/external-senders.js";
import { credentialTypes, proposalTypes, senderTypes } from "../mls/core/protocol.js";
import type { Sender } from "../mls/framing/sender.js";
import type { PublicGroup } from "../mls/group/public-group.js";
import type { Proposal } from "../mls/messages/proposal.js";
import { bytesEqual, fromUtf8 } from "../util/bytes.js";
import { XMPP_BINDING_EXTENSION_TYPE } from "../xmpp/ns.js";
import { reject, type Rejection } from "./commit-validator.js";
import { jidOfCredential } from "./kp-validator.js";
import { affiliationAtLeast, type Affiliation } from "./muc.js";
import type { GroupRecord } from "./store/types.js";
import { bareOf } from "./store/validate.js";

/** The room affiliations as the DS knows them. */
export interface AffiliationSource {
  /** The affiliation of the account `bareJid` in `room`. */
  affiliationOf(room: string, bareJid: string): Promise<Affiliation>;
  /** Forget what is cached about `room`: the next question re-reads the affiliation lists. */
  refresh(room: string): void;
}

/** Who sent a proposal or a Commit, as the policy sees it. */
export type PolicySender =
  /** A member: the identity of its leaf in the current tree. */
  | { readonly kind: "member"; readonly jid: string; readonly account: string; readonly leafIndex: number }
  /** The hub itself (its entry of external_senders). */
  | { readonly kind: "hub" }
  /** Another external_senders entry (RFC 9420 §12.1.8.1), identified by its credential. */
  | { readonly kind: "external"; readonly jid: string; readonly account: string }
  /** A new member: the KeyPackage of its own Add (new_member_proposal) or the leaf of its external Commit. */
  | { readonly kind: "new-member"; readonly jid: string; readonly account: string };

/** Canonical device JID: bare part lowercased, resource as is. */
export function canonicalJid(jid: string): string {
  const slash = jid.indexOf("/");
  return slash < 0 ? jid.toLowerCase() : `${jid.slice(0, slash).toLowerCase()}${jid.slice(slash)}`;
}

/** The account (lowercase bare JID) of a JID. */
export function accountOf(jid: string): string {
  return bareOf(jid).toLowerCase();
}

/** The index of the hub's ExternalSender in `senders`, or null (compared by signature key and credential). */
export function hubIndexIn(senders: readonly ExternalSender[], hub: ExternalSender): number | null {
  const mine = encodeExternalSenders([hub]);
  const i = senders.findIndex((s) => bytesEqual(s.signatureKey, hub.signatureKey) && bytesEqual(encodeExternalSenders([s]), mine));
  return i < 0 ? null : i;
}

/** An external sender's JID (any JID, e.g. a service's domain), from its BasicCredential. */
function externalSenderJid(c: Credential): string {
  if (c.credentialType !== credentialTypes.basic) throw credentialRejected("the external sender's credential is not a BasicCredential");
  try {
    return fromUtf8(c.identity);
  } catch (e) {
    throw credentialRejected("the external sender's identity is not UTF-8", e);
  }
}

/**
 * The policy's view of a sender in `view` (the current epoch). `subject` is the proposal (for a
 * new_member_proposal sender) or the joiner's path leaf credential (for new_member_commit).
 * Returns a rejection when the sender cannot be identified.
 */
export function policySender(view: PublicGroup, sender: Sender, hubIndex: number | null, subject: { proposal?: Proposal; joiner?: Credential }): PolicySender | Rejection {
  try {
    switch (sender.senderType) {
      case senderTypes.member: {
        const leaf = sender.leafIndex < view.tree.nLeaves ? view.tree.leaf(sender.leafIndex) : null;
        if (leaf === null) return reject("unknown-sender", `leaf ${sender.leafIndex} is not a member`);
        const jid = jidOfCredential(leaf.credential);
        return { kind: "member", jid, account: accountOf(jid), leafIndex: sender.leafIndex };
      }
      case senderTypes.external: {
        if (hubIndex !== null && sender.senderIndex === hubIndex) return { kind: "hub" };
        const entry = view.externalSenders()[sender.senderIndex];
        if (entry === undefined) return reject("unknown-sender", `no external sender ${sender.senderIndex}`);
        const jid = externalSenderJid(entry.credential);
        return { kind: "external", jid, account: accountOf(jid) };
      }
      case senderTypes.new_member_proposal: {
        const p = subject.proposal;
        if (p?.proposalType !== proposalTypes.add) return reject("invalid-proposal", "a new member may only propose its own Add");
        const jid = jidOfCredential(p.add.keyPackage.leafNode.credential);
        return { kind: "new-member", jid, account: accountOf(jid) };
      }
      case senderTypes.new_member_commit: {
        if (subject.joiner === undefined) return reject("invalid-commit", "an external Commit must carry a path");
        const jid = jidOfCredential(subject.joiner);
        return { kind: "new-member", jid, account: accountOf(jid) };
      }
    }
  } catch (e) {
    if (e instanceof XmppMlsError) return reject("identity-mismatch", `the sender's credential is not a JID: ${e.code}`);
    throw e;
  }
}

/** One decision's worth of policy checks over one group at one epoch (affiliations cached per decision). */
export class PolicyCheck {
  readonly #group: GroupRecord;
  readonly #view: PublicGroup;
  readonly #source: AffiliationSource;
  readonly #hubIndex: number | null;
  readonly #cache = new Map<string, Affiliation>();
  #refreshed = false;

  constructor(group: GroupRecord, view: PublicGroup, source: AffiliationSource, hubIndex: number | null) {
    this.#group = group;
    this.#view = view;
    this.#source = source;
    this.#hubIndex = hubIndex;
  }

  /** The account's affiliation; `fresh` re-reads the room's lists once per check (XEP "Group Policy"). */
  async affiliation(account: string, fresh = false): Promise<Affiliation> {
    if (fresh && !this.#refreshed) {
      this.#refreshed = true;
      this.#cache.clear();
      this.#source.refresh(this.#group.roomJid);
    }
    let a = this.#cache.get(account);
    if (a === undefined) {
      a = await this.#source.affiliationOf(this.#group.roomJid, account);
      this.#cache.set(account, a);
    }
    return a;
  }

  /** XEP "Affiliations Are Authoritative": the account may be in the group. */
  async affiliated(account: string): Promise<boolean> {
    return affiliationAtLeast(await this.affiliation(account, true), "member");
  }

  async #hasRole(sender: PolicySender, min: Affiliation): Promise<boolean> {
    return sender.kind !== "hub" && affiliationAtLeast(await this.affiliation(sender.account), min);
  }

  /**
   * The policy for one proposal from `sender`. `externalCommit`: the proposal is inline in an
   * external Commit (whose Removes may only drop the joiner's own previous leaf, RFC 9420 §12.4.3.2).
   */
  async proposal(p: Proposal, sender: PolicySender, externalCommit = false): Promise<Rejection | undefined> {
    const policy = this.#group.policy;
    switch (p.proposalType) {
      case proposalTypes.add: {
        if (sender.kind === "hub") return reject("not-authorized-add", "the hub's external sender only removes", "policy");
        let added: string;
        try {
          added = accountOf(jidOfCredential(p.add.keyPackage.leafNode.credential));
        } catch (e) {
          if (e instanceof XmppMlsError) return reject("invalid-proposal", `an added credential is not a JID: ${e.code}`);
          throw e;
        }
        if (!(await this.affiliated(added))) return reject("not-affiliated", `${added} is not a member of the room`, "policy");
        if (added !== sender.account && !(await this.#hasRole(sender, policy.whoMayAdd))) {
          return reject("not-authorized-add", `only room ${policy.whoMayAdd}s add other accounts' devices`, "policy");
        }
        return undefined;
      }
      case proposalTypes.remove: {
        if (sender.kind === "hub") return undefined;
        const leaf = p.remove.removed < this.#view.tree.nLeaves ? this.#view.tree.leaf(p.remove.removed) : null;
        if (leaf === null) return reject("invalid-proposal", `leaf ${p.remove.removed} is not a member`);
        const removed = jidOfCredential(leaf.credential);
        if (externalCommit) {
          return canonicalJid(removed) === canonicalJid(sender.jid)
            ? undefined
            : reject("not-authorized-remove", "an external Commit may only remove the joiner's own previous leaf", "policy");
        }
        if (accountOf(removed) === sender.account || (await this.#hasRole(sender, policy.whoMayRemove))) return undefined;
        return reject("not-authorized-remove", `only room ${policy.whoMayRemove}s remove other accounts' devices`, "policy");
      }
      case proposalTypes.update:
      case proposalTypes.psk:
        return undefined;
      case proposalTypes.group_context_extensions: {
        if (!(await this.#hasRole(sender, "owner"))) return reject("not-owner", "only room owners change the group context extensions", "policy");
        return this.#keepsBinding(p.groupContextExtensions.extensions);
      }
      case proposalTypes.reinit:
        return reject("reinit", "re-initialising the group is not supported in this version", "policy");
      case proposalTypes.external_init:
        return externalCommit ? undefined : reject("invalid-proposal", "ExternalInit belongs in an external Commit");
      default:
        return reject("unsupported-proposal", `proposal type ${(p as { proposalType: number }).proposalType} is not allowed`, "policy");
    }
  }

  /** XEP "Group Policy": xmpp_binding and the hub's ExternalSender (at its index) survive a GroupContextExtensions. */
  #keepsBinding(next: readonly Extension[]): Rejection | undefined {
    const current = this.#view.extensions;
    const a = findExtension(current, XMPP_BINDING_EXTENSION_TYPE)?.extensionData;
    const b = findExtension(next, XMPP_BINDING_EXTENSION_TYPE)?.extensionData;
    if (a === undefined || b === undefined || !bytesEqual(a, b)) return reject("binding-change", "xmpp_binding must not change", "policy");
    if (this.#hubIndex === null) return undefined;
    const hub = this.#view.externalSenders()[this.#hubIndex];
    const after = findExtension(next, extensionTypes.external_senders);
    let entry: ExternalSender | undefined;
    try {
      entry = after === null ? undefined : decodeExternalSenders(after.extensionData)[this.#hubIndex];
    } catch (e) {
      if (e instanceof XmppMlsError) return reject("invalid-proposal", `external_senders does not decode: ${e.code}`);
      throw e;
    }
    // Members and the store know the hub by its index: it must keep it.
    if (hub === undefined || entry === undefined || !bytesEqual(encodeExternalSenders([hub]), encodeExternalSenders([entry]))) {
      return reject("binding-change", "the hub's external sender must stay in external_senders at its index", "policy");
    }
    return undefined;
  }
}
