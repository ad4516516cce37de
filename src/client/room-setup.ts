/**
 * Entering a group: creating a room with its group (XEP "Binding a Room to a Group"), and
 * joining one from a Welcome (XEP "Delivery of Welcome"). Both produce a new RoomSession.
 * @module
 */
import type { CipherSuite } from "../crypto/cipher-suite.js";
import { decode } from "../codec/reader.js";
import { buildCapabilities, withExtensionTypes } from "../mls/core/capabilities-ops.js";
import { extensionTypes, type Extension } from "../mls/core/extension.js";
import { encodeExternalSenders, readExternalSender } from "../mls/core/external-senders.js";
import { credentialTypes, wireFormats } from "../mls/core/protocol.js";
import { encodeRequiredCapabilities } from "../mls/core/required-capabilities.js";
import { decodeMlsMessage, encodeMlsMessage } from "../mls/framing/mls-message.js";
import { welcomeNewMembers } from "../mls/messages/welcome.js";
import { createGroup } from "../mls/group/create.js";
import type { GroupConfig } from "../mls/group/group-config.js";
import { createGroupInfo, groupInfoMessage } from "../mls/group/group-info-ops.js";
import type { GroupState } from "../mls/group/group-state.js";
import { joinFromWelcome } from "../mls/group/welcome.js";
import { bytesEqual, toHex } from "../util/bytes.js";
import type { DsInfo } from "../xmpp/ds-info.js";
import type { WelcomeElement } from "../xmpp/delivery-stanzas.js";
import { bareJid } from "../xmpp/jid.js";
import { XMPP_BINDING_EXTENSION_TYPE } from "../xmpp/ns.js";
import type { Device } from "./device.js";
import type { DsClient } from "./ds-client.js";
import { MlsClientError } from "./errors.js";
import type { Io } from "./io.js";
import type { KeyPackagePool, OwnKeyPackage } from "./key-package-pool.js";
import { configureRoom, joinRoom, setAffiliation } from "./muc.js";
import type { Logger } from "./options.js";
import type { RoomRecord } from "./room-common.js";
import { checkBinding, xmppBindingExtension } from "./xmpp-binding.js";

/** A few minutes of clock difference between us and the archive. */
const ARCHIVE_SKEW_MS = 2 * 60 * 1000;

export interface SetupContext {
  readonly io: Io;
  readonly cs: CipherSuite;
  readonly config: GroupConfig;
  readonly device: Device;
  readonly logger: Logger;
  readonly requestTimeoutMs: number;
}

/** The GroupContext extensions of a bound group (XEP "The xmpp_binding Extension"). */
export function boundGroupExtensions(room: string, dsJid: string, ds: DsInfo): Extension[] {
  // The ds-info field carries one ExternalSender; the extension holds the list (RFC 9420 §12.1.8.1).
  const sender = decode(ds.externalSender, readExternalSender, "ExternalSender");
  return [
    xmppBindingExtension(room, dsJid),
    { extensionType: extensionTypes.external_senders, extensionData: encodeExternalSenders([sender]) },
    // XEP: required_capabilities SHOULD list 0xF0A0 so that every member supports it (RFC 9420 §11.1).
    {
      extensionType: extensionTypes.required_capabilities,
      extensionData: encodeRequiredCapabilities({ extensionTypes: [XMPP_BINDING_EXTENSION_TYPE], proposalTypes: [], credentialTypes: [credentialTypes.basic] }),
    },
  ];
}

/**
 * XEP "Registering a Group": join (= create) the room, configure it, make the DS an admin,
 * create the one-member group with xmpp_binding and the DS as external sender, register it.
 */
export async function createBoundRoom(
  c: SetupContext,
  ds: { readonly client: DsClient; readonly info: DsInfo },
  room: string,
  nick: string,
  opts: { readonly name?: string },
): Promise<{ record: RoomRecord; state: GroupState }> {
  const { created } = await joinRoom(c.io, room, nick, c.requestTimeoutMs);
  if (!created) c.logger.info("the room already existed; configuring it as its owner", { room });
  await configureRoom(c.io, room, opts, c.logger);
  await setAffiliation(c.io, room, ds.client.jid, "admin");
  if (!ds.info.cipherSuites.includes(c.cs.params.id)) {
    throw new MlsClientError("client.no_ds", `the DS does not accept cipher suite ${c.cs.params.id} (it lists ${ds.info.cipherSuites.join(", ")})`);
  }
  const cs = c.cs;
  const state = await createGroup({
    cs,
    config: c.config,
    leaf: {
      credential: c.device.credential,
      signaturePrivateKey: c.device.signaturePrivateKey,
      capabilities: withExtensionTypes(buildCapabilities({ grease: (n) => cs.randomBytes(n) }), [XMPP_BINDING_EXTENSION_TYPE]),
    },
    extensions: boundGroupExtensions(room, ds.client.jid, ds.info),
  });
  // The hub needs the ratchet tree to build its public view (XEP "Registering a Group" check 4).
  const gi = await createGroupInfo(state, { ratchetTree: true });
  await ds.client.create(state.groupId, room, encodeMlsMessage(groupInfoMessage(gi)));
  const record: RoomRecord = {
    v: 1,
    room,
    group: toHex(state.groupId),
    hub: ds.client.jid,
    nick,
    lastSeq: 0,
    lastMamId: null,
    mamStart: new Date(Date.now() - ARCHIVE_SKEW_MS).toISOString(),
    lastUpdateAt: Date.now(),
    sentSinceUpdate: 0,
  };
  return { record, state };
}

/**
 * XEP "Delivery of Welcome": find our KeyPackage among the Welcome's secrets, join (RFC 9420
 * §12.4.3.1), and check the binding names the `<welcome/>`'s room and its sender. Returns null
 * when the Welcome is not for us.
 */
export async function joinWelcome(
  c: SetupContext,
  pool: KeyPackagePool,
  from: string,
  w: WelcomeElement,
  nick: (room: string) => string,
  receivedAt: Date,
  isGroupIdInUse: (groupId: Uint8Array) => boolean,
): Promise<{ record: RoomRecord; state: GroupState; used: OwnKeyPackage } | null> {
  const msg = decodeMlsMessage(w.welcome);
  if (msg.wireFormat !== wireFormats.mls_welcome) throw new MlsClientError("client.binding_mismatch", "the <welcome/> does not carry an MLS Welcome");
  const own = await pool.find(welcomeNewMembers(msg.welcome));
  // "a joiner that is not among the Welcome's EncryptedGroupSecrets MUST ignore it".
  if (own === null) return null;
  const { state } = await joinFromWelcome({
    cs: c.cs,
    config: c.config,
    welcome: msg,
    keyPackage: own.keyPackage,
    keyPackagePrivateKeys: own.privateKeys,
    isGroupIdInUse,
  });
  const hub = bareJid(from);
  checkBinding(state.groupContext.extensions, w.room, hub);
  if (!bytesEqual(state.groupId, w.group) || state.epoch !== w.epoch) {
    throw new MlsClientError("client.binding_mismatch", "the <welcome/> attributes disagree with the Welcome it carries");
  }
  const record: RoomRecord = {
    v: 1,
    room: w.room,
    group: toHex(state.groupId),
    hub,
    nick: nick(w.room),
    lastSeq: w.seq,
    lastMamId: null,
    mamStart: new Date(receivedAt.getTime() - ARCHIVE_SKEW_MS).toISOString(),
    lastUpdateAt: Date.now(),
    sentSinceUpdate: 0,
  };
  return { record, state, used: own };
}
