/**
 * Service discovery of the DS (XEP "Discovery", XEP-0030, XEP-0128):
 *
 * - disco#info on the DS JID: identities `component/generic` and `pubsub/service`, the features
 *   of {@link DS_FEATURES} plus disco#info, and the `urn:x-xmpp-mls:0#ds-info` form (cipher
 *   suites, sizes, rate limit, the DS's ExternalSender, ...);
 * - disco#info on a node: `item-not-found` (KeyPackage nodes are not browsable);
 * - disco#items: empty (KeyPackage nodes are not listed: the directory reveals no accounts).
 *
 * The ds-info form carries one `external-sender` value: the DS's ExternalSender for the first
 * configured cipher suite. Groups of a suite with another signature scheme need that scheme's
 * ExternalSender ({@link DsIdentity.externalSender}); the form has no field for it yet.
 * @module
 */
import { buildDsDiscoInfo, type DsInfo } from "../xmpp/ds-info.js";
import { NS_DISCO_INFO, NS_DISCO_ITEMS } from "../xmpp/ns.js";
import { xml } from "../xmpp/xml.js";
import { XmppProtocolError } from "../xmpp/errors.js";
import type { Router } from "./router.js";
import type { DsServices } from "./services.js";

/** Seconds the DS keeps log entries: it keeps them all, so it advertises the XEP default minimum. */
export const LOG_RETENTION_SECONDS = 30 * 24 * 3600;

/** The ds-info values of this DS. */
export function dsInfoOf(s: DsServices): DsInfo {
  const { limits, policy } = s.config;
  const firstSuite = limits.cipherSuites[0] ?? 1;
  return {
    cipherSuites: limits.cipherSuites,
    maxMessageSize: limits.maxPayloadBytes,
    handshakeWireFormats: policy.handshakeWireFormat === "public" ? ["mls_public_message"] : ["mls_public_message", "mls_private_message"],
    externalJoins: policy.allowExternalJoin,
    keyPackageLowWater: limits.keyPackageLowWater,
    submitRateLimit: limits.rateLimits.submitPerMinute,
    externalSender: s.identity.externalSenderBytes(firstSuite),
    logRetention: LOG_RETENTION_SECONDS,
  };
}

export function registerDisco(router: Router, s: DsServices): void {
  router.get(NS_DISCO_INFO, "query", ({ element }) => {
    if (element.attrs.node !== undefined) throw new XmppProtocolError("ds.item_not_found", "no such node");
    const q = buildDsDiscoInfo(dsInfoOf(s));
    q.append(xml("feature", { var: NS_DISCO_INFO }));
    return q;
  });
  router.get(NS_DISCO_ITEMS, "query", ({ element }) => {
    if (element.attrs.node !== undefined) throw new XmppProtocolError("ds.item_not_found", "no such node");
    return xml("query", { xmlns: NS_DISCO_ITEMS });
  });
}
