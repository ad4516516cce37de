/**
 * The passive-client procedure shared by passive-client-welcome.json,
 * passive-client-handling-commit.json and passive-client-random.json: build the joiner from its
 * KeyPackage and three private keys, join from the Welcome (tree out of band when given, external
 * PSKs), check the epoch authenticator, then for each epoch process the proposals (cached by
 * reference) and the Commit, merge, and check the epoch authenticator again.
 */
import { expect } from "vitest";
import type { CipherSuite } from "../../src/crypto/cipher-suite.js";
import { unsafeTestingAuthenticationService } from "../../src/mls/auth/authentication-service.js";
import { wireFormats } from "../../src/mls/core/protocol.js";
import { decodeMlsMessage } from "../../src/mls/framing/mls-message.js";
import {
  externalPskStore,
  groupConfig,
  joinFromWelcome,
  mergeStagedCommit,
  processMessage,
  type GroupState,
} from "../../src/mls/group/index.js";
import { checkKeyPackagePrivateKeys } from "../../src/mls/messages/key-package-ops.js";
import { decodeRatchetTree } from "../../src/mls/tree/ratchet-tree.js";
import { toHex } from "../../src/util/bytes.js";
import { h } from "./vectors.js";

export interface PassiveClientCase {
  cipher_suite: number;
  external_psks: { psk_id: string; psk: string }[];
  key_package: string;
  signature_priv: string;
  encryption_priv: string;
  init_priv: string;
  welcome: string;
  ratchet_tree: string | null;
  initial_epoch_authenticator: string;
  epochs: { proposals: string[]; commit: string; epoch_authenticator: string }[];
}

/** Run one passive-client case; returns the final state. */
export async function runPassiveClient(cs: CipherSuite, c: PassiveClientCase): Promise<GroupState> {
  const kpm = decodeMlsMessage(h(c.key_package));
  if (kpm.wireFormat !== wireFormats.mls_key_package) throw new Error("key_package is not an MLSMessage(KeyPackage)");
  const keyPackage = kpm.keyPackage;
  const keyPackagePrivateKeys = { initPrivateKey: h(c.init_priv), encryptionPrivateKey: h(c.encryption_priv), signaturePrivateKey: h(c.signature_priv) };
  await checkKeyPackagePrivateKeys(cs, keyPackage, keyPackagePrivateKeys);
  const config = groupConfig({
    authenticationService: unsafeTestingAuthenticationService,
    // The vectors' leaves and KeyPackages were made in 2023; their lifetimes are not checked.
    lifetime: { checkReceived: false },
    externalPsks: externalPskStore(c.external_psks.map((p) => ({ pskId: h(p.psk_id), psk: h(p.psk) }))),
  });
  const joined = await joinFromWelcome({
    cs,
    config,
    welcome: decodeMlsMessage(h(c.welcome)),
    keyPackage,
    keyPackagePrivateKeys,
    ratchetTree: c.ratchet_tree === null ? undefined : decodeRatchetTree(h(c.ratchet_tree)),
  });
  let state = joined.state;
  expect(toHex(state.epochAuthenticator())).toBe(c.initial_epoch_authenticator);
  for (const [i, e] of c.epochs.entries()) {
    for (const p of e.proposals) {
      const r = await processMessage(state, h(p));
      if (r.kind !== "proposal") throw new Error(`epoch ${i}: expected a proposal, got ${r.kind}`);
      state = r.state;
    }
    const r = await processMessage(state, h(e.commit));
    if (r.kind !== "commit") throw new Error(`epoch ${i}: expected a commit, got ${r.kind}`);
    expect(r.staged.removedSelf).toBe(false);
    state = mergeStagedCommit(state, r.staged);
    expect(toHex(state.epochAuthenticator()), `epoch ${i}`).toBe(e.epoch_authenticator);
  }
  return state;
}
