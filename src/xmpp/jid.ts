/**
 * JID syntax checks for attribute values (RFC 7622 §3, without PRECIS normalisation: the server
 * stamps and normalises `from`; these checks only keep malformed strings out of our elements).
 * @module
 */
import { UsageError } from "../errors.js";
import { XmppProtocolError } from "./errors.js";
import { attr, optionalAttr } from "./values.js";
import { Element, qname } from "./xml.js";

export interface JidParts {
  readonly local: string | undefined;
  readonly domain: string;
  readonly resource: string | undefined;
}

// RFC 7622 §3.3.1: these characters are not allowed in a localpart.
const LOCAL = /^[^\s"&'/:<>@\u0000-\u001f]{1,1023}$/u;
const DOMAIN = /^[^\s/@\u0000-\u001f]{1,1023}$/u;
const RESOURCE = /^[^\u0000-\u001f]{1,1023}$/u;

/** Splits a JID; `undefined` if it is not syntactically valid. */
export function splitJid(s: string): JidParts | undefined {
  const slash = s.indexOf("/");
  const bare = slash < 0 ? s : s.slice(0, slash);
  const resource = slash < 0 ? undefined : s.slice(slash + 1);
  const at = bare.indexOf("@");
  const local = at < 0 ? undefined : bare.slice(0, at);
  const domain = at < 0 ? bare : bare.slice(at + 1);
  if (local !== undefined && !LOCAL.test(local)) return undefined;
  if (!DOMAIN.test(domain) || domain.startsWith(".") || domain.endsWith(".")) return undefined;
  if (resource !== undefined && !RESOURCE.test(resource)) return undefined;
  return { local, domain, resource };
}

export type JidShape = "user" | "full" | "domain" | "any";

function fits(p: JidParts | undefined, shape: JidShape): p is JidParts {
  if (p === undefined) return false;
  switch (shape) {
    case "user": return p.local !== undefined && p.resource === undefined;
    case "full": return p.local !== undefined && p.resource !== undefined;
    case "domain": return p.local === undefined && p.resource === undefined;
    case "any": return true;
  }
}

const SHAPE_TEXT: Record<JidShape, string> = {
  user: "a bare JID localpart@domain",
  full: "a full JID localpart@domain/resource",
  domain: "a domain JID",
  any: "a JID",
};

export function isJid(s: string, shape: JidShape): boolean {
  return fits(splitJid(s), shape);
}

/** Required JID attribute of the given shape. */
export function jidAttr(el: Element, name: string, shape: JidShape): string {
  const v = attr(el, name);
  if (!isJid(v, shape)) {
    throw new XmppProtocolError("xmpp.bad_attribute", `${qname(el)}@${name} must be ${SHAPE_TEXT[shape]}, got ${JSON.stringify(v.slice(0, 80))}`);
  }
  return v;
}

export function optionalJidAttr(el: Element, name: string, shape: JidShape): string | undefined {
  return optionalAttr(el, name) === undefined ? undefined : jidAttr(el, name, shape);
}

/** Builder-side check: a caller passing a malformed JID is a programming error. */
export function assertJid(v: string, shape: JidShape, what: string): string {
  if (!isJid(v, shape)) throw new UsageError("usage.bad_jid", `"${what}" must be ${SHAPE_TEXT[shape]}, got ${JSON.stringify(v.slice(0, 80))}`);
  return v;
}

/** `user@domain/resource` → `user@domain`. */
export function bareJid(jid: string): string {
  const slash = jid.indexOf("/");
  return slash < 0 ? jid : jid.slice(0, slash);
}
