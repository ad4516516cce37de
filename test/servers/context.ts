/**
 * What the integration global setup hands to test files (vitest `provide`/`inject`), and the
 * helpers test files use to read it.
 */
import { describe, inject } from "vitest";
import type { ServerInfo } from "./types.js";

export type XmppServersContext =
  | {
      readonly available: true;
      readonly prosody: ServerInfo;
      readonly ejabberd: ServerInfo;
      /** Wall time to bring both up (they start in parallel). */
      readonly startupMs: number;
    }
  | { readonly available: false; readonly reason: string };

declare module "vitest" {
  export interface ProvidedContext {
    xmppServers: XmppServersContext;
  }
}

/** The running servers, or the reason they are not there. */
export function xmppServers(): XmppServersContext {
  const ctx = inject("xmppServers") as XmppServersContext | undefined;
  return ctx ?? { available: false, reason: "the integration global setup did not run (use `npx vitest run --project integration`)" };
}

/**
 * `describe(server.name, ...)` once per running server. When the servers are unavailable (only
 * possible outside CI; in CI the global setup fails the run) the suite is reported as skipped with
 * the reason.
 */
export function describeEachServer(title: string, body: (server: ServerInfo) => void): void {
  const ctx = xmppServers();
  if (!ctx.available) {
    describe.skipIf(true)(`${title} (XMPP servers unavailable: ${ctx.reason})`, () => {});
    return;
  }
  for (const server of [ctx.prosody, ctx.ejabberd]) {
    describe(`${title} [${server.name} ${server.domain}]`, () => body(server));
  }
}
