/**
 * KeyPackage directory elements (XEP "KeyPackage Directory"): `<key-package/>` inside an
 * XEP-0060 publish, the atomic `<claim/>` and its `<key-packages/>` result, and the
 * `<key-packages-low/>` notice. Payloads are MLSMessage(KeyPackage) bytes; this module never
 * looks inside them.
 * @module
 */
import { UsageError, XmppMlsError } from "../errors.js";
import { XmppProtocolError } from "./errors.js";
import { assertJid, jidAttr } from "./jid.js";
import { keyPackageNode, keyPackageNodeOwner, NS_MLS, NS_PUBSUB } from "./ns.js";
import {
  attr, b64, boolAttr, checkOutgoing, childElements, cipherSuiteAttr, deviceAttr, expectElement, expectEmpty,
  groupIdAttr, hex, isDeviceId, limitsOf, optionalAttr, payloadText, refValue, uintAttr, type Limits,
} from "./values.js";
import { Element, isElement, xml } from "./xml.js";

/** `<key-package device cipher-suite last-resort? ref?>base64 MLSMessage(KeyPackage)</key-package>` */
export interface KeyPackageElement {
  readonly device: string;
  readonly cipherSuite: number;
  readonly lastResort: boolean;
  /** KeyPackageRef (RFC 9420 §5.2); present in claim results, absent when publishing. */
  readonly ref?: Uint8Array;
  readonly keyPackage: Uint8Array;
}

function assertDevice(device: string): void {
  if (!isDeviceId(device)) throw new UsageError("usage.bad_device", `"device" must match [A-Za-z0-9_-]{1,64}, got ${JSON.stringify(device)}`);
}

function assertSuite(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 0xffff) throw new UsageError("usage.bad_cipher_suite", `"cipherSuite" must be 1..65535, got ${n}`);
}

/** XEP example "Publishing a KeyPackage" (the payload inside `<item/>`). */
export function buildKeyPackage(v: KeyPackageElement, limits?: Partial<Limits>): Element {
  assertDevice(v.device);
  assertSuite(v.cipherSuite);
  checkOutgoing(v.keyPackage, "key-package", limitsOf(limits));
  return xml(
    "key-package",
    { xmlns: NS_MLS, device: v.device, "cipher-suite": v.cipherSuite, "last-resort": v.lastResort ? "true" : "false", ref: v.ref && hex(v.ref) },
    b64(v.keyPackage),
  );
}

export function parseKeyPackage(el: Element, limits?: Partial<Limits>): KeyPackageElement {
  expectElement(el, "key-package");
  const lim = limitsOf(limits);
  const device = deviceAttr(el);
  const cipherSuite = cipherSuiteAttr(el);
  const lastResort = boolAttr(el, "last-resort", false);
  const refText = optionalAttr(el, "ref");
  const keyPackage = payloadText(el, lim);
  const base = { device, cipherSuite, lastResort, keyPackage };
  return refText === undefined ? base : { ...base, ref: refValue(el, "ref", refText) };
}

/** A KeyPackage publication: the `<pubsub/>` child of the iq set. */
export interface KeyPackagePublish {
  /** Bare JID of the publisher; names the node. */
  readonly owner: string;
  /** Item id: the KeyPackageRef. */
  readonly ref: Uint8Array;
  readonly keyPackage: Omit<KeyPackageElement, "ref">;
}

/** XEP example "Publishing a KeyPackage" (XEP-0060 §7.1). */
export function buildKeyPackagePublish(v: KeyPackagePublish, limits?: Partial<Limits>): Element {
  assertJid(v.owner, "user", "owner");
  if (v.ref.length < 16 || v.ref.length > 64) throw new UsageError("usage.bad_ref", `"ref" must be 16..64 octets, got ${v.ref.length}`);
  const { device, cipherSuite, lastResort, keyPackage } = v.keyPackage;
  return xml(
    "pubsub",
    { xmlns: NS_PUBSUB },
    xml("publish", { node: keyPackageNode(v.owner) }, xml("item", { id: hex(v.ref) }, buildKeyPackage({ device, cipherSuite, lastResort, keyPackage }, limits))),
  );
}

/** Parses the `<pubsub/>` of a KeyPackage publication; the item id must be a ref, the payload must not carry one. */
export function parseKeyPackagePublish(pubsub: Element, limits?: Partial<Limits>): KeyPackagePublish {
  expectElement(pubsub, "pubsub", NS_PUBSUB);
  const [publish, ...rest] = childElements(pubsub, ["publish"], NS_PUBSUB);
  if (publish === undefined || rest.length > 0) throw new XmppProtocolError("xmpp.malformed", "<pubsub/> must contain exactly one <publish/>");
  const owner = keyPackageNodeOwner(attr(publish, "node"));
  if (owner === undefined) throw new XmppProtocolError("xmpp.bad_attribute", `publish@node is not a KeyPackage node`);
  const [item, ...more] = childElements(publish, ["item"], NS_PUBSUB);
  if (item === undefined || more.length > 0) throw new XmppProtocolError("xmpp.malformed", "<publish/> must contain exactly one <item/>");
  const ref = refValue(item, "id", attr(item, "id"));
  const [payload, ...extra] = item.children.filter(isElement);
  if (payload === undefined || extra.length > 0) throw new XmppProtocolError("xmpp.malformed", "<item/> must contain exactly one <key-package/>");
  const kp = parseKeyPackage(payload, limits);
  if (kp.ref !== undefined) throw new XmppProtocolError("xmpp.bad_attribute", "key-package@ref must be absent when publishing (the item id is the ref)");
  return { owner, ref, keyPackage: kp };
}

