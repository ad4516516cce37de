/**
 * The Delivery Service's own MLS identity (XEP "Discovery" `external-sender`, "Removal by the
 * Delivery Service"): one signature key pair per signature scheme, and its ExternalSender
 * (RFC 9420 §12.1.8.1) with a BasicCredential whose identity is the DS JID.
 *
 * Groups list that ExternalSender in their `external_senders` extension so the DS can propose
 * removals. Because groups keep it, the keys must survive restarts: with a `keyFile` they are
 * stored there (JSON, mode 0600, written atomically), one hex private key per signature scheme,
 * created on first use. Without one they live only in memory (tests, `:memory:` databases).
 * Private keys are never logged.
 * @module
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { SUITES, isCipherSuiteId, type CryptoProvider, type SignatureName } from "../crypto/cipher-suite.js";
import { UsageError } from "../errors.js";
import { encode } from "../codec/writer.js";
import { credentialTypes } from "../mls/core/protocol.js";
import { writeExternalSender, type ExternalSender } from "../mls/core/external-senders.js";
import { fromHex, toHex, utf8 } from "../util/bytes.js";
import { ConfigError } from "./errors.js";

export interface DsIdentity {
  /** The DS JID (the component domain), also the BasicCredential identity. */
  readonly jid: string;
  /** The DS's ExternalSender for groups of `suite`. @throws UsageError for an unknown suite. */
  externalSender(suite: number): ExternalSender;
  /** TLS encoding of {@link externalSender} (the ds-info `external-sender` value). */
  externalSenderBytes(suite: number): Uint8Array;
  /** Signature private key matching {@link externalSender} (for DS-originated proposals). */
  signaturePrivateKey(suite: number): Uint8Array;
}

export interface DsIdentityOptions {
  readonly jid: string;
  readonly provider: CryptoProvider;
  /** Where the private keys persist; none = in memory only. */
  readonly keyFile?: string;
}

interface KeyFile {
  readonly version: 1;
  readonly keys: Record<string, string>;
}

const SCHEMES: readonly SignatureName[] = ["Ed25519", "Ed448", "ECDSA-P256-SHA256", "ECDSA-P384-SHA384", "ECDSA-P521-SHA512"];

function readKeyFile(path: string): Map<SignatureName, Uint8Array> {
  const out = new Map<SignatureName, Uint8Array>();
  if (!existsSync(path)) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    throw new ConfigError([{ path: "ds-identity", message: `${path} is not a readable DS key file` }]);
  }
  const keys = (parsed as Partial<KeyFile> | null)?.keys;
  if ((parsed as Partial<KeyFile> | null)?.version !== 1 || typeof keys !== "object" || keys === null) {
    throw new ConfigError([{ path: "ds-identity", message: `${path} is not a version 1 DS key file` }]);
  }
  for (const [name, hex] of Object.entries(keys)) {
    const scheme = SCHEMES.find((s) => s === name);
    if (scheme === undefined || typeof hex !== "string" || !/^(?:[0-9a-f]{2})+$/.test(hex)) {
      throw new ConfigError([{ path: "ds-identity", message: `${path}: bad entry for ${JSON.stringify(name.slice(0, 40))}` }]);
    }
    out.set(scheme, fromHex(hex));
  }
  return out;
}

function writeKeyFile(path: string, keys: ReadonlyMap<SignatureName, Uint8Array>): void {
  const body: KeyFile = { version: 1, keys: Object.fromEntries([...keys].map(([k, v]) => [k, toHex(v)])) };
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/** Load (or lazily create) the DS identity. @throws ConfigError for an unreadable key file. */
export function createDsIdentity(options: DsIdentityOptions): DsIdentity {
  const { jid, provider, keyFile } = options;
  const keys = keyFile === undefined ? new Map<SignatureName, Uint8Array>() : readKeyFile(keyFile);
  const senders = new Map<SignatureName, { sender: ExternalSender; bytes: Uint8Array }>();

  const scheme = (suite: number): { scheme: SignatureName; id: number } => {
    if (!isCipherSuiteId(suite)) throw new UsageError("usage.unsupported_cipher_suite", `no DS identity for cipher suite ${suite}`);
    return { scheme: SUITES[suite].signature, id: suite };
  };
  const privateKey = (suite: number): Uint8Array => {
    const { scheme: s, id } = scheme(suite);
    let k = keys.get(s);
    if (k === undefined) {
      k = provider.suite(id).signatureKeyPair().privateKey;
      keys.set(s, k);
      if (keyFile !== undefined) writeKeyFile(keyFile, keys);
    }
    return k;
  };
  const entry = (suite: number): { sender: ExternalSender; bytes: Uint8Array } => {
    const { scheme: s } = scheme(suite);
    let e = senders.get(s);
    if (e === undefined) {
      const sender: ExternalSender = {
        signatureKey: provider.suite(suite).signaturePublicKey(privateKey(suite)),
        credential: { credentialType: credentialTypes.basic, identity: utf8(jid) },
      };
      e = { sender, bytes: encode(sender, writeExternalSender) };
      senders.set(s, e);
    }
    return e;
  };
  return Object.freeze({
    jid,
    externalSender: (suite: number) => entry(suite).sender,
    externalSenderBytes: (suite: number) => entry(suite).bytes.slice(),
    signaturePrivateKey: (suite: number) => privateKey(suite).slice(),
  });
}
