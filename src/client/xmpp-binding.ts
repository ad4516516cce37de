/**
 * Client-side checks of the `xmpp_binding` GroupContext extension; the codec is shared in
 * src/xmpp/binding-extension.ts.
 * @module
 */
import type { Extension } from "../mls/core/extension.js";
import { bindingOf as findBinding } from "../xmpp/binding-extension.js";
import { MlsClientError } from "./errors.js";

export { decodeXmppBinding, encodeXmppBinding, xmppBindingExtension, type XmppBinding } from "../xmpp/binding-extension.js";

/** The room and DS a GroupContext's extensions name; `client.binding_mismatch` when absent or malformed. */
export function bindingOf(extensions: readonly Extension[]): { readonly room: string; readonly ds: string } {
  let b: ReturnType<typeof findBinding>;
  try {
    b = findBinding(extensions);
  } catch (e) {
    throw new MlsClientError("client.binding_mismatch", "the xmpp_binding extension is malformed", { cause: e });
  }
  if (b === null) throw new MlsClientError("client.binding_mismatch", "the group context has no xmpp_binding extension");
  return { room: b.room, ds: b.deliveryService };
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
