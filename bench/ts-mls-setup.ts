/**
 * ts-mls 1.6.4 setup shared by the benchmarks (ts-mls-peer.ts, group-ts-mls.ts) and the interop
 * adapter (test/interop/ts-mls-adapter.ts): a cipher suite by its RFC 9420 id, and a member's
 * KeyPackage with a basic credential and ts-mls's default capabilities and lifetime.
 * API notes: /work/shared/notes/ts-mls-peer.md.
 * @module
 */
import type { CiphersuiteImpl, CiphersuiteName, KeyPackage, PrivateKeyPackage } from "ts-mls";
import { ciphersuites, defaultCapabilities, defaultLifetime, generateKeyPackage, getCiphersuiteFromName, getCiphersuiteImpl } from "ts-mls";

/** ts-mls 1.6.4 has no lookup by id: search its name → id map. */
export function tsMlsSuiteName(id: number): CiphersuiteName {
  for (const [name, v] of Object.entries(ciphersuites)) if (v === id) return name as CiphersuiteName;
  throw new Error(`ts-mls has no cipher suite ${id}`);
}

/** ts-mls's implementation of cipher suite `id` (RFC 9420 §17.1). */
export function tsMlsCipherSuite(id: number): Promise<CiphersuiteImpl> {
  return getCiphersuiteImpl(getCiphersuiteFromName(tsMlsSuiteName(id)));
}

export interface TsMlsKeyPackage {
  readonly publicPackage: KeyPackage;
  readonly privatePackage: PrivateKeyPackage;
}

const enc = new TextEncoder();

/** A fresh KeyPackage (RFC 9420 §10) for `identity`: basic credential, default capabilities and lifetime. */
export function tsMlsKeyPackage(impl: CiphersuiteImpl, identity: string): Promise<TsMlsKeyPackage> {
  return generateKeyPackage({ credentialType: "basic", identity: enc.encode(identity) }, defaultCapabilities(), defaultLifetime, [], impl);
}
