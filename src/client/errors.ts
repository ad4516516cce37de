/**
 * Errors of the client plugin. Protocol verdicts from the Delivery Service arrive as
 * {@link XmppProtocolError} (src/xmpp/errors.ts) and are passed through unchanged; the codes here
 * are the plugin's own conditions.
 *
 * | code                        | meaning                                                            |
 * |-----------------------------|--------------------------------------------------------------------|
 * | client.no_ds                | no Delivery Service found (disco#items) and none configured        |
 * | client.not_online           | an operation needs a connection                                    |
 * | client.unknown_room         | the room is not bound to a group this device is in                 |
 * | client.room_exists          | createRoom for a room this device already has a group for          |
 * | client.no_key_packages      | none of the invitee's claimed KeyPackages was usable               |
 * | client.retries_exhausted    | a Commit lost the epoch race too often (XEP "Retries")             |
 * | client.catch_up_failed      | the DS log no longer covers our epoch (XEP "Catch-up")             |
 * | client.binding_mismatch     | xmpp_binding does not name the room/DS (XEP "The xmpp_binding …")  |
 * | client.removed              | this device is no longer a member of the room's group              |
 * | client.muc                  | the MUC service refused an operation (join, configure, affiliation)|
 * | client.bad_message          | a received MLS message disagrees with its attributes or is not usable |
 * @module
 */
import { XmppMlsError, type XmppMlsErrorOptions } from "../errors.js";

export type MlsClientErrorCode =
  | "client.no_ds"
  | "client.not_online"
  | "client.unknown_room"
  | "client.room_exists"
  | "client.no_key_packages"
  | "client.retries_exhausted"
  | "client.catch_up_failed"
  | "client.binding_mismatch"
  | "client.removed"
  | "client.muc"
  | "client.bad_message";

export class MlsClientError extends XmppMlsError {
  declare readonly code: MlsClientErrorCode;
  constructor(code: MlsClientErrorCode, message: string, options?: XmppMlsErrorOptions) {
    super(code, message, options);
  }
}
