/**
 * KeyPackage (RFC 9420 §10): a pre-published, signed offer to be added to a group. This module
 * holds the layout and the to-be-signed encoding (KeyPackageTBS); the §10.1 checks live with
 * validation.
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, type Writer } from "../../codec/writer.js";
import { readExtensions, writeExtensions, type Extension } from "../core/extension.js";
import type { ProtocolVersion } from "../core/protocol.js";
import { readLeafNode, writeLeafNode, type LeafNode } from "../tree/leaf-node.js";

/**
 * RFC 9420 §10:
 *   struct {
 *       ProtocolVersion version;
 *       CipherSuite cipher_suite;
 *       HPKEPublicKey init_key;
 *       LeafNode leaf_node;
 *       Extension extensions<V>;
 *   } KeyPackageTBS;
 */
export interface KeyPackageTbs {
  readonly version: ProtocolVersion;
  readonly cipherSuite: number;
  readonly initKey: Uint8Array;
  readonly leafNode: LeafNode;
  readonly extensions: readonly Extension[];
}

/**
 * RFC 9420 §10:
 *   struct {
 *       ProtocolVersion version;
 *       CipherSuite cipher_suite;
 *       HPKEPublicKey init_key;
 *       LeafNode leaf_node;
 *       Extension extensions<V>;
 *       // SignWithLabel(., "KeyPackageTBS", KeyPackageTBS)
 *       opaque signature<V>;
 *   } KeyPackage;
 */
export interface KeyPackage extends KeyPackageTbs {
  readonly signature: Uint8Array;
}

function readKeyPackageTbs(r: Reader): KeyPackageTbs {
  const version = r.field("version", () => r.u16());
  const cipherSuite = r.field("cipher_suite", () => r.u16());
  const initKey = r.field("init_key", () => r.opaque());
  const leafNode = r.field("leaf_node", () => readLeafNode(r));
  const extensions = readExtensions(r);
  return { version, cipherSuite, initKey, leafNode, extensions };
}

/** RFC 9420 §10: KeyPackageTBS is KeyPackage without its trailing signature. */
export function writeKeyPackageTbs(w: Writer, v: KeyPackageTbs): void {
  w.u16(v.version).u16(v.cipherSuite).opaque(v.initKey);
  writeLeafNode(w, v.leafNode);
  writeExtensions(w, v.extensions);
}

/** The bytes signed with label "KeyPackageTBS". */
export function encodeKeyPackageTbs(v: KeyPackageTbs): Uint8Array {
  return encode(v, writeKeyPackageTbs, 512);
}

export function readKeyPackage(r: Reader): KeyPackage {
  const tbs = readKeyPackageTbs(r);
  const signature = r.field("signature", () => r.opaque());
  return { ...tbs, signature };
}

export function writeKeyPackage(w: Writer, v: KeyPackage): void {
  writeKeyPackageTbs(w, v);
  w.opaque(v.signature);
}

/** The KeyPackage bytes (the input of MakeKeyPackageRef, RFC 9420 §5.2). */
export function encodeKeyPackage(v: KeyPackage): Uint8Array {
  return encode(v, writeKeyPackage, 512);
}

export function decodeKeyPackage(bytes: Uint8Array): KeyPackage {
  return decode(bytes, readKeyPackage, "KeyPackage");
}
