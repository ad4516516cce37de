/**
 * Catch-up by epoch (XEP "Catch-up"): the group's handshake log, paged with XEP-0059.
 *
 *   get <log group after-epoch?><set xmlns=rsm><max/>?<after/>?</set>?</log>
 *     → <log group><entry seq epoch kind sender stamp>b64</entry>…<set><first/><last/><count/></set></log>
 *
 * Entries with `epoch >= after-epoch`, in `seq` order, after the RSM `<after/>` seq; pages of
 * `<max/>` entries, default {@link DEFAULT_PAGE}, capped at {@link MAX_PAGE}. `<count/>` is the size
 * of the whole result set. The RSM `index` of `<first/>` is not given: the store does not count
 * the entries before a page. Readable like the GroupInfo (room members by default). This DS keeps
 * every entry, so `epoch-expired` never happens.
 * @module
 */
import { fromHex, toHex } from "../util/bytes.js";
import { buildLogResult, parseLogRequest } from "../xmpp/log-stanzas.js";
import { NS_MLS } from "../xmpp/ns.js";
import type { Element } from "../xmpp/xml.js";
import type { IqRequest, Router } from "./router.js";
import { requireGroup, requireMember, type DsServices } from "./services.js";
import { MAX_EPOCH } from "./store/validate.js";

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 100;

export function registerLog(router: Router, s: DsServices): void {
  router.get(NS_MLS, "log", (req) => log(s, req));
}

async function log(s: DsServices, req: IqRequest): Promise<Element> {
  const q = parseLogRequest(req.element, s.limits.parseLimits);
  const groupId = toHex(q.group);
  const group = requireGroup(s, groupId);
  if (group.policy.groupInfoReadableBy === "members") await requireMember(s, group, req.from);
  // XEP-0059 §2.7: <max>0</max> asks for the count only.
  const countOnly = q.rsm?.max === 0;
  const max = Math.max(1, Math.min(q.rsm?.max ?? DEFAULT_PAGE, MAX_PAGE));
  // Epochs beyond what the store can hold have no entries.
  const page =
    q.afterEpoch !== undefined && q.afterEpoch > MAX_EPOCH
      ? { entries: [], count: 0, first: undefined, last: undefined }
      : s.store.readLog(groupId, {
          max,
          ...(q.afterEpoch !== undefined && { afterEpoch: q.afterEpoch }),
          ...(q.rsm?.after !== undefined && { afterSeq: q.rsm.after }),
        });
  const entries = countOnly ? [] : page.entries;
  return buildLogResult(
    {
      group: fromHex(groupId),
      entries: entries.map((e) => ({ seq: e.seq, epoch: e.epoch, kind: e.kind, sender: e.sender, stamp: new Date(e.stamp).toISOString(), message: e.bytes })),
      rsm: countOnly
        ? { count: page.count }
        : { count: page.count, ...(page.first !== undefined && { first: page.first }), ...(page.last !== undefined && { last: page.last }) },
    },
    s.limits.parseLimits,
  );
}
