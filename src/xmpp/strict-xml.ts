/**
 * A strict XML reader for decrypted payloads (the SCE envelope inside MLS application data).
 *
 * ltx's own `parse()` is built for streams and forgiving: it ignores a second root, text after
 * the root and mismatched end tags. Here ltx's SAX tokenizer is driven directly and the document
 * must be exactly one element: no XML declaration, DOCTYPE, processing instruction or comment
 * (so no entity declarations), matching end tags, only whitespace outside the root, only the
 * five predefined and numeric character references, and a bounded depth and size.
 * @module
 */
import SaxLtx from "ltx/lib/parsers/ltx.js";
import { XmppProtocolError } from "./errors.js";
import { Element } from "./xml.js";

export interface StrictXmlOptions {
  /** Maximum input length in UTF-16 code units. */
  readonly maxLength?: number;
  /** Maximum element nesting depth. */
  readonly maxDepth?: number;
}

const fail = (msg: string): never => {
  throw new XmppProtocolError("xmpp.malformed", `not a single well-formed element: ${msg}`);
};

// Anything that would open a declaration, PI or comment. CDATA sections are allowed.
const FORBIDDEN_MARKUP = /<\?|<!(?!\[CDATA\[)/;
const CDATA = /<!\[CDATA\[[\s\S]*?\]\]>/g;
const BAD_AMP = /&(?!(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});)/;

/** Parses `text` into exactly one element, or throws `xmpp.malformed`. */
export function parseStrictXml(text: string, opts: StrictXmlOptions = {}): Element {
  const maxLength = opts.maxLength ?? 1 << 20;
  const maxDepth = opts.maxDepth ?? 32;
  if (text.length > maxLength) fail(`longer than ${maxLength} characters`);
  if (FORBIDDEN_MARKUP.test(text)) fail("declarations, processing instructions and comments are not allowed");
  const outsideCdata = text.replace(CDATA, "");
  if (BAD_AMP.test(outsideCdata)) fail("'&' that does not start a character reference");
  if (outsideCdata.includes("]]>")) fail("']]>' outside a CDATA section");

  const sax = new SaxLtx();
  const stack: Element[] = [];
  let root: Element | undefined;
  let closed = false;

  sax.on("startElement", (name, attrs) => {
    if (closed || (root !== undefined && stack.length === 0)) fail("more than one root element");
    if (!/^[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?$/.test(name)) fail(`bad element name ${JSON.stringify(name.slice(0, 40))}`);
    if (stack.length >= maxDepth) fail(`nested deeper than ${maxDepth}`);
    const el = new Element(name, attrs);
    const parent = stack[stack.length - 1];
    if (parent) parent.cnode(el);
    else root = el;
    stack.push(el);
  });
  sax.on("endElement", (name) => {
    const top = stack.pop();
    if (top === undefined || top.name !== name) fail(`end tag </${name}> does not match`);
    if (stack.length === 0) closed = true;
  });
  sax.on("text", (t) => {
    const top = stack[stack.length - 1];
    if (top) top.t(t);
    else if (t.trim() !== "") fail("text outside the root element");
  });

  try {
    sax.write(text);
    sax.end();
  } catch (e) {
    if (e instanceof XmppProtocolError) throw e;
    throw new XmppProtocolError("xmpp.malformed", `not well-formed XML: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (root === undefined) fail("no element");
  if (!closed || stack.length > 0) fail("unclosed element");
  // A trailing fragment such as "<env/><" is buffered by the tokenizer rather than reported.
  const tail = text.slice(text.lastIndexOf(">") + 1);
  if (tail.trim() !== "") fail("content after the root element");
  return root!;
}
