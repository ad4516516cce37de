/**
 * Federation relay (XEP "Federation"): a client hands a request to its home DS, which forwards it
 * to the hub (the room's DS) or to a remote user's home directory.
 *
 *   client → home DS   <relay target='mls.example.org'><submit …/></relay>
 *   home DS → hub      <relay origin='carol@example.net/laptop-40aa'><submit …/></relay>
 *
 * The wrapped element is returned unparsed: the receiver dispatches it to the matching parser.
 * @module
 */
import { UsageError } from "../errors.js";
import { XmppProtocolError } from "./errors.js";
import { assertJid, jidAttr } from "./jid.js";
import { NS_MLS } from "./ns.js";
import { childElements, expectElement, optionalAttr } from "./values.js";
import { Element, xml } from "./xml.js";

/** Requests that may be relayed; results travel back as the iq result of the relayed iq. */
export const RELAYABLE = ["submit", "claim", "log", "group-info", "create"] as const;
export type RelayableName = (typeof RELAYABLE)[number];

export type RelayHop =
  /** Client → its home DS: `target` is the DS that must process the request. */
  | { readonly target: string }
  /** Home DS → target DS: `origin` is the full JID of the client that made the request. */
  | { readonly origin: string };

export type Relay = RelayHop & { readonly payload: Element };

/** XEP examples "Carol asks her DS to relay a submission" and "The DS relays it to the hub". */
export function buildRelay(v: Relay): Element {
  const name = v.payload.getName();
  if (v.payload.getNS() !== NS_MLS || !(RELAYABLE as readonly string[]).includes(name)) {
    throw new UsageError("usage.bad_relay", `only ${RELAYABLE.join(", ")} in ${NS_MLS} can be relayed, got <${name}/>`);
  }
  const attrs = "target" in v ? { target: assertJid(v.target, "domain", "target") } : { origin: assertJid(v.origin, "full", "origin") };
  return xml("relay", { xmlns: NS_MLS, ...attrs }, v.payload);
}

export function parseRelay(el: Element): Relay {
  expectElement(el, "relay");
  const hasTarget = optionalAttr(el, "target") !== undefined;
  const hasOrigin = optionalAttr(el, "origin") !== undefined;
  if (hasTarget === hasOrigin) throw new XmppProtocolError("xmpp.malformed", "<relay/> has exactly one of 'target' or 'origin'");
  const kids = childElements(el, RELAYABLE);
  if (kids.length !== 1) throw new XmppProtocolError("xmpp.malformed", `<relay/> wraps exactly one request, got ${kids.length}`);
  const payload = kids[0]!;
  return hasTarget ? { target: jidAttr(el, "target", "domain"), payload } : { origin: jidAttr(el, "origin", "full"), payload };
}
