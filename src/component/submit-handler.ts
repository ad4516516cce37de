/**
 * Handshake submission (XEP "Handshake Submission and Verdicts"):
 *
 *   set <submit group epoch><proposal/>*<commit/>?<welcome/>?<group-info/>?</submit>
 *     1. the group is bound here (unknown-group)
 *     2. the submitter's account is a member of the room (not-member)
 *     3. rate and size limits (rate-limited, too-large; sizes are enforced while parsing)
 *     4-7. in the group's {@link Sequencer}: epoch, validation, Welcome, policy
 *   → <accepted seq epoch/>
 * @module
 */
import { toHex } from "../util/bytes.js";
import { NS_MLS } from "../xmpp/ns.js";
import { buildAccepted, parseSubmit } from "../xmpp/submit-stanzas.js";
import type { Element } from "../xmpp/xml.js";
import type { IqRequest, Router } from "./router.js";
import { requireGroup, requireMember, type DsServices } from "./services.js";

export function registerSubmit(router: Router, s: DsServices): void {
  router.set(NS_MLS, "submit", (req) => submit(s, req));
}

async function submit(s: DsServices, req: IqRequest): Promise<Element> {
  const sub = parseSubmit(req.element, s.limits.parseLimits);
  const groupId = toHex(sub.group);
  const group = requireGroup(s, groupId);
  await requireMember(s, group, req.from);
  s.limits.take(req.from, "submit");
  const verdict = await s.sequencer.submit({
    groupId,
    epoch: sub.epoch,
    proposals: sub.proposals,
    submitter: req.from,
    ...(sub.commit !== undefined && { commit: sub.commit }),
    ...(sub.welcome !== undefined && { welcome: sub.welcome }),
    ...(sub.groupInfo !== undefined && { groupInfo: sub.groupInfo }),
  });
  return buildAccepted({ seq: verdict.seq, epoch: verdict.epoch });
}
