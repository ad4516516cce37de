/**
 * The `xmpp_binding` GroupContext extension (XEP "The xmpp_binding Extension"): binds a group to
 * one MUC room and one Delivery Service (the hub), so that it cannot be replayed into another room
 * or through another DS. Extension type 0xF0A0, from the private-use range of RFC 9420 §17.3.
 * Shared by the client plugin and the component.
 * @module
 */
import { decode, type Reader } from "../codec/reader.js";
import { encode, type Writer } from "../codec/writer.js";
import { CodecError } from "../errors.js";
import { findExtension, type Extension } from "../mls/core/extension.js";
import { fromUtf8, utf8 } from "../util/bytes.js";
import { XMPP_BINDING_EXTENSION_TYPE } from "./ns.js";

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

/** The GroupContext extension binding a group to `room` and the hub `deliveryService` (both bare JIDs). */
export function xmppBindingExtension(room: string, deliveryService: string): Extension {
  return {
    extensionType: XMPP_BINDING_EXTENSION_TYPE,
    extensionData: encodeXmppBinding({ roomJid: utf8(room), deliveryServiceJid: utf8(deliveryService) }),
  };
}

/**
 * The binding carried by `extensions` as strings, or null when there is none.
 * @throws CodecError when the extension data is malformed or a JID is not UTF-8.
 */
export function bindingOf(extensions: readonly Extension[]): { readonly room: string; readonly deliveryService: string } | null {
  const ext = findExtension(extensions, XMPP_BINDING_EXTENSION_TYPE);
  if (ext === null) return null;
  const b = decodeXmppBinding(ext.extensionData);
  try {
    return { room: fromUtf8(b.roomJid), deliveryService: fromUtf8(b.deliveryServiceJid) };
  } catch (e) {
    throw new CodecError("invalid_utf8", "xmpp_binding JID is not valid UTF-8", 0, "XmppBinding", { cause: e });
  }
}
