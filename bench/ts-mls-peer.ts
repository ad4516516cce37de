/**
 * ts-mls 1.6.4 as a benchmark peer (devDependency). Two members, suite 1; alice encrypts, bob
 * decrypts, 100-byte payloads. Bob must decrypt messages in order with fresh ciphertexts, so the
 * decrypt rate is measured over a pre-encrypted batch.
 */
import { performance } from "node:perf_hooks";
import { acceptAll, createApplicationMessage, createCommit, createGroup, decodeMlsMessage, emptyPskIndex, encodeMlsMessage, joinGroup, processMessage } from "ts-mls";
import { tsMlsCipherSuite, tsMlsKeyPackage } from "./ts-mls-setup.js";

// ts-mls's types are loose at this boundary; keep them local to this file.
/* eslint-disable @typescript-eslint/no-explicit-any */
type Any = any;

export async function tsMlsPrivateMessageBench(batch = 300): Promise<{ encrypt: number; decrypt: number }> {
  const impl: Any = await tsMlsCipherSuite(1);
  const enc = new TextEncoder();
  const a: Any = await tsMlsKeyPackage(impl, "alice");
  const b: Any = await tsMlsKeyPackage(impl, "bob");
  let alice: Any = await createGroup(enc.encode("bench-group"), a.publicPackage, a.privatePackage, [], impl);
  const commit: Any = await createCommit({ state: alice, cipherSuite: impl } as Any, {
    extraProposals: [{ proposalType: "add", add: { keyPackage: b.publicPackage } }],
    ratchetTreeExtension: true,
  } as Any);
  alice = commit.newState;
  let bob: Any = await joinGroup(commit.welcome, b.publicPackage, b.privatePackage, emptyPskIndex, impl);
  const payload = new Uint8Array(100).fill(7);

  const wire: Uint8Array[] = [];
  const t0 = performance.now();
  for (let i = 0; i < batch; i++) {
    const m: Any = await createApplicationMessage(alice, payload, impl);
    alice = m.newState;
    wire.push(encodeMlsMessage({ version: "mls10", wireformat: "mls_private_message", privateMessage: m.privateMessage } as Any));
  }
  const encMs = performance.now() - t0;

  const t1 = performance.now();
  for (const bytes of wire) {
    const decoded: Any = decodeMlsMessage(bytes, 0)![0];
    const r: Any = await processMessage(decoded, bob, emptyPskIndex, acceptAll, impl);
    if (r.kind !== "applicationMessage") throw new Error("ts-mls: unexpected result");
    bob = r.newState;
  }
  const decMs = performance.now() - t1;
  return { encrypt: (batch * 1000) / encMs, decrypt: (batch * 1000) / decMs };
}
