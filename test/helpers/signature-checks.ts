/**
 * Signature checks for batch-verifier tests: `n` messages, each signed with its own fresh key.
 * @module
 */
import type { CipherSuite } from "../../src/crypto/cipher-suite.js";
import type { SignatureCheck } from "../../src/mls/tree/leaf-signature.js";
import { utf8 } from "../../src/util/bytes.js";

/** Checks 0..n-1 (`leafIndex` = position); those in `bad` have one signature bit flipped. */
export function signatureChecks(cs: CipherSuite, n: number, bad: ReadonlySet<number> = new Set()): SignatureCheck[] {
  return Array.from({ length: n }, (_, i) => {
    const kp = cs.signatureKeyPair();
    const message = utf8(`message ${i}`);
    const signature = cs.sign(kp.privateKey, message);
    if (bad.has(i)) signature[5] = signature[5]! ^ 0x10;
    return { leafIndex: i, publicKey: kp.publicKey, message, signature };
  });
}
