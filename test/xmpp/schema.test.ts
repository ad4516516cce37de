/**
 * Keeps code, schema and protocol document in step:
 *  - every element the builders emit validates against xep/xmpp-mls.xsd;
 *  - every example in the XEP is well-formed, its elements in our namespace validate against the
 *    schema and parse with our codec;
 *  - every element the schema declares is emitted by a builder and shown in an example;
 *  - the XEP's "XML Schema" section is the .xsd file, and the XEP is well-formed.
 */
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { utf8 } from "../../src/util/bytes.js";
import { NS_DATA_FORMS, NS_MLS, NS_SCE, parseDsInfoForm, parseEnvelope, parseStrictXml, type Element } from "../../src/xmpp/index.js";
import { parseOurElement } from "./example-parsers.js";
import { allBuiltElements } from "./samples.js";
import { describeWithXmllint, removeTempDirs, ROOT, schemaFailures, tempDir, writeDocs, XEP, XSD, xmllint } from "./xmllint.js";

afterAll(removeTempDirs);

const xepText = readFileSync(XEP, "utf8");
const xsdText = readFileSync(XSD, "utf8");

/** Elements in our namespace whose parent is not (the roots of our payloads inside stanzas). */
function ourRoots(el: Element, out: Element[] = []): Element[] {
  if (el.getNS() === NS_MLS && el.parent?.getNS() !== NS_MLS) out.push(el);
  else for (const c of el.getChildElements()) ourRoots(c, out);
  return out;
}

/** Every element name in our namespace, at any depth. */
function ourNames(el: Element, out = new Set<string>()): Set<string> {
  if (el.getNS() === NS_MLS) out.add(el.getName());
  for (const c of el.getChildElements()) ourNames(c, out);
  return out;
}

/** Serialises `el` as a standalone document (the namespace may have been inherited). */
function standalone(el: Element): string {
  const had = el.attrs.xmlns;
  el.attrs.xmlns = NS_MLS;
  const s = `<?xml version='1.0' encoding='UTF-8'?>\n${el.toString()}\n`;
  el.attrs.xmlns = had;
  return s;
}

interface Example {
  readonly caption: string;
  readonly text: string;
}

