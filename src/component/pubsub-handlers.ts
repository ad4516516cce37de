/**
 * The KeyPackage directory as an XEP-0060 service (XEP "KeyPackage Directory"): the stanza layer
 * over {@link KeyDirectory}.
 *
 *   set  <pubsub><publish node=…:key-packages:<bare>><item id=ref><key-package/></item></publish></pubsub>
 *   set  <pubsub><retract node=…><item id=ref/></retract></pubsub>           (owner only)
 *   get  <pubsub><items node=… max_items?/></pubsub>                          (owner only)
 *   set  <pubsub><create node=…/></pubsub>                                    (own node: no-op success)
 *   anything else, and pubsub#owner: feature-not-implemented
 *
 * Nodes are virtual: a user's node exists once they publish to it (XEP-0060 auto-create) and its
 * only owner is that bare JID. The `cipher-suite` attribute must match the KeyPackage and the
 * `last-resort` attribute is authoritative for the directory (XEP "Last-resort KeyPackages").
 * The XEP-0060 `<retract/>`, `<items/>` and `<create/>` requests are read here (src/xmpp parses
 * only our own elements and the publish wrapper).
 * @module
 */
import { toHex } from "../util/bytes.js";
import { XmppProtocolError } from "../xmpp/errors.js";
import { buildKeyPackage, parseKeyPackagePublish } from "../xmpp/key-package-stanzas.js";
import { keyPackageNode, keyPackageNodeOwner, NS_PUBSUB, NS_PUBSUB_OWNER } from "../xmpp/ns.js";
import { isElement, xml, type Element } from "../xmpp/xml.js";
import { DsError } from "./errors.js";
import type { PublishHints } from "./kp-validator.js";
import type { IqRequest, Router } from "./router.js";
import type { DsServices } from "./services.js";
import { bareOf } from "./store/validate.js";

function notImplemented(what: string): XmppProtocolError {
  return new XmppProtocolError("ds.not_implemented", `${what} is not supported by the KeyPackage directory`);
}

/** The single action element of a `<pubsub/>` request (XEP-0060 allows `<publish-options/>` beside `<publish/>`). */
function actionOf(pubsub: Element): Element {
  const kids = pubsub.children.filter(isElement).filter((c) => !(c.getName() === "publish-options" && c.getNS() === NS_PUBSUB));
  const [action, ...rest] = kids;
  if (action === undefined || rest.length > 0) throw new XmppProtocolError("xmpp.malformed", "<pubsub/> must carry exactly one action");
  if (action.getNS() !== NS_PUBSUB) throw new XmppProtocolError("xmpp.wrong_namespace", `<${action.getName()}/> is not in ${NS_PUBSUB}`);
  return action;
}

/** The owner (bare JID) of a KeyPackage node named by `el@node`. */
function nodeOwner(el: Element): string {
  const node = el.attrs.node;
  if (node === undefined) throw new XmppProtocolError("xmpp.missing_attribute", `<${el.getName()}/> needs a 'node'`);
  const owner = keyPackageNodeOwner(node);
  if (owner === undefined) throw new XmppProtocolError("ds.item_not_found", "no such node");
  return owner;
}

function sameAccount(a: string, b: string): boolean {
  return bareOf(a).toLowerCase() === bareOf(b).toLowerCase();
}

export function registerPubsub(router: Router, s: DsServices): void {
  const hints = s.publishHints;
  router.set(NS_PUBSUB, "pubsub", async (req) => {
    const action = actionOf(req.element);
    switch (action.getName()) {
      case "publish":
        return publish(s, hints, req);
      case "retract":
        return retract(s, req, action);
      case "create":
        return create(req, action);
      default:
        throw notImplemented(`pubsub <${action.getName()}/>`);
    }
  });
  router.get(NS_PUBSUB, "pubsub", (req) => {
    const action = actionOf(req.element);
    if (action.getName() !== "items") throw notImplemented(`pubsub get <${action.getName()}/>`);
    return items(s, req, action);
  });
  router.get(NS_PUBSUB_OWNER, "pubsub", () => {
    throw notImplemented("node configuration");
  });
  router.set(NS_PUBSUB_OWNER, "pubsub", () => {
    throw notImplemented("node configuration");
  });
}

/** XEP "Publishing KeyPackages" (XEP-0060 §7.1). */
async function publish(s: DsServices, hints: WeakMap<Uint8Array, PublishHints>, req: IqRequest): Promise<Element> {
  // Only the <publish/> goes to the parser; publish-options are accepted and ignored.
  const only = xml("pubsub", { xmlns: NS_PUBSUB }, req.element.getChild("publish", NS_PUBSUB));
  const p = parseKeyPackagePublish(only, s.limits.parseLimits);
  if (!sameAccount(p.owner, req.from)) throw new DsError("ds.forbidden", "only the owner may publish to a KeyPackage node");
  const bytes = p.keyPackage.keyPackage;
  hints.set(bytes, { cipherSuite: p.keyPackage.cipherSuite, lastResort: p.keyPackage.lastResort });
  try {
    const out = await s.directory.publish(req.from, p.keyPackage.device, toHex(p.ref), bytes);
    s.logger.debug("KeyPackage published", { owner: out.owner, device: out.deviceId, lastResort: out.lastResort, duplicate: out.duplicate });
    return xml("pubsub", { xmlns: NS_PUBSUB }, xml("publish", { node: keyPackageNode(out.owner) }, xml("item", { id: out.ref })));
  } finally {
    hints.delete(bytes);
  }
}

/** XEP-0060 §7.2; XEP "Listing and Retracting". */
function retract(s: DsServices, req: IqRequest, action: Element): void {
  const owner = nodeOwner(action);
  const items = action.getChildren("item", NS_PUBSUB);
  if (items.length !== 1 || items[0]?.attrs.id === undefined) throw new XmppProtocolError("xmpp.malformed", "<retract/> names exactly one <item id/>");
  s.directory.retract(req.from, owner, items[0].attrs.id);
}

/** XEP-0060 §6.5; only the owner may list (XEP "KeyPackage Nodes"). */
function items(s: DsServices, req: IqRequest, action: Element): Element {
  const owner = nodeOwner(action);
  const maxRaw = action.attrs.max_items;
  const max = maxRaw === undefined ? undefined : Number(maxRaw);
  if (max !== undefined && !(Number.isSafeInteger(max) && max > 0)) throw new XmppProtocolError("xmpp.bad_attribute", "max_items must be a positive integer");
  let list = s.directory.list(req.from, owner);
  if (max !== undefined && list.length > max) list = list.slice(list.length - max);
  return xml(
    "pubsub",
    { xmlns: NS_PUBSUB },
    xml(
      "items",
      { node: keyPackageNode(bareOf(req.from).toLowerCase()) },
      list.map((r) =>
        xml("item", { id: r.ref }, buildKeyPackage({ device: r.deviceId, cipherSuite: r.cipherSuite, lastResort: r.lastResort, keyPackage: r.bytes }, s.limits.parseLimits)),
      ),
    ),
  );
}

/** XEP-0060 §8.1: creating one's own node is a no-op (nodes exist implicitly); others are forbidden. */
function create(req: IqRequest, action: Element): void {
  if (action.attrs.node === undefined) throw notImplemented("instant nodes");
  const owner = keyPackageNodeOwner(action.attrs.node);
  if (owner === undefined) throw notImplemented("nodes other than KeyPackage nodes");
  if (!sameAccount(owner, req.from)) throw new DsError("ds.forbidden", "a KeyPackage node belongs to its account");
}
