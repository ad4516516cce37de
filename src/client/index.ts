/**
 * The xmpp-mls client plugin: MLS-encrypted MUC rooms for an xmpp.js client
 * (xep/xep-xmpp-mls.xml). Never imports src/component: it talks to the Delivery Service over XMPP
 * like any client.
 *
 *   import { client } from "@xmpp/client";
 *   import { setupMls, FileStore } from "xmpp-mls/client";
 *   const xmpp = client({ service, domain, resource: "laptop", username, password });
 *   const mls = setupMls(xmpp, { store: await FileStore.open(dir, passphrase) });
 *   mls.on("message", (m) => console.log(m.from, m.text));
 *   await xmpp.start();
 * @module
 */
export { mls, setupMls, MlsClient, type MlsPluginOptions, type InviteResult } from "./plugin.js";
export type { MlsEntity, MlsEntityParts } from "./io.js";
export { resolveOptions, silentLogger, type Logger, type MlsOptions } from "./options.js";
export type { MlsEvents, MessageEvent, MembershipEvent, VerificationCodeEvent, JoinedEvent, RemovedEvent, ErrorEvent, DeviceRef } from "./events.js";
export type { SentMessage } from "./room-outbound.js";
export { defaultGroupStateCodec, type GroupStateCodec } from "./room-store.js";
export { MlsClientError, type MlsClientErrorCode } from "./errors.js";
export { MemoryStore, ClientStoreError, type ClientStore, type ClientStoreErrorCode } from "./store/client-store.js";
export { FileStore, DEFAULT_SCRYPT, type FileStoreOptions, type ScryptParams } from "./store/file-store.js";
export { verificationCode } from "./verification-code.js";
export { SeqBuffer } from "./seq-buffer.js";
export { xmppBindingExtension, bindingOf, checkBinding, encodeXmppBinding, decodeXmppBinding, type XmppBinding } from "./xmpp-binding.js";
