/**
 * Local type declarations for the untyped parts of xmpp.js we call: `@xmpp/xml` 0.14 (an ltx
 * re-export) and ltx's SAX tokenizer. Only what src/xmpp uses is declared; import through
 * `src/xmpp/xml.ts`, not from here.
 */

declare module "@xmpp/xml" {
  export type Node = Element | string;

  /** ltx `Element` (ltx/lib/Element.js): one class shared by every @xmpp/* package in the tree. */
  export class Element {
    constructor(name: string, attrs?: Record<string, string> | string);
    name: string;
    parent: Element | null;
    children: Node[];
    attrs: Record<string, string | undefined>;
    is(name: string, xmlns?: string): boolean;
    getName(): string;
    getNS(): string | undefined;
    getAttr(name: string, xmlns?: string): string | undefined;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildElements(): Element[];
    getText(): string;
    getChildText(name: string, xmlns?: string): string | null;
    c(name: string, attrs?: Record<string, string>): Element;
    cnode(child: Element): Element;
    append(...nodes: Node[]): void;
    t(text: string): Element;
    up(): Element;
    root(): Element;
    remove(el: Element | string, xmlns?: string): Element;
    attr(name: string, value?: string): Element | string | undefined;
    toString(): string;
  }

  export type Attrs = Record<string, string | number | undefined | null>;
  export type Child = Node | number | boolean | null | undefined | readonly Child[];

  export function xml(name: string, attrs?: Attrs | null, ...children: Child[]): Element;
  export function escapeXML(s: string): string;
  export function escapeXMLText(s: string): string;
  export function unescapeXML(s: string): string;

  interface XmlFunction {
    (name: string, attrs?: Attrs | null, ...children: Child[]): Element;
    Element: typeof Element;
  }
  const xmlDefault: XmlFunction;
  export default xmlDefault;
}

declare module "ltx/lib/parsers/ltx.js" {
  import type { EventEmitter } from "node:events";

  /** ltx's SAX tokenizer: emits startElement/endElement/text; skips comments, PIs and DOCTYPE. */
  class SaxLtx extends EventEmitter {
    constructor();
    write(data: string): void;
    end(data?: string): void;
    on(event: "startElement", listener: (name: string, attrs: Record<string, string>) => void): this;
    on(event: "endElement", listener: (name: string, selfClosing: boolean) => void): this;
    on(event: "text", listener: (text: string) => void): this;
    on(event: "error", listener: (err: Error) => void): this;
  }
  export default SaxLtx;
}
