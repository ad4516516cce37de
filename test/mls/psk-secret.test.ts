/** RFC 9420 §8.4 PSK chaining and the PreSharedKeyID codec, against psk_secret.json. */
import { describe, expect, it } from "vitest";
import { Reader, decode } from "../../src/codec/reader.js";
import { encode } from "../../src/codec/writer.js";
import { CodecError } from "../../src/errors.js";
import {
  pskTypes,
  readPreSharedKeyId,
  resumptionPskUsages,
  writePreSharedKeyId,
  type PreSharedKeyId,
} from "../../src/mls/core/pre-shared-key-id.js";
import { derivePskSecret, encodePskLabel } from "../../src/mls/schedule/psk.js";
import { toHex } from "../../src/util/bytes.js";
import { PROVIDERS } from "../helpers/providers.js";
import { describeVectors, h } from "../helpers/vectors.js";

interface PskSecretCase {
  cipher_suite: number;
  psks: { psk_id: string; psk: string; psk_nonce: string }[];
  psk_secret: string;
}

describeVectors<PskSecretCase>("psk_secret", (cases) => {
  for (const p of PROVIDERS) {
    describe(p.name, () => {
      cases.forEach((c, i) => {
        it(`#${i} suite ${c.cipher_suite}, ${c.psks.length} PSKs`, () => {
          const cs = p.suite(c.cipher_suite);
          const psks = c.psks.map((x) => ({
            id: { psktype: pskTypes.external, pskId: h(x.psk_id), pskNonce: h(x.psk_nonce) } as const,
            psk: h(x.psk),
          }));
          expect(toHex(derivePskSecret(cs, psks))).toBe(c.psk_secret);
        });
      });
    });
  }
});

describe("PreSharedKeyID codec (RFC 9420 §8.4)", () => {
  const external: PreSharedKeyId = { psktype: pskTypes.external, pskId: h("0102"), pskNonce: h("aabbcc") };
  const resumption: PreSharedKeyId = {
    psktype: pskTypes.resumption,
    usage: resumptionPskUsages.branch,
    pskGroupId: h("67"),
    pskEpoch: 0x0102030405060708n,
    pskNonce: h("ff"),
  };

  it("encodes the external arm", () => {
    expect(toHex(encode(external, writePreSharedKeyId))).toBe("01" + "020102" + "03aabbcc");
  });

  it("encodes the resumption arm", () => {
    expect(toHex(encode(resumption, writePreSharedKeyId))).toBe("02" + "03" + "0167" + "0102030405060708" + "01ff");
  });

  it("round-trips both arms", () => {
    for (const v of [external, resumption]) {
      expect(decode(encode(v, writePreSharedKeyId), readPreSharedKeyId, "PreSharedKeyID")).toEqual(v);
    }
  });

  it("rejects an unknown PSKType and ResumptionPSKUsage", () => {
    expect(() => readPreSharedKeyId(new Reader(h("000100")))).toThrow(expect.objectContaining({ code: "codec.bad_enum" }));
    expect(() => readPreSharedKeyId(new Reader(h("03")))).toThrow(CodecError);
    expect(() => readPreSharedKeyId(new Reader(h("0204016700000000000000000100")))).toThrow(expect.objectContaining({ code: "codec.bad_enum" }));
  });

  it("encodes PSKLabel as id || uint16 index || uint16 count", () => {
    expect(toHex(encodePskLabel({ id: external, index: 2, count: 3 }))).toBe("01020102" + "03aabbcc" + "0002" + "0003");
  });
});
