/**
 * The path secret chain of TreeKEM (RFC 9420 §7.4):
 *
 *   path_secret[0] is sampled at random
 *   path_secret[n] = DeriveSecret(path_secret[n-1], "path")
 *   node_secret[n] = DeriveSecret(path_secret[n], "node")
 *   node_priv[n], node_pub[n] = KEM.DeriveKeyPair(node_secret[n])
 *
 * and the commit secret, path_secret[n+1] after the last node (RFC 9420 §12.4.2). Node secrets
 * are wiped as soon as the key pair is derived (RFC 9420 §9.2).
 * @module
 */
import type { CipherSuite, KeyPair } from "../../crypto/cipher-suite.js";
import { deriveSecret } from "../../crypto/labeled.js";
import { wipe } from "../../util/bytes.js";

/** RFC 9420 §7.4: path_secret[n] = DeriveSecret(path_secret[n-1], "path"). */
export function nextPathSecret(cs: CipherSuite, pathSecret: Uint8Array): Uint8Array {
  return deriveSecret(cs, pathSecret, "path");
}

/** `count` path secrets starting with `first` (which is returned as element 0, not copied). */
export function derivePathSecrets(cs: CipherSuite, first: Uint8Array, count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let s = first;
  for (let i = 0; i < count; i++) {
    if (i > 0) s = nextPathSecret(cs, s);
    out.push(s);
  }
  return out;
}

/** RFC 9420 §7.4: the node key pair, DeriveKeyPair(DeriveSecret(path_secret, "node")). */
export async function deriveNodeKeyPair(cs: CipherSuite, pathSecret: Uint8Array): Promise<KeyPair> {
  const nodeSecret = deriveSecret(cs, pathSecret, "node");
  try {
    return await cs.hpkeDeriveKeyPair(nodeSecret);
  } finally {
    wipe(nodeSecret);
  }
}

/** RFC 9420 §12.4.2: commit_secret = path_secret[n+1], derived from the last path secret. */
export function deriveCommitSecret(cs: CipherSuite, lastPathSecret: Uint8Array): Uint8Array {
  return deriveSecret(cs, lastPathSecret, "path");
}
