/**
 * The portable crypto provider: all seven RFC 9420 cipher suites (§17.1) on pure-JavaScript
 * libraries (@noble/hashes, @noble/ciphers, @noble/curves) plus hpke-js for HPKE, so it runs in
 * browsers as well as Node.
 *
 *   suite(id) ─┬─ hash.ts       Hash, MAC, KDF (HKDF)
 *              ├─ aead.ts       AES-GCM / ChaCha20-Poly1305
 *              ├─ signature.ts  Ed25519 / Ed448 / ECDSA (DER)
 *              └─ hpke.ts       HPKE base mode (hpke-js)
 *
 * One frozen {@link CipherSuite} object is built per id, on first use, and reused.
 * @module
 */
import { randomBytes } from "@noble/hashes/utils.js";
import { UsageError } from "../../errors.js";
import { SUITES, isCipherSuiteId } from "../cipher-suite.js";
import type { CipherSuite, CipherSuiteId, CryptoProvider } from "../cipher-suite.js";
import { aeadOps } from "./aead.js";
import { hashOps } from "./hash.js";
import { hpkeOps } from "./hpke.js";
import { signatureOps } from "./signature.js";

const PROVIDER_NAME = "portable";

function buildSuite(id: CipherSuiteId): CipherSuite {
  const params = SUITES[id];
  return Object.freeze({
    params,
    provider: PROVIDER_NAME,
    randomBytes(n: number): Uint8Array {
      if (!Number.isInteger(n) || n < 0) throw new UsageError("usage.invalid_length", `randomBytes length must be a non-negative integer, got ${n}`);
      return randomBytes(n);
    },
    ...hashOps(params.hash),
    ...aeadOps(params.aead, params.Nk, params.Nn),
    ...signatureOps(params.signature),
    ...hpkeOps(params),
  });
}

const suites = new Map<CipherSuiteId, CipherSuite>();

export const portableProvider: CryptoProvider = Object.freeze({
  name: PROVIDER_NAME,
  supports(id: number): boolean {
    return isCipherSuiteId(id);
  },
  suite(id: number): CipherSuite {
    if (!isCipherSuiteId(id)) throw new UsageError("usage.unsupported_cipher_suite", `cipher suite ${id} is not supported by the ${PROVIDER_NAME} provider`);
    let cs = suites.get(id);
    if (cs === undefined) {
      cs = buildSuite(id);
      suites.set(id, cs);
    }
    return cs;
  },
});
