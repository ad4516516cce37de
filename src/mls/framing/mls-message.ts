/**
 * MLSMessage (RFC 9420 §6): the outer envelope of everything MLS sends: a protocol version and a
 * wire format that selects the body.
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, type Writer } from "../../codec/writer.js";
import { protocolVersions, wireFormats } from "../core/protocol.js";
import { readGroupInfo, writeGroupInfo, type GroupInfo } from "../messages/group-info.js";
import { readKeyPackage, writeKeyPackage, type KeyPackage } from "../messages/key-package.js";
import { readWelcome, writeWelcome, type Welcome } from "../messages/welcome.js";
import { privateMessageSizeHint, readPrivateMessage, writePrivateMessage, type PrivateMessage } from "./private-message.js";
import { publicMessageSizeHint, readPublicMessage, writePublicMessage, type PublicMessage } from "./public-message.js";

type Mls10 = typeof protocolVersions.mls10;

/**
 * RFC 9420 §6:
 *   struct {
 *       ProtocolVersion version = mls10;
 *       WireFormat wire_format;
 *       select (MLSMessage.wire_format) {
 *           case mls_public_message:
 *               PublicMessage public_message;
 *           case mls_private_message:
 *               PrivateMessage private_message;
 *           case mls_welcome:
 *               Welcome welcome;
 *           case mls_group_info:
 *               GroupInfo group_info;
 *           case mls_key_package:
 *               KeyPackage key_package;
 *       };
 *   } MLSMessage;
 */
export type MlsMessage =
  | { readonly version: Mls10; readonly wireFormat: typeof wireFormats.mls_public_message; readonly publicMessage: PublicMessage }
  | { readonly version: Mls10; readonly wireFormat: typeof wireFormats.mls_private_message; readonly privateMessage: PrivateMessage }
  | { readonly version: Mls10; readonly wireFormat: typeof wireFormats.mls_welcome; readonly welcome: Welcome }
  | { readonly version: Mls10; readonly wireFormat: typeof wireFormats.mls_group_info; readonly groupInfo: GroupInfo }
  | { readonly version: Mls10; readonly wireFormat: typeof wireFormats.mls_key_package; readonly keyPackage: KeyPackage };

export function readMlsMessage(r: Reader): MlsMessage {
  const version = r.field("version", () => {
    const v = r.u16();
    // RFC 9420 §6: `ProtocolVersion version = mls10`; another version's layout is unknown.
    if (v !== protocolVersions.mls10) r.fail("bad_enum", `unsupported ProtocolVersion ${v}`);
    return v;
  });
  const wireFormat = r.field("wire_format", () => r.u16());
  switch (wireFormat) {
    case wireFormats.mls_public_message:
      return { version, wireFormat, publicMessage: r.field("public_message", () => readPublicMessage(r)) };
    case wireFormats.mls_private_message:
      return { version, wireFormat, privateMessage: r.field("private_message", () => readPrivateMessage(r)) };
    case wireFormats.mls_welcome:
      return { version, wireFormat, welcome: r.field("welcome", () => readWelcome(r)) };
    case wireFormats.mls_group_info:
      return { version, wireFormat, groupInfo: r.field("group_info", () => readGroupInfo(r)) };
    case wireFormats.mls_key_package:
      return { version, wireFormat, keyPackage: r.field("key_package", () => readKeyPackage(r)) };
    default:
      return r.field("wire_format", () => r.fail("bad_enum", `unknown WireFormat ${wireFormat}`));
  }
}

export function writeMlsMessage(w: Writer, v: MlsMessage): void {
  w.u16(v.version).u16(v.wireFormat);
  switch (v.wireFormat) {
    case wireFormats.mls_public_message:
      return writePublicMessage(w, v.publicMessage);
    case wireFormats.mls_private_message:
      return writePrivateMessage(w, v.privateMessage);
    case wireFormats.mls_welcome:
      return writeWelcome(w, v.welcome);
    case wireFormats.mls_group_info:
      return writeGroupInfo(w, v.groupInfo);
    case wireFormats.mls_key_package:
      return writeKeyPackage(w, v.keyPackage);
  }
}

/** About the encoded size of an MLSMessage, so that a ~1 MB Commit or a ~3 MB GroupInfo is written into one buffer. */
function mlsMessageSizeHint(v: MlsMessage): number {
  switch (v.wireFormat) {
    case wireFormats.mls_public_message:
      return 4 + publicMessageSizeHint(v.publicMessage);
    case wireFormats.mls_private_message:
      return 4 + privateMessageSizeHint(v.privateMessage);
    case wireFormats.mls_welcome: {
      let n = 16 + v.welcome.encryptedGroupInfo.length;
      for (const s of v.welcome.secrets) n += 12 + s.newMember.length + s.encryptedGroupSecrets.kemOutput.length + s.encryptedGroupSecrets.ciphertext.length;
      return n;
    }
    case wireFormats.mls_group_info: {
      let n = 512;
      for (const e of [...v.groupInfo.groupContext.extensions, ...v.groupInfo.extensions]) n += 8 + e.extensionData.length;
      return n;
    }
    case wireFormats.mls_key_package:
      return 1024;
  }
}

export function encodeMlsMessage(v: MlsMessage): Uint8Array {
  return encode(v, writeMlsMessage, mlsMessageSizeHint(v));
}

/** Welcomes at least this large are decoded from one private copy with views (see below). */
const SHARED_WELCOME_BYTES = 16 * 1024;

export function decodeMlsMessage(bytes: Uint8Array): MlsMessage {
  // A Welcome that adds many members holds one EncryptedGroupSecrets each (10,000 for a group
  // built in one commit), and all of it is transient: decode it from one private copy with views
  // instead of 20,000 small copies. Other messages hold fields that outlive them (a commit's
  // LeafNode enters the tree), so they are copied field by field.
  if (bytes.length >= SHARED_WELCOME_BYTES && bytes.length >= 4 && ((bytes[2]! << 8) | bytes[3]!) === wireFormats.mls_welcome) {
    return decode(bytes.slice(), readMlsMessage, "MLSMessage", { shareInput: true });
  }
  return decode(bytes, readMlsMessage, "MLSMessage");
}
