/**
 * vitest global setup of the "integration" project: start Prosody and ejabberd once, in parallel,
 * hand their connection data to the test files (`inject("xmppServers")`, see context.ts), and stop
 * them when the run ends.
 *
 * If they cannot start: with CI=true the run fails here, loudly; elsewhere the integration suites
 * are skipped with the reason and the install command.
 */
import type { TestProject } from "vitest/node";
import type { XmppServersContext } from "./context.js";
import { startEjabberd } from "./ejabberd.js";
import { startProsody } from "./prosody.js";
import { INSTALL_HINT, ServerStartError, type RunningServer } from "./types.js";

const IN_CI = process.env.CI === "true" || process.env.CI === "1";

function describeFailure(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const t0 = performance.now();
  const [p, e] = await Promise.allSettled([startProsody(), startEjabberd()]);
  const prosody = p.status === "fulfilled" ? p.value : undefined;
  const ejabberd = e.status === "fulfilled" ? e.value : undefined;
  const started = [prosody, ejabberd].filter((s): s is RunningServer => s !== undefined);
  const failures = [p, e].flatMap((r) => (r.status === "rejected" ? [describeFailure(r.reason)] : []));
  const stopAll = async (): Promise<void> => {
    const t = performance.now();
    await Promise.all(started.map((s) => s.stop()));
    if (started.length > 0) console.log(`[servers] stopped ${started.map((s) => s.name).join(" and ")} in ${Math.round(performance.now() - t)} ms`);
  };

  if (prosody === undefined || ejabberd === undefined) {
    await stopAll();
    const reason = failures.join("\n");
    if (IN_CI) {
      throw new Error(`XMPP test servers could not start (CI=true, so this fails the run):\n${reason}`);
    }
    const missing = [p, e].some((r) => r.status === "rejected" && r.reason instanceof ServerStartError && r.reason.reason === "missing_package");
    const howto = missing
      ? `install the packages (as root): apt-get update && ${INSTALL_HINT}`
      : "fix the cause above (a busy port: stop whatever listens there), then re-run";
    console.warn(`\n[servers] SKIPPING the integration tests: the XMPP servers could not start.\n${reason}\n[servers] To run them: ${howto}.\n`);
    const ctx: XmppServersContext = { available: false, reason: reason.split("\n")[0] ?? reason };
    project.provide("xmppServers", ctx);
    return async () => {};
  }

  const wall = Math.round(performance.now() - t0);
  console.log(
    `[servers] up in ${wall} ms (parallel): prosody ${prosody.domain} ${prosody.host}:${prosody.c2sPort} in ${prosody.startupMs} ms, ` +
      `ejabberd ${ejabberd.domain} ${ejabberd.host}:${ejabberd.c2sPort} in ${ejabberd.startupMs} ms`,
  );
  const ctx: XmppServersContext = { available: true, prosody: prosody.info(), ejabberd: ejabberd.info(), startupMs: wall };
  project.provide("xmppServers", ctx);
  return stopAll;
}
