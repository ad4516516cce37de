/** RFC 9420 §2.1.2 variable-size vector length headers against deserialization.json. */
import { expect, it } from "vitest";
import { decode, Reader } from "../../src/codec/reader.js";
import { Writer } from "../../src/codec/writer.js";
import { CodecError } from "../../src/errors.js";
import { concat, toHex } from "../../src/util/bytes.js";
import { describeVectors, h } from "../helpers/vectors.js";

interface DeserializationCase {
  vlbytes_header: string;
  length: number;
}

/** Bodies up to this size are materialized; longer ones are checked without allocating them. */
const MATERIALIZE = 1 << 16;

describeVectors<DeserializationCase>("deserialization", (cases) => {
  for (const c of cases) {
    it(`header ${c.vlbytes_header} <-> length ${c.length}`, () => {
      const header = h(c.vlbytes_header);
      // Decoding the header gives the length...
      expect(decode(header, (r) => r.varint(), "vlbytes_header")).toBe(c.length);
      // ...and our encoder produces that exact header.
      expect(toHex(new Writer().varint(c.length).finish())).toBe(c.vlbytes_header);

      if (c.length <= MATERIALIZE) {
        const body = new Uint8Array(c.length).fill(0x5a);
        const bytes = concat(header, body);
        const read = decode(bytes, (r) => r.opaque(), "opaque");
        expect(read.length).toBe(c.length);
        expect(toHex(new Writer().opaque(read).finish())).toBe(toHex(bytes));
        // The same body written through vector() (one reserved byte, widened on close).
        expect(toHex(new Writer().vector((w) => w.bytes(body)).finish())).toBe(toHex(bytes));
      } else {
        // A header claiming more bytes than present fails cleanly, without allocating the body.
        expect(() => new Reader(concat(header, new Uint8Array(3))).opaque()).toThrow(CodecError);
      }
    });
  }
});
