/**
 * Parses any top-level element of our namespace found in a XEP example with the matching codec
 * function, choosing between request and result forms from the element's shape.
 */
import {
  fromErrorElement, NS_MLS, NS_PUBSUB, NS_RSM, parseAccepted, parseClaim, parseCreate, parseEntry,
  parseGroupInfoRequest, parseGroupInfoResult, parseKeyPackagePublish, parseKeyPackages, parseKeyPackagesLow,
  parseLogRequest, parseLogResult, parseMls, parseRelay, parseSubmit, parseWelcome, type Element,
} from "../../src/xmpp/index.js";

const ERROR_ELEMENTS = new Set([
  "wrong-epoch", "epoch-expired", "policy-violation", "invalid-message", "too-large", "rate-limited",
  "unknown-group", "group-exists", "no-key-packages",
]);

function isLogResult(el: Element): boolean {
  const set = el.getChild("set", NS_RSM);
  return el.getChildren("entry", NS_MLS).length > 0 || set?.getChild("count", NS_RSM) !== undefined;
}

export function parseOurElement(el: Element): unknown {
  const name = el.getName();
  if (ERROR_ELEMENTS.has(name)) {
    const err = fromErrorElement(el.parent!);
    if (err.code === "xmpp.remote_error" || err.app?.name !== name) throw new Error(`<${name}/> not recognised in its <error/>`);
    return err;
  }
  switch (name) {
    case "key-package": {
      // Only inside a publish: the pubsub ancestor is the unit the codec reads.
      const pubsub = el.parent?.parent?.parent;
      if (pubsub?.getName() !== "pubsub" || pubsub.getNS() !== NS_PUBSUB) throw new Error("<key-package/> outside a publish");
      return parseKeyPackagePublish(pubsub);
    }
    case "claim": return parseClaim(el);
    case "key-packages": return parseKeyPackages(el);
    case "key-packages-low": return parseKeyPackagesLow(el);
    case "create": return parseCreate(el);
    case "group-info": return el.getText().trim() === "" ? parseGroupInfoRequest(el) : parseGroupInfoResult(el);
    case "submit": return parseSubmit(el);
    case "accepted": return parseAccepted(el);
    case "mls": return parseMls(el);
    case "welcome": return parseWelcome(el);
    case "log": return isLogResult(el) ? parseLogResult(el) : parseLogRequest(el);
    case "entry": return parseEntry(el);
    case "relay": return parseOurElement(parseRelay(el).payload);
    default: throw new Error(`no parser for <${name}/>`);
  }
}
