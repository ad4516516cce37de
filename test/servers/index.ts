/**
 * Real XMPP servers for integration tests: Prosody 0.12 and ejabberd 23.01 (Debian packages) as child
 * processes on loopback, plus xmpp.js client/component helpers. See global-setup.ts for how the
 * "integration" vitest project uses them. "notes §N" in these files refers to
 * ../shared/notes/xmpp-servers-on-loopback.md (beside the repository), the facts behind the choices.
 *
 *   const s = await startProsody({ c2sPort: 26222 });   // or startEjabberd(...)
 *   const alice = await connectClient(s, "alice", "laptop");
 *   ...
 *   await alice.stop(); await s.stop();
 */
export { startProsody, PROSODY_DEFAULTS } from "./prosody.js";
export { startEjabberd, EJABBERD_DEFAULTS } from "./ejabberd.js";
export { connectClient, connectComponent } from "./client.js";
export type { TestClient, TestComponent, ConnectOptions, ComponentOptions, StanzaLog } from "./client.js";
export { describeEachServer, xmppServers } from "./context.js";
export type { XmppServersContext } from "./context.js";
export { missingServerPackages } from "./packages.js";
export * from "./types.js";
