/**
 * The `xmpp_binding` GroupContext extension (XEP "The xmpp_binding Extension"): binds an MLS group
 * to one MUC room and one hub (Delivery Service). Type 0xF0A0, from the private-use range of the
 * MLS Extension Types registry (RFC 9420 §17.3).
 *
 * The struct lives here, beside the component that enforces it. The client plugin needs the same
 * codec; it only depends on src/codec, so it can move to a shared module without change.
 * @module
 */
import { decode, type Reader } from "../codec/reader.js";
import { encode, type Writer } from "../codec/writer.js";
import { findExtension, type Extension } from "../mls/core/extension.js";
import { fromUtf8, utf8 } from "../util/bytes.js";
import { XMPP_BINDING_EXTENSION_TYPE } from "../xmpp/ns.js";

/**
 * XEP "xmpp_binding (extension type 0xF0A0)":
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
  return encode(v, writeXmppBinding, 96);
}

export function decodeXmppBinding(bytes: Uint8Array): XmppBinding {
  return decode(bytes, readXmppBinding, "XmppBinding");
}

/** The GroupContext extension binding a group to `room` and the hub `deliveryService` (both bare JIDs). */
export function xmppBindingExtension(room: string, deliveryService: string): Extension {
  return {
    extensionType: XMPP_BINDING_EXTENSION_TYPE,
    extensionData: encodeXmppBinding({ roomJid: utf8(room), deliveryServiceJid: utf8(deliveryService) }),
  };
}

/**
 * The binding carried by `extensions` as strings, or null when there is none.
 * @throws CodecError when the extension data is malformed; a non-UTF-8 JID throws TypeError.
 */
export function bindingOf(extensions: readonly Extension[]): { readonly room: string; readonly deliveryService: string } | null {
  const ext = findExtension(extensions, XMPP_BINDING_EXTENSION_TYPE);
  if (ext === null) return null;
  const b = decodeXmppBinding(ext.extensionData);
  return { room: fromUtf8(b.roomJid), deliveryService: fromUtf8(b.deliveryServiceJid) };
}
