/**
 * xmpp-mls stanza layer: namespaces, pure element builders/parsers, stanza errors and the SCE
 * envelope. Knows XML, not MLS: every payload is `Uint8Array` (a serialised MLSMessage) and
 * callers decode it. The protocol is specified in xep/xep-xmpp-mls.xml.
 * @module
 */
export * from "./ns.js";
export * from "./xml.js";
export * from "./errors.js";
export * from "./values.js";
export * from "./jid.js";
export * from "./key-package-stanzas.js";
export * from "./group-stanzas.js";
export * from "./submit-stanzas.js";
export * from "./delivery-stanzas.js";
export * from "./log-stanzas.js";
export * from "./relay-stanzas.js";
export * from "./ds-info.js";
export * from "./strict-xml.js";
export * from "./sce.js";