const EXAMPLES: Example[] = [...xepText.matchAll(/<example caption=(['"])(.*?)\1><!\[CDATA\[([\s\S]*?)\]\]><\/example>/g)].map((m) => ({
  caption: m[2]!,
  text: m[3]!,
}));
const exampleTrees = (): Element[] => EXAMPLES.map((e) => parseStrictXml(`<examples>${e.text}</examples>`));

/** Global element names declared by the schema. */
const SCHEMA_ELEMENTS = [...xsdText.matchAll(/^ {2}<xs:element name='([a-z-]+)'/gm)].map((m) => m[1]!);

describeWithXmllint("xmpp-mls XML schema", () => {
  it("the schema itself is a valid XML Schema and rejects a bad document", () => {
    const [bad] = writeDocs("neg", [{ name: "bad", text: `<accepted xmlns='${NS_MLS}' seq='01' epoch='x'/>` }]);
    const failures = schemaFailures([bad!]);
    expect(failures).toHaveLength(1);
    expect(failures[0]!.errors).toMatch(/seq|epoch/);
  });

  it("every element the builders emit validates", () => {
    const roots = allBuiltElements().flatMap((e) => ourRoots(e));
    expect(roots.length).toBeGreaterThan(40);
    const files = writeDocs("built", roots.map((r) => ({ name: r.getName(), text: standalone(r) })));
    expect(schemaFailures(files)).toEqual([]);
  });

  it("every schema element is emitted by some builder", () => {
    const names = new Set<string>();
    for (const e of allBuiltElements()) ourNames(e, names);
    expect(SCHEMA_ELEMENTS.length).toBeGreaterThanOrEqual(22);
    expect(SCHEMA_ELEMENTS.filter((n) => !names.has(n))).toEqual([]);
  });

  it("the XEP has examples, and every one is well-formed (xmllint, namespace-aware)", () => {
    expect(EXAMPLES.length).toBeGreaterThan(30);
    const files = writeDocs("wf", EXAMPLES.map((e) => ({ name: e.caption, text: `<examples>${e.text}</examples>` })));
    const r = xmllint(["--noout", "--nonet", ...files]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("every element of our namespace in the XEP examples validates", () => {
    const docs = exampleTrees().flatMap((t, i) => ourRoots(t).map((r) => ({ name: `${EXAMPLES[i]!.caption}-${r.getName()}`, text: standalone(r) })));
    expect(docs.length).toBeGreaterThan(25);
    expect(schemaFailures(writeDocs("examples", docs))).toEqual([]);
  });

  it("every schema element appears in an example", () => {
    const names = new Set<string>();
    for (const t of exampleTrees()) ourNames(t, names);
    expect(SCHEMA_ELEMENTS.filter((n) => !names.has(n))).toEqual([]);
  });

  it("the XEP's XML Schema section is exactly xep/xmpp-mls.xsd", () => {
    const m = /<section1 topic='XML Schema' anchor='schema'>[\s\S]*?<code><!\[CDATA\[\n([\s\S]*?)\n\]\]><\/code>/.exec(xepText);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(xsdText.replace(/\n+$/, ""));
  });

  it("the XEP is well-formed with stub xep.ent/xep.dtd (the XSF's entities are not shipped)", () => {
    const dir = tempDir("xep");
    copyFileSync(XEP, join(dir, "xep.xml"));
    const body = xepText.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, "");
    const declared = new Set([...xepText.matchAll(/<!ENTITY\s+(?:%\s+)?([\w.-]+)/g)].map((m) => m[1]!));
    const used = new Set([...body.matchAll(/&([A-Za-z_][\w.-]*);/g)].map((m) => m[1]!));
    for (const n of ["amp", "lt", "gt", "quot", "apos", ...declared]) used.delete(n);
    writeFileSync(join(dir, "xep.ent"), [...used].map((n) => `<!ENTITY ${n} "[${n}]">\n`).join(""));
    writeFileSync(join(dir, "xep.dtd"), "");
    const r = xmllint(["--noout", "--noent", "--nonet", "xep.xml"], dir);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});

it("every element of our namespace in the XEP examples parses with the codec", () => {
  let parsed = 0;
  for (const [i, t] of exampleTrees().entries()) {
    for (const r of ourRoots(t)) {
      expect(() => parseOurElement(r), `${EXAMPLES[i]!.caption}: <${r.getName()}/>`).not.toThrow();
      parsed++;
    }
  }
  expect(parsed).toBeGreaterThan(25);
});

it("the SCE envelope and ds-info examples parse with the codec", () => {
  let envelopes = 0;
  let forms = 0;
  for (const t of exampleTrees()) {
    for (const c of t.getChildElements()) {
      if (c.getName() === "envelope" && c.getNS() === NS_SCE) {
        expect(parseEnvelope(utf8(c.toString())).from).toMatch(/\//);
        envelopes++;
      }
    }
    const stack = [t];
    while (stack.length > 0) {
      const e = stack.pop()!;
      if (e.getName() === "x" && e.getNS() === NS_DATA_FORMS) {
        expect(parseDsInfoForm(e).cipherSuites.length).toBeGreaterThan(0);
        forms++;
      }
      stack.push(...e.getChildElements());
    }
  }
  expect(envelopes).toBe(1);
  expect(forms).toBe(1);
});

it("every XEP example cited in src/xmpp exists in the XEP", () => {
  const captions = new Set(EXAMPLES.map((e) => e.caption.replace(/&apos;/g, "'")));
  const dir = join(ROOT, "src", "xmpp");
  const cited: string[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".ts"))) {
    const text = readFileSync(join(dir, f), "utf8");
    for (const m of text.matchAll(/XEP examples? ((?:"[^"]+"(?: and )?)+)/g)) cited.push(...[...m[1]!.matchAll(/"([^"]+)"/g)].map((x) => x[1]!));
  }
  expect(cited.length).toBeGreaterThan(15);
  expect(cited.filter((c) => !captions.has(c))).toEqual([]);
});
