/**
 * Handshake submission and its verdict (XEP "Handshake Submission and Verdicts").
 *
 *   <submit group epoch>
 *     <proposal>b64</proposal>*          MLSMessage(PublicMessage|PrivateMessage), content type proposal
 *     <commit>b64</commit>?              MLSMessage, content type commit
 *     <welcome>b64</welcome>?            MLSMessage(Welcome)   (only with a commit)
 *     <group-info>b64</group-info>?      MLSMessage(GroupInfo) (only with a commit)
 *   </submit>
 *   → <accepted seq epoch/>  or an error (see errors.ts: wrong-epoch, invalid-message, …)
 * @module
 */
import { UsageError } from "../errors.js";
import { XmppProtocolError } from "./errors.js";
import { assertEpoch, assertGroupId, buildPayloadChild, parsePayloadChild } from "./group-stanzas.js";
import { NS_MLS } from "./ns.js";
import { childElements, epochAttr, expectElement, expectEmpty, groupIdAttr, hex, limitsOf, uintAttr, type Limits } from "./values.js";
import { Element, xml } from "./xml.js";

export interface Submit {
  readonly group: Uint8Array;
  /** Epoch of every enclosed handshake message (FramedContent.epoch). */
  readonly epoch: bigint;
  /** Proposals, in the order the DS must sequence them (before the commit). */
  readonly proposals: readonly Uint8Array[];
  readonly commit?: Uint8Array;
  readonly welcome?: Uint8Array;
  readonly groupInfo?: Uint8Array;
}

const ORDER = ["proposal", "commit", "welcome", "group-info"] as const;

function checkShape(hasCommit: boolean, proposals: number, hasWelcome: boolean, hasGroupInfo: boolean, fail: (msg: string) => never): void {
  if (!hasCommit && proposals === 0) fail("a submission carries a commit or at least one proposal");
  if (!hasCommit && (hasWelcome || hasGroupInfo)) fail("welcome and group-info are only allowed together with a commit");
}

/** XEP examples "Submitting a commit that adds Bob" and "Dave submits an Update proposal". */
export function buildSubmit(v: Submit, limits?: Partial<Limits>): Element {
  assertGroupId(v.group, limits);
  assertEpoch(v.epoch);
  checkShape(v.commit !== undefined, v.proposals.length, v.welcome !== undefined, v.groupInfo !== undefined, (m) => {
    throw new UsageError("usage.bad_submit", m);
  });
  const kids: Element[] = v.proposals.map((p) => buildPayloadChild("proposal", p, limits));
  if (v.commit) kids.push(buildPayloadChild("commit", v.commit, limits));
  if (v.welcome) kids.push(buildPayloadChild("welcome", v.welcome, limits));
  if (v.groupInfo) kids.push(buildPayloadChild("group-info", v.groupInfo, limits));
  return xml("submit", { xmlns: NS_MLS, group: hex(v.group), epoch: v.epoch.toString() }, kids);
}

export function parseSubmit(el: Element, limits?: Partial<Limits>): Submit {
  expectElement(el, "submit");
  const lim = limitsOf(limits);
  const group = groupIdAttr(el, lim);
  const epoch = epochAttr(el);
  const kids = childElements(el, ORDER);
  if (kids.length > lim.maxItems) throw new XmppProtocolError("xmpp.too_large", `<submit/> has ${kids.length} children, limit ${lim.maxItems}`, { max: lim.maxItems });
  // Children appear in ORDER; only <proposal/> may repeat.
  let last = -1;
  const proposals: Uint8Array[] = [];
  const single = new Map<string, Uint8Array>();
  for (const k of kids) {
    const name = k.getName();
    const rank = ORDER.indexOf(name as (typeof ORDER)[number]);
    if (rank < last || (rank === last && name !== "proposal")) {
      throw new XmppProtocolError("xmpp.malformed", `<${name}/> out of order or repeated in <submit/> (order: proposal*, commit?, welcome?, group-info?)`);
    }
    last = rank;
    const bytes = parsePayloadChild(k, name, lim);
    if (name === "proposal") proposals.push(bytes);
    else single.set(name, bytes);
  }
  const commit = single.get("commit");
  const welcome = single.get("welcome");
  const groupInfo = single.get("group-info");
  checkShape(commit !== undefined, proposals.length, welcome !== undefined, groupInfo !== undefined, (m) => {
    throw new XmppProtocolError("xmpp.malformed", m);
  });
  return {
    group, epoch, proposals,
    ...(commit && { commit }),
    ...(welcome && { welcome }),
    ...(groupInfo && { groupInfo }),
  };
}

/** `<accepted seq epoch/>`: the positive verdict. */
export interface Accepted {
  /** Sequence number of the last log entry this submission created. */
  readonly seq: number;
  /** Epoch of the group after the submission (the new epoch if it carried a commit). */
  readonly epoch: bigint;
}

/** XEP example "The DS accepts the commit". */
export function buildAccepted(v: Accepted): Element {
  if (!Number.isSafeInteger(v.seq) || v.seq < 0) throw new UsageError("usage.bad_seq", `"seq" must be a non-negative safe integer`);
  assertEpoch(v.epoch);
  return xml("accepted", { xmlns: NS_MLS, seq: v.seq, epoch: v.epoch.toString() });
}

export function parseAccepted(el: Element): Accepted {
  expectElement(el, "accepted");
  expectEmpty(el);
  return { seq: uintAttr(el, "seq"), epoch: epochAttr(el) };
}
