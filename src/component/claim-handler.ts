/**
 * Atomic KeyPackage claims (XEP "Claiming KeyPackages", "Low-water Notice"):
 *
 *   set <claim jid cipher-suite group?/> ──KeyDirectory.claim (one transaction)──▶
 *       <key-packages jid><key-package device cipher-suite last-resort ref>b64</key-package>…</key-packages>
 *
 * Each claimed device with at most `keyPackageLowWater` ordinary KeyPackages left then gets a
 * `<key-packages-low/>` headline message at its full JID (`<bare>/<device>`). Every handed-out
 * KeyPackageRef is remembered in the {@link ClaimLedger} so that a Welcome naming it can be routed.
 * The optional `group` attribute is accepted and not used for policy.
 * @module
 */
import { fromHex } from "../util/bytes.js";
import { buildKeyPackages, buildKeyPackagesLowMessage, parseClaim } from "../xmpp/key-package-stanzas.js";
import { NS_MLS } from "../xmpp/ns.js";
import type { Element } from "../xmpp/xml.js";
import type { ClaimOutcome } from "./key-directory.js";
import type { IqRequest, Router } from "./router.js";
import type { DsServices } from "./services.js";

export function registerClaim(router: Router, s: DsServices): void {
  router.set(NS_MLS, "claim", (req) => claim(s, req));
}

function claim(s: DsServices, req: IqRequest): Element {
  const c = parseClaim(req.element, s.limits.parseLimits);
  const out = s.directory.claim(req.from, c.jid, c.cipherSuite);
  for (const kp of out.keyPackages) s.delivery.claims.remember(kp.ref, `${kp.owner}/${kp.deviceId}`);
  s.logger.debug("KeyPackages claimed", { by: req.from, jid: out.jid, devices: out.keyPackages.length });
  const result = buildKeyPackages(
    {
      jid: out.jid,
      keyPackages: out.keyPackages.map((r) => ({ device: r.deviceId, cipherSuite: r.cipherSuite, lastResort: r.lastResort, ref: fromHex(r.ref), keyPackage: r.bytes })),
    },
    s.limits.parseLimits,
  );
  void notifyLowWater(s, out, c.cipherSuite);
  return result;
}

/** XEP "Low-water Notice": to each claimed device now at or below the mark. */
async function notifyLowWater(s: DsServices, out: ClaimOutcome, cipherSuite: number): Promise<void> {
  const claimed = new Set(out.keyPackages.map((k) => k.deviceId));
  for (const d of out.lowWater) {
    if (!claimed.has(d.deviceId)) continue;
    try {
      await s.xmpp.send(
        buildKeyPackagesLowMessage({ from: s.domain, to: `${out.jid}/${d.deviceId}`, id: `low-${Date.now().toString(36)}-${d.deviceId}`, device: d.deviceId, cipherSuite, remaining: d.remaining }),
      );
    } catch (e) {
      s.logger.warn("low-water notice not sent", { jid: out.jid, device: d.deviceId, error: e });
    }
  }
}
