/**
 * xmpp-mls: the MLS (RFC 9420) engine. Crypto providers live in subpaths
 * (`xmpp-mls/crypto/native`, `xmpp-mls/crypto/portable`) so a browser bundle never pulls in
 * node:crypto.
 * @module
 */
export * from "./errors.js";
export { Reader, Writer, decode, encode, type ReaderOptions } from "./codec/index.js";
export {
  ALL_SUITE_IDS,
  SUITES,
  cipherSuiteIds,
  isCipherSuiteId,
  type CipherSuite,
  type CipherSuiteId,
  type CipherSuiteName,
  type CryptoProvider,
  type KeyPair,
  type SuiteParams,
} from "./crypto/cipher-suite.js";
export * from "./crypto/labeled.js";
export * from "./mls/core/protocol.js";
export * from "./mls/core/extension.js";
export * from "./mls/framing/mls-message.js";
export * from "./mls/framing/content-auth.js";
export * from "./mls/framing/public-message-protection.js";
export * from "./mls/framing/private-message-protection.js";
export * from "./mls/schedule/group-context.js";
export * from "./mls/schedule/key-schedule.js";
export * from "./mls/schedule/secret-tree.js";
export * from "./mls/schedule/psk.js";
export * from "./mls/schedule/transcript-hash.js";
export { bytesEqual, constantTimeEqual, fromHex, toHex } from "./util/bytes.js";
export * from "./mls/group/index.js";
export * from "./mls/messages/key-package-ops.js";
export * from "./mls/auth/authentication-service.js";
export * from "./mls/auth/basic.js";
export { decodeRatchetTree, encodeRatchetTree, type RatchetTree } from "./mls/tree/ratchet-tree.js";
export { leafNodeFields, type LeafNode } from "./mls/tree/leaf-node.js";
export type { KeyPackage } from "./mls/messages/key-package.js";
export type { Welcome } from "./mls/messages/welcome.js";
export type { GroupInfo } from "./mls/messages/group-info.js";
export type { Proposal } from "./mls/messages/proposal.js";
export type { Credential } from "./mls/core/credential.js";
