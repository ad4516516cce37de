/**
 * Fake LeafNodes for tree-structure tests: distinct keys, no valid signatures (nothing here is
 * signature-checked). Ids come from one counter, so keys never collide across helpers.
 * @module
 */
import { credentialTypes, leafNodeSources } from "../../src/mls/core/protocol.js";
import type { LeafNode } from "../../src/mls/tree/leaf-node.js";

let nextId = 1;

/** A fresh id for {@link fakeKey}. */
export function freshId(): number {
  return nextId++;
}

/** A distinct 32-byte "public key" per id; `tail` overrides the last four bytes (the prefilter tag). */
export function fakeKey(id: number, tail?: number): Uint8Array {
  const k = new Uint8Array(32);
  const dv = new DataView(k.buffer);
  dv.setUint32(0, id);
  dv.setUint32(28, tail ?? id ^ 0x5a5a5a5a);
  return k;
}

/** A key_package leaf with fresh keys unless given. */
export function fakeLeaf(keys: { readonly sig?: Uint8Array; readonly enc?: Uint8Array } = {}): LeafNode {
  const id = freshId();
  return {
    encryptionKey: keys.enc ?? fakeKey(id),
    signatureKey: keys.sig ?? fakeKey(id + 0x40000000),
    credential: { credentialType: credentialTypes.basic, identity: fakeKey(id).subarray(0, 4) },
    capabilities: { versions: [1], cipherSuites: [1], extensions: [], proposals: [], credentials: [1] },
    leafNodeSource: leafNodeSources.key_package,
    lifetime: { notBefore: 0n, notAfter: 1n },
    extensions: [],
    signature: new Uint8Array(64),
  };
}
