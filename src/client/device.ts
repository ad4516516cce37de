/**
 * The device: one MLS client = one XMPP resource with a stable device id (XEP "Credentials").
 * Its signature key pair and device id are created once and kept in the store: "A device MUST
 * keep the same device id and the same signature key pair across sessions".
 *
 * Credential: BasicCredential whose identity is the UTF-8 full JID `localpart@domain/device-id`.
 * @module
 */
import type { CipherSuite } from "../crypto/cipher-suite.js";
import { UsageError } from "../errors.js";
import type { AuthenticationService } from "../mls/auth/authentication-service.js";
import { basicCredentialAuthenticator } from "../mls/auth/basic.js";
import type { Credential } from "../mls/core/credential.js";
import { credentialTypes } from "../mls/core/protocol.js";
import { fromBase64, fromUtf8, toBase64, utf8 } from "../util/bytes.js";
import { isJid, splitJid } from "../xmpp/jid.js";
import { isDeviceId } from "../xmpp/values.js";
import type { ClientStore } from "./store/client-store.js";

const DEVICE_BLOB = "device";

export interface Device {
  /** Bare JID of the account, as bound by the server. */
  readonly bareJid: string;
  readonly deviceId: string;
  /** `bareJid/deviceId`: the credential identity and the Welcome address. */
  readonly identity: string;
  readonly cipherSuite: number;
  readonly signaturePrivateKey: Uint8Array;
  readonly credential: Credential;
}

interface DeviceRecord {
  readonly v: 1;
  readonly bareJid: string;
  readonly deviceId: string;
  readonly cipherSuite: number;
  readonly signaturePrivateKey: string;
}

/** A device id from a resource: the resource itself when it is one, else a stable digest of it. */
export function deviceIdFromResource(cs: CipherSuite, resource: string): string {
  if (isDeviceId(resource)) return resource;
  // base64url of a hash prefix: 16 characters of [A-Za-z0-9_-].
  return toBase64(cs.hash(utf8(resource)).slice(0, 12)).replaceAll("+", "-").replaceAll("/", "_");
}

function credentialFor(identity: string): Credential {
  return { credentialType: credentialTypes.basic, identity: utf8(identity) };
}

/**
 * Load the device from the store, or create it. `boundJid` is the full JID the server bound;
 * `wantedDeviceId` the option. A store that belongs to another account or suite is a UsageError.
 */
export async function loadOrCreateDevice(
  store: ClientStore,
  cs: CipherSuite,
  boundJid: string,
  wantedDeviceId: string | undefined,
): Promise<{ device: Device; created: boolean }> {
  const parts = splitJid(boundJid);
  if (parts === undefined || parts.local === undefined || parts.resource === undefined) throw new UsageError("bad_jid", `not a full JID: ${boundJid}`);
  const bare = `${parts.local}@${parts.domain}`;
  if (wantedDeviceId !== undefined && !isDeviceId(wantedDeviceId)) throw new UsageError("bad_device_id", `"deviceId" must match [A-Za-z0-9_-]{1,64}`);
  const raw = await store.get(DEVICE_BLOB);
  if (raw !== null) {
    const r = JSON.parse(fromUtf8(raw)) as DeviceRecord;
    if (r.v !== 1 || !isDeviceId(r.deviceId) || !isJid(r.bareJid, "user")) throw new UsageError("bad_store", "the stored device record is not understood");
    if (r.bareJid.toLowerCase() !== bare.toLowerCase()) throw new UsageError("store_account_mismatch", `the store belongs to ${r.bareJid}, not ${bare}`);
    if (wantedDeviceId !== undefined && wantedDeviceId !== r.deviceId) {
      // XEP: "A device that loses its state MUST use a new device id" — the reverse (a new id for kept state) is refused.
      throw new UsageError("device_id_mismatch", `the store holds device ${r.deviceId}, not ${wantedDeviceId}`);
    }
    if (r.cipherSuite !== cs.params.id) throw new UsageError("store_suite_mismatch", `the store was created for cipher suite ${r.cipherSuite}, not ${cs.params.id}`);
    const identity = `${r.bareJid}/${r.deviceId}`;
    return {
      device: { bareJid: r.bareJid, deviceId: r.deviceId, identity, cipherSuite: r.cipherSuite, signaturePrivateKey: fromBase64(r.signaturePrivateKey), credential: credentialFor(identity) },
      created: false,
    };
  }
  const deviceId = wantedDeviceId ?? deviceIdFromResource(cs, parts.resource);
  const signaturePrivateKey = cs.signatureKeyPair().privateKey;
  const record: DeviceRecord = { v: 1, bareJid: bare, deviceId, cipherSuite: cs.params.id, signaturePrivateKey: toBase64(signaturePrivateKey) };
  await store.put(DEVICE_BLOB, utf8(JSON.stringify(record)));
  const identity = `${bare}/${deviceId}`;
  return { device: { bareJid: bare, deviceId, identity, cipherSuite: cs.params.id, signaturePrivateKey, credential: credentialFor(identity) }, created: true };
}

/**
 * The Authentication Service of this protocol (XEP "Authentication Service Compromise"): basic
 * credentials whose identity is a full JID with a device id as resource. The binding between the
 * JID and the key is vouched for by the servers (the DS checks publishers and submitters); users
 * verify with the verification code.
 */
export function xmppAuthenticationService(): AuthenticationService {
  return basicCredentialAuthenticator({
    validateIdentity: (identity, _key, context) => {
      let s: string;
      try {
        s = fromUtf8(identity);
      } catch {
        return false;
      }
      const p = splitJid(s);
      if (p === undefined) return false;
      // The hub's ExternalSender credential names the DS: a domain JID (XEP "Discovery", external-sender).
      if (context.purpose === "external_sender") return p.resource === undefined;
      return p.local !== undefined && p.resource !== undefined && isDeviceId(p.resource);
    },
  });
}

/** `{bare, device}` of a credential identity `bare/device`. */
export function splitIdentity(identity: string): { readonly jid: string; readonly device: string } {
  const slash = identity.indexOf("/");
  return slash < 0 ? { jid: identity, device: "" } : { jid: identity.slice(0, slash), device: identity.slice(slash + 1) };
}
