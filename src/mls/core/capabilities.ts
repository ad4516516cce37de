/**
 * Capabilities (RFC 9420 §7.2): what a client supports. Unknown values (including GREASE, §13.5)
 * are kept as plain numbers; deciding support is validation's job.
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, type Writer } from "../../codec/writer.js";

/**
 * RFC 9420 §7.2:
 *   struct {
 *       ProtocolVersion versions<V>;
 *       CipherSuite cipher_suites<V>;
 *       ExtensionType extensions<V>;
 *       ProposalType proposals<V>;
 *       CredentialType credentials<V>;
 *   } Capabilities;
 */
export interface Capabilities {
  readonly versions: readonly number[];
  readonly cipherSuites: readonly number[];
  readonly extensions: readonly number[];
  readonly proposals: readonly number[];
  readonly credentials: readonly number[];
}

/**
 * `uint16 values<V>`: every listed type in this file is a uint16. Interned per reader (the
 * lists of a tree's leaves repeat, GREASE values included): treat the result as immutable.
 */
export function readUint16List(r: Reader): readonly number[] {
  return r.interned("uint16_list", r.peekVectorsSpan(1), readList);
}

function readList(r: Reader): number[] {
  return r.vector(() => r.u16());
}

export function writeUint16List(w: Writer, list: readonly number[]): void {
  w.array(list, (w, v) => w.u16(v));
}

export function readCapabilities(r: Reader): Capabilities {
  const versions = r.field("versions", () => readUint16List(r));
  const cipherSuites = r.field("cipher_suites", () => readUint16List(r));
  const extensions = r.field("extensions", () => readUint16List(r));
  const proposals = r.field("proposals", () => readUint16List(r));
  const credentials = r.field("credentials", () => readUint16List(r));
  return { versions, cipherSuites, extensions, proposals, credentials };
}

export function writeCapabilities(w: Writer, v: Capabilities): void {
  writeUint16List(w, v.versions);
  writeUint16List(w, v.cipherSuites);
  writeUint16List(w, v.extensions);
  writeUint16List(w, v.proposals);
  writeUint16List(w, v.credentials);
}

export function encodeCapabilities(v: Capabilities): Uint8Array {
  return encode(v, writeCapabilities);
}

export function decodeCapabilities(bytes: Uint8Array): Capabilities {
  return decode(bytes, readCapabilities, "Capabilities");
}
