/**
 * The `xmpp_binding` GroupContext extension (XEP "The xmpp_binding Extension"): binds a group to
 * one MUC room and one Delivery Service (the hub), so that it cannot be replayed into another
 * room or through another DS. Extension type 0xF0A0, from the private-use range of RFC 9420 §17.3.
 * @module
 */
import { decode, type Reader } from "../codec/reader.js";
import { encode, type Writer } from "../codec/writer.js";
import { findExtension, type Extension } from "../mls/core/extension.js";
import { fromUtf8, utf8 } from "../util/bytes.js";
import { XMPP_BINDING_EXTENSION_TYPE } from "../xmpp/ns.js";
import { MlsClientError } from "./errors.js";

/**
 * XEP "The xmpp_binding Extension":
 *   struct {
 *       opaque room_jid<V>;              // UTF-8 bare JID of the room
 *       opaque delivery_service_jid<V>;  // UTF-8 JID of the hub
 *   } XmppBinding;
 */
export interface XmppBinding {
  readonly roomJid: Uint8Array;
  readonly deliveryServiceJid: Uint8Array;
}

export function readXmppBinding(r: Reader): XmppBinding {
  const roomJid = r.field("room_jid", () => r.opaque());
  const deliveryServiceJid = r.field("delivery_service_jid", () => r.opaque());
  return { roomJid, deliveryServiceJid };
}

export function writeXmppBinding(w: Writer, v: XmppBinding): void {
  w.opaque(v.roomJid).opaque(v.deliveryServiceJid);
}

export function encodeXmppBinding(v: XmppBinding): Uint8Array {
  return encode(v, writeXmppBinding);
}

export function decodeXmppBinding(bytes: Uint8Array): XmppBinding {
  return decode(bytes, readXmppBinding, "XmppBinding");
}

/** The extension for a group of `room` ordered by `ds` (both bare JIDs, lowercase domains). */
export function xmppBindingExtension(room: string, ds: string): Extension {
  return { extensionType: XMPP_BINDING_EXTENSION_TYPE, extensionData: encodeXmppBinding({ roomJid: utf8(room), deliveryServiceJid: utf8(ds) }) };
}

/** The room and DS a GroupContext's extensions name; `client.binding_mismatch` when absent or malformed. */
export function bindingOf(extensions: readonly Extension[]): { readonly room: string; readonly ds: string } {
  const ext = findExtension(extensions, XMPP_BINDING_EXTENSION_TYPE);
  if (ext === null) throw new MlsClientError("client.binding_mismatch", "the group context has no xmpp_binding extension");
  try {
    const b = decodeXmppBinding(ext.extensionData);
    return { room: fromUtf8(b.roomJid), ds: fromUtf8(b.deliveryServiceJid) };
  } catch (e) {
    throw new MlsClientError("client.binding_mismatch", "the xmpp_binding extension is malformed", { cause: e });
  }
}

/**
 * XEP: a client MUST reject a group whose binding does not name the room and the hub it is used
 * with. JIDs compare case-insensitively (RFC 7622 case-folds the parts these use).
 */
export function checkBinding(extensions: readonly Extension[], room: string, ds: string): void {
  const b = bindingOf(extensions);
  if (b.room.toLowerCase() !== room.toLowerCase() || b.ds.toLowerCase() !== ds.toLowerCase()) {
    throw new MlsClientError("client.binding_mismatch", `the group is bound to ${b.room} via ${b.ds}, not ${room} via ${ds}`);
  }
}