/** XEP-0060 §7.2 retraction of one of the owner's KeyPackages. */
export function buildKeyPackageRetract(owner: string, ref: Uint8Array): Element {
  assertJid(owner, "user", "owner");
  return xml("pubsub", { xmlns: NS_PUBSUB }, xml("retract", { node: keyPackageNode(owner) }, xml("item", { id: hex(ref) })));
}

/** `<claim jid cipher-suite group?/>` */
export interface Claim {
  /** Bare JID whose devices' KeyPackages are claimed. */
  readonly jid: string;
  readonly cipherSuite: number;
  /** The group the KeyPackages are for (lets the DS apply the room's policy). */
  readonly group?: Uint8Array;
}

/** XEP example "Claiming KeyPackages". */
export function buildClaim(v: Claim): Element {
  assertJid(v.jid, "user", "jid");
  assertSuite(v.cipherSuite);
  return xml("claim", { xmlns: NS_MLS, jid: v.jid, "cipher-suite": v.cipherSuite, group: v.group && hex(v.group) });
}

export function parseClaim(el: Element, limits?: Partial<Limits>): Claim {
  expectElement(el, "claim");
  expectEmpty(el);
  const jid = jidAttr(el, "jid", "user");
  const cipherSuite = cipherSuiteAttr(el);
  return optionalAttr(el, "group") === undefined ? { jid, cipherSuite } : { jid, cipherSuite, group: groupIdAttr(el, limitsOf(limits)) };
}

/** `<key-packages jid>` with one `<key-package ref=…/>` per device: the claim result. */
export interface KeyPackages {
  readonly jid: string;
  readonly keyPackages: readonly (KeyPackageElement & { readonly ref: Uint8Array })[];
}

/** XEP example "The DS returns one KeyPackage per device". */
export function buildKeyPackages(v: KeyPackages, limits?: Partial<Limits>): Element {
  assertJid(v.jid, "user", "jid");
  if (v.keyPackages.length === 0) throw new UsageError("usage.empty_claim", "an empty claim result is the no-key-packages error, not a result");
  return xml("key-packages", { xmlns: NS_MLS, jid: v.jid }, v.keyPackages.map((kp) => buildKeyPackage(kp, limits)));
}

export function parseKeyPackages(el: Element, limits?: Partial<Limits>): KeyPackages {
  expectElement(el, "key-packages");
  const lim = limitsOf(limits);
  const jid = jidAttr(el, "jid", "user");
  const kids = childElements(el, ["key-package"]);
  if (kids.length === 0) throw new XmppProtocolError("xmpp.malformed", "<key-packages/> must contain at least one <key-package/>");
  if (kids.length > lim.maxItems) throw new XmppProtocolError("xmpp.too_large", `<key-packages/> has ${kids.length} entries, limit ${lim.maxItems}`, { max: lim.maxItems });
  const seen = new Set<string>();
  const keyPackages = kids.map((k) => {
    const kp = parseKeyPackage(k, lim);
    if (kp.ref === undefined) throw new XmppProtocolError("xmpp.missing_attribute", "key-package@ref is required in a claim result");
    if (seen.has(kp.device)) throw new XmppProtocolError("xmpp.malformed", `device ${kp.device} appears twice in <key-packages/>`);
    seen.add(kp.device);
    return { ...kp, ref: kp.ref };
  });
  return { jid, keyPackages };
}

/** `<key-packages-low device cipher-suite remaining/>`: the DS's low-water notice. */
export interface KeyPackagesLow {
  readonly device: string;
  readonly cipherSuite: number;
  readonly remaining: number;
}

export function buildKeyPackagesLow(v: KeyPackagesLow): Element {
  assertDevice(v.device);
  assertSuite(v.cipherSuite);
  if (!Number.isSafeInteger(v.remaining) || v.remaining < 0) throw new UsageError("usage.bad_count", `"remaining" must be a non-negative integer`);
  return xml("key-packages-low", { xmlns: NS_MLS, device: v.device, "cipher-suite": v.cipherSuite, remaining: v.remaining });
}

export function parseKeyPackagesLow(el: Element): KeyPackagesLow {
  expectElement(el, "key-packages-low");
  expectEmpty(el);
  return { device: deviceAttr(el), cipherSuite: cipherSuiteAttr(el), remaining: uintAttr(el, "remaining", 0xffffffff) };
}

/** XEP example "Low-water notice": a headline message from the DS to the device's full JID. */
export function buildKeyPackagesLowMessage(p: { from: string; to: string; id?: string } & KeyPackagesLow): Element {
  assertJid(p.from, "domain", "from");
  assertJid(p.to, "full", "to");
  return xml("message", { from: p.from, to: p.to, type: "headline", id: p.id }, buildKeyPackagesLow(p));
}

/** Narrow helper for callers: was this a no-key-packages verdict? */
export function isNoKeyPackages(err: unknown): boolean {
  return err instanceof XmppMlsError && err.code === "ds.no_key_packages";
}
