/**
 * XML namespaces, disco identities and PubSub node names of xmpp-mls.
 *
 * Mirrors xep/xep-xmpp-mls.xml ("Discovery", "KeyPackage Directory", "XMPP Registrar
 * Considerations"): change the XEP first, then this file. Call sites never spell these
 * strings themselves.
 * @module
 */

/** Our protocol namespace (project-owned; the XEP asks the XMPP Registrar for `urn:xmpp:mls:0`). */
export const NS_MLS = "urn:x-xmpp-mls:0";
/** FORM_TYPE of the XEP-0128 extended disco#info form a Delivery Service returns. */
export const NS_MLS_DS_INFO = `${NS_MLS}#ds-info`;
/** Prefix of the per-user KeyPackage nodes on the Delivery Service's PubSub service. */
export const NODE_KEY_PACKAGES_PREFIX = `${NS_MLS}:key-packages:`;

/** MLS group context extension type carrying the room binding (xmpp_binding, private use, RFC 9420 §17.3). */
export const XMPP_BINDING_EXTENSION_TYPE = 0xf0a0;

// RFC 6120
export const NS_CLIENT = "jabber:client";
export const NS_SERVER = "jabber:server";
// XEP-0114
export const NS_COMPONENT = "jabber:component:accept";
/** Default namespaces a stanza may carry (or none, when built locally). */
export const STANZA_NAMESPACES: readonly (string | undefined)[] = [undefined, NS_CLIENT, NS_SERVER, NS_COMPONENT];
export const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
// XEP-0060
export const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
export const NS_PUBSUB_ERRORS = "http://jabber.org/protocol/pubsub#errors";
export const NS_PUBSUB_EVENT = "http://jabber.org/protocol/pubsub#event";
export const NS_PUBSUB_OWNER = "http://jabber.org/protocol/pubsub#owner";
// XEP-0059
export const NS_RSM = "http://jabber.org/protocol/rsm";
// XEP-0380
export const NS_EME = "urn:xmpp:eme:0";
// XEP-0334
export const NS_HINTS = "urn:xmpp:hints";
// XEP-0359
export const NS_SID = "urn:xmpp:sid:0";
// XEP-0420
export const NS_SCE = "urn:xmpp:sce:1";
// XEP-0045
export const NS_MUC = "http://jabber.org/protocol/muc";
export const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
export const NS_MUC_ADMIN = "http://jabber.org/protocol/muc#admin";
export const NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner";
// XEP-0030
export const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
export const NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items";
// XEP-0004
export const NS_DATA_FORMS = "jabber:x:data";
// XEP-0313
export const NS_MAM = "urn:xmpp:mam:2";

/** XEP-0380 `name` for the `<encryption/>` marker. */
export const EME_NAME = "MLS";

/** XEP-0030 identities of a Delivery Service (XEP "Discovery"). */
export const DS_IDENTITIES = [
  { category: "component", type: "generic", name: "MLS Delivery Service" },
  { category: "pubsub", type: "service", name: "MLS KeyPackage Directory" },
] as const;

/** Features a Delivery Service MUST advertise. */
export const DS_FEATURES = [NS_MLS, NS_PUBSUB, NS_RSM] as const;

/** PubSub node holding the KeyPackages of `bareJid` (XEP "KeyPackage Directory"). */
export function keyPackageNode(bareJid: string): string {
  return NODE_KEY_PACKAGES_PREFIX + bareJid;
}

/** The bare JID a KeyPackage node belongs to, or `undefined` if `node` is not one of ours. */
export function keyPackageNodeOwner(node: string): string | undefined {
  if (!node.startsWith(NODE_KEY_PACKAGES_PREFIX)) return undefined;
  const owner = node.slice(NODE_KEY_PACKAGES_PREFIX.length);
  return owner.length > 0 ? owner : undefined;
}
