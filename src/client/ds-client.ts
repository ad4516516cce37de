/**
 * Requests to the Delivery Service (XEP "Discovery", "KeyPackage Directory", "Binding a Room to a
 * Group", "Handshake Submission and Verdicts", "Catch-up", "GroupInfo Publication"). Thin:
 * build with src/xmpp, send, parse the result; errors arrive as XmppProtocolError.
 * @module
 */
import { toHex } from "../util/bytes.js";
import { parseDsInfoForm, type DsInfo } from "../xmpp/ds-info.js";
import { buildCreate, buildGroupInfoRequest, parseGroupInfoResult, type GroupInfoResult } from "../xmpp/group-stanzas.js";
import { bareJid } from "../xmpp/jid.js";
import { buildClaim, buildKeyPackagePublish, buildKeyPackageRetract, parseKeyPackage, parseKeyPackages, type KeyPackageElement, type KeyPackages } from "../xmpp/key-package-stanzas.js";
import { buildLogRequest, parseLogResult, type LogEntry } from "../xmpp/log-stanzas.js";
import { keyPackageNode, NS_DATA_FORMS, NS_DISCO_INFO, NS_DISCO_ITEMS, NS_MLS, NS_MLS_DS_INFO, NS_PUBSUB } from "../xmpp/ns.js";
import { buildSubmit, parseAccepted, type Accepted, type Submit } from "../xmpp/submit-stanzas.js";
import { xml, type Element } from "../xmpp/xml.js";
import { MlsClientError } from "./errors.js";
import type { Io } from "./io.js";
import type { Logger } from "./options.js";

function child(iq: Element, name: string, ns: string): Element {
  const c = iq.getChild(name, ns);
  if (c === undefined) throw new MlsClientError("client.no_ds", `the reply from ${iq.attrs.from ?? "?"} lacks <${name} xmlns='${ns}'/>`);
  return c;
}

/** disco#info of `jid`: its features and, for a DS, the parsed ds-info form. */
export async function discoInfo(io: Io, jid: string): Promise<{ features: Set<string>; dsInfo: DsInfo | null }> {
  const res = await io.iq("get", jid, xml("query", { xmlns: NS_DISCO_INFO }));
  const q = child(res, "query", NS_DISCO_INFO);
  const features = new Set(q.getChildren("feature").map((f) => f.attrs.var ?? ""));
  const form = q.getChildren("x", NS_DATA_FORMS).find((x) =>
    x.getChildren("field").some((f) => f.attrs.var === "FORM_TYPE" && f.getChildText("value") === NS_MLS_DS_INFO),
  );
  return { features, dsInfo: form === undefined ? null : parseDsInfoForm(form) };
}

/**
 * XEP "Finding a Delivery Service": disco#items of our domain, then disco#info of each item
 * until one has the feature and the ds-info form.
 */
export async function discoverDs(io: Io, domain: string, logger: Logger): Promise<{ jid: string; info: DsInfo }> {
  const res = await io.iq("get", domain, xml("query", { xmlns: NS_DISCO_ITEMS }));
  const items = child(res, "query", NS_DISCO_ITEMS).getChildren("item").map((i) => i.attrs.jid).filter((j): j is string => j !== undefined);
  for (const jid of items) {
    try {
      const { features, dsInfo } = await discoInfo(io, jid);
      if (features.has(NS_MLS) && dsInfo !== null) return { jid, info: dsInfo };
    } catch (e) {
      logger.debug("disco#info failed", { jid, error: e instanceof Error ? e.message : String(e) });
    }
  }
  throw new MlsClientError("client.no_ds", `no MLS Delivery Service among the disco#items of ${domain}`);
}

/** The ds-info of a known DS JID. */
export async function dsInfoOf(io: Io, jid: string): Promise<DsInfo> {
  const { features, dsInfo } = await discoInfo(io, jid);
  if (!features.has(NS_MLS) || dsInfo === null) throw new MlsClientError("client.no_ds", `${jid} is not an MLS Delivery Service`);
  return dsInfo;
}

export class DsClient {
  constructor(
    readonly io: Io,
    readonly jid: string,
  ) {}

  /** XEP-0060 publish of one KeyPackage to our node (XEP "Publishing KeyPackages"). */
  async publish(owner: string, ref: Uint8Array, kp: Omit<KeyPackageElement, "ref">): Promise<void> {
    await this.io.iq("set", this.jid, buildKeyPackagePublish({ owner, ref, keyPackage: kp }));
  }

  /** XEP-0060 §6.5 retrieval of our own node's items (XEP "Listing and Retracting"). */
  async listOwn(owner: string): Promise<{ ref: string; kp: KeyPackageElement }[]> {
    const res = await this.io.iq("get", this.jid, xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node: keyPackageNode(owner) })));
    const items = res.getChild("pubsub", NS_PUBSUB)?.getChild("items")?.getChildren("item") ?? [];
    const out: { ref: string; kp: KeyPackageElement }[] = [];
    for (const it of items) {
      const payload = it.getChild("key-package", NS_MLS);
      if (it.attrs.id === undefined || payload === undefined) continue;
      out.push({ ref: it.attrs.id, kp: parseKeyPackage(payload) });
    }
    return out;
  }

  async retract(owner: string, ref: Uint8Array): Promise<void> {
    await this.io.iq("set", this.jid, buildKeyPackageRetract(owner, ref));
  }

  /** XEP "Claiming KeyPackages": one KeyPackage per device of `jid`. */
  async claim(jid: string, cipherSuite: number, group?: Uint8Array): Promise<KeyPackages> {
    const res = await this.io.iq("set", this.jid, buildClaim(group === undefined ? { jid: bareJid(jid), cipherSuite } : { jid: bareJid(jid), cipherSuite, group }));
    return parseKeyPackages(child(res, "key-packages", NS_MLS));
  }

  /** XEP "Registering a Group". */
  async create(group: Uint8Array, room: string, groupInfo: Uint8Array): Promise<void> {
    await this.io.iq("set", this.jid, buildCreate({ group, room, groupInfo }));
  }

  /** XEP "The submit Element": resolves with the verdict, rejects with wrong-epoch & co. */
  async submit(v: Submit): Promise<Accepted> {
    const res = await this.io.iq("set", this.jid, buildSubmit(v));
    return parseAccepted(child(res, "accepted", NS_MLS));
  }

  /**
   * XEP "Catch-up": every log entry with epoch >= `afterEpoch` and seq > `afterSeq`, following
   * the RSM pages to the end.
   */
  async log(group: Uint8Array, afterEpoch: bigint, afterSeq: number, pageSize: number): Promise<LogEntry[]> {
    const out: LogEntry[] = [];
    let after = afterSeq;
    for (;;) {
      const res = await this.io.iq("get", this.jid, buildLogRequest({ group, afterEpoch, rsm: { max: pageSize, after } }));
      const page = parseLogResult(child(res, "log", NS_MLS));
      if (toHex(page.group) !== toHex(group)) throw new MlsClientError("client.catch_up_failed", "the DS answered a log query with another group's log");
      const fresh = page.entries.filter((e) => e.seq > after);
      out.push(...fresh);
      if (fresh.length === 0 || page.entries.length < pageSize) return out;
      after = fresh[fresh.length - 1]!.seq;
    }
  }

  /** XEP "GroupInfo Publication". */
  async groupInfo(group: Uint8Array): Promise<GroupInfoResult> {
    const res = await this.io.iq("get", this.jid, buildGroupInfoRequest({ group }));
    return parseGroupInfoResult(child(res, "group-info", NS_MLS));
  }
}
