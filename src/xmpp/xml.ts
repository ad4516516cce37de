/**
 * The one place src/xmpp imports `@xmpp/xml` from. Re-exports `xml` (JSX-style element factory)
 * and `Element` (ltx) with the local types of `xmpp-xml.d.ts`, plus two tiny helpers.
 *
 * Build replies with this `xml`: xmpp.js's iq callee tells results from errors with
 * `reply instanceof xml.Element`, and every @xmpp/* package here shares ltx/lib/Element.js.
 * @module
 */
import { Element, xml } from "@xmpp/xml";
import type { Node } from "@xmpp/xml";

export { Element, xml };
export type { Node };

/** True for element children (ltx keeps text nodes as plain strings). */
export function isElement(n: unknown): n is Element {
  return typeof n === "object" && n !== null && typeof (n as Element).getName === "function";
}

/** Namespace-qualified name for messages: `{urn:x-xmpp-mls:0}submit`. */
export function qname(el: Element): string {
  return `{${el.getNS() ?? ""}}${el.getName()}`;
}
