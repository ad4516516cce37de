/**
 * Acceptance: the gateway is killed with SIGKILL in the middle of a burst of Commits.
 *
 * The gateway runs as its own process — the `xmpp-mls-gateway --config <file>` CLI, transpiled
 * from src/ like test/component/cli.test.ts does — on a SQLite file. Members commit self-updates
 * one after the other; the process is killed with SIGKILL twice: once while a submission is in
 * flight (before, during or after the hub's append, by chance), once right after the hub stored
 * a Commit and answered, with that verdict withheld from its committer (the case a random kill
 * hits only sometimes). Each time it is restarted on the same database and the members reconnect
 * and catch up. Then: every Commit a client saw accepted is in the log with the bytes it
 * submitted, the log has no seq or epoch gap (one Commit per epoch), all members are at the
 * stored epoch with the same verification code, and the group goes on.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeEachServer } from "../servers/context.js";
import { uniqueId } from "../servers/stanzas.js";
import type { ServerInfo } from "../servers/types.js";
import { transpileTree, type Transpiled } from "../component/helpers/transpile.js";
import { converge, errorsOf, roomWith, scenario, snapshotStore, waitEvent, type Dev, type DsRequest } from "./helpers/acceptance.js";

/** Self-updates in the burst, by the members in turn. */
const BURST = 10;

let tree: Transpiled | undefined;
const cli = (): string => {
  tree ??= transpileTree(["src/component/cli.ts", "src/component/gateway.ts"]);
  return tree.js("src/component/cli.ts");
};
afterAll(() => tree?.dispose());

/** The gateway CLI as a child process; resolves once it logs "serving". */
class GatewayProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
    let buf = "";
    child.stderr!.setEncoding("utf8").on("data", (d: string) => {
      buf += d;
      const parts = buf.split("\n");
      buf = parts.pop() ?? "";
      this.lines.push(...parts.filter((l) => l !== ""));
    });
    child.stdout!.resume();
  }

  static async start(configFile: string): Promise<GatewayProcess> {
    const child = spawn(process.execPath, [cli(), "--config", configFile], { env: { PATH: process.env.PATH }, stdio: ["ignore", "pipe", "pipe"] });
    const p = new GatewayProcess(child);
    const t0 = Date.now();
    for (;;) {
      if (p.lines.some((l) => l.includes('"msg":"serving"'))) return p;
      const gone = await Promise.race([p.exited, new Promise<null>((r) => setTimeout(() => r(null), 25))]);
      if (gone !== null) throw new Error(`the gateway exited (${JSON.stringify(gone)}) before serving:\n${p.lines.join("\n")}`);
      if (Date.now() - t0 > 20_000) {
        child.kill("SIGKILL");
        throw new Error(`the gateway did not start within 20 s:\n${p.lines.join("\n")}`);
      }
    }
  }

  async kill9(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.kill("SIGKILL");
    return this.exited;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGTERM");
    const t = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

describeEachServer("acceptance: gateway SIGKILL", (server: ServerInfo) => {
  const h = scenario(server);
  const room = `${uniqueId("acc-kill")}@${server.mucDomain}`;
  const configFile = join(h.dir, "gateway.json");
  let gw: GatewayProcess | undefined;
  let members: Dev[] = [];

  beforeAll(async () => {
    writeFileSync(
      configFile,
      JSON.stringify({
        service: `xmpp://${server.host}:${server.componentPort}`,
        domain: server.componentDomain,
        secret: server.componentSecret,
        database: h.dbPath,
        mucServices: [server.mucDomain],
        logLevel: "info",
      }),
    );
    gw = await GatewayProcess.start(configFile);
    // Short request timeout: a verdict lost with the process should not stall the test for long.
    members = await Promise.all(["alice", "bob", "carol"].map((u) => h.device(u, "crash", { requestTimeoutMs: 2500 })));
    const [alice, ...others] = members;
    await roomWith(h, room, alice!, others);
  });
  afterAll(async () => {
    await gw?.stop();
  });

  const accepted = (): (DsRequest & { by: string })[] =>
    members.flatMap((d) => d.requests.filter((r) => r.name === "submit" && r.accepted !== undefined).map((r) => ({ ...r, by: d.name })));
  /** Submissions that got no verdict from the hub (timeout, unreachable, or dropped by the test). */
  const noVerdict = (): (DsRequest & { by: string })[] =>
    members.flatMap((d) =>
      d.requests
        .filter((r) => r.name === "submit" && r.accepted === undefined && r.error !== undefined)
        .filter((r) => {
          const code = (r.error as { code?: string }).code;
          return code === undefined || code === "ds.remote_not_found" || code === "ds.remote_timeout" || code === "xmpp.remote_error";
        })
        .map((r) => ({ ...r, by: d.name })),
    );
  const hexOf = (b64: string | undefined): string => Buffer.from(b64 ?? "", "base64").toString("hex").toUpperCase();
  const outcomes: string[] = [];
  let next = 0;

  /**
   * Self-updates by the members in turn until the gateway has been killed:
   * - "in flight": SIGKILL a few ms after the `at`-th submission of this phase left the client
   *   (before, during or after the hub's durable append, by chance);
   * - "verdict lost": when the `at`-th verdict of this phase arrives, SIGKILL the gateway and
   *   hand the client an error instead (the hub stored the Commit; the client never learns it).
   */
  async function burstUntilKilled(mode: "in flight" | "verdict lost", at: number): Promise<void> {
    let count = 0;
    let killed: Promise<{ signal: NodeJS.Signals | null }> | undefined;
    for (const d of members) {
      if (mode === "in flight") {
        d.onSubmit = () => {
          if (count++ !== at) return;
          const delay = Math.floor(Math.random() * 8);
          killed = new Promise((r) => setTimeout(r, delay)).then(() => gw!.kill9());
        };
      } else {
        d.afterVerdict = async () => {
          if (count++ !== at) return;
          killed = gw!.kill9();
          await killed;
          throw new Error("the verdict was lost with the gateway");
        };
      }
    }
    for (; next < BURST && killed === undefined; next++) {
      const d = members[next % members.length]!;
      outcomes.push(
        await d.mls.updateKeys(room).then(
          (e) => `${d.user}: accepted, epoch ${e}`,
          (e: unknown) => `${d.user}: failed (${(e as { code?: string }).code ?? String(e)})`,
        ),
      );
    }
    for (const d of members) d.onSubmit = d.afterVerdict = null;
    expect(killed, `the ${mode} kill was triggered`).toBeDefined();
    expect((await killed!).signal).toBe("SIGKILL");
    outcomes.push(`SIGKILL (${mode})`);
  }

  /** Restart on the same database, reconnect everybody, check the log and convergence. */
  async function restartAndCheck(): Promise<{ log: ReturnType<typeof snapshotStore>["log"] }> {
    gw = await GatewayProcess.start(configFile);
    for (const d of members) {
      await h.offline(d);
      await h.online(d);
    }
    const snap = snapshotStore(h.dbPath);
    const group = members[0]!.mls.groupId(room);
    const g = snap.groups.find((x) => (x as { group_id: string }).group_id === group) as { epoch: number; next_seq: number };
    const log = snap.log.filter((r) => r.group === group);
    // No seq gap, one Commit per epoch, and the group's epoch is the last Commit's.
    expect(log.map((r) => r.seq)).toEqual(log.map((_, i) => i + 1));
    expect(g.next_seq).toBe(log.length + 1);
    const commits = log.filter((r) => r.kind === "commit");
    expect(commits.map((r) => r.epoch)).toEqual(commits.map((_, i) => i));
    expect(g.epoch).toBe(commits.length);
    // Every Commit a client saw accepted is there, at its seq, with the bytes submitted.
    for (const a of accepted()) {
      const row = log.find((r) => r.seq === a.accepted!.seq);
      expect(row, `${a.by}'s accepted commit seq ${a.accepted!.seq}`).toBeDefined();
      expect([row!.kind, BigInt(row!.epoch) + 1n, row!.bytes]).toEqual(["commit", a.accepted!.epoch, hexOf(a.commit)]);
    }
    const lost = noVerdict();
    const landed = lost.filter((r) => commits.some((c) => c.bytes === hexOf(r.commit)));
    outcomes.push(`verdicts lost so far: ${lost.length}, of which in the log: ${landed.length}`);
    // Everybody is at the stored epoch (a member whose verdict was lost adopted its own Commit from the log).
    await converge(members, room, BigInt(g.epoch), 20_000).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${outcomes.join("; ")}`);
    });
    expect(new Set(members.map((d) => d.mls.verificationCode(room))).size, outcomes.join("; ")).toBe(1);
    return { log };
  }

  it("SIGKILL with a Commit in flight: nothing accepted is lost, no gaps, everybody converges after the restart", async () => {
    const setup = accepted().length;
    await burstUntilKilled("in flight", 3);
    // The 4th submission of the burst was hit; before it at least two self-updates went through.
    expect(accepted().length - setup).toBeGreaterThanOrEqual(2);
    await restartAndCheck();
  });

  it("SIGKILL after the hub stored a Commit but before its verdict reached the committer: the committer adopts it from the log", async () => {
    // noVerdict() lists per member, not in time order: tell this phase's loss apart by its bytes.
    const before = new Set(noVerdict().map((r) => r.commit));
    await burstUntilKilled("verdict lost", 1);
    const lost = noVerdict().filter((r) => !before.has(r.commit));
    expect(lost).toHaveLength(1);
    const { log } = await restartAndCheck();
    // That Commit is in the log, and its committer (like everybody) moved past it.
    expect(log.some((r) => r.kind === "commit" && r.bytes === hexOf(lost[0]!.commit))).toBe(true);
  });

  it("the group goes on: the rest of the burst, then messages", async () => {
    for (; next < BURST; next++) await members[next % members.length]!.mls.updateKeys(room);
    const group = members[0]!.mls.groupId(room);
    const snap = snapshotStore(h.dbPath);
    const epoch = BigInt((snap.groups.find((x) => (x as { group_id: string }).group_id === group) as { epoch: number }).epoch);
    await converge(members, room, epoch);
    expect(new Set(members.map((d) => d.mls.verificationCode(room))).size).toBe(1);
    const text = `after the crashes ${uniqueId("c")}`;
    await members[1]!.mls.sendText(room, text);
    for (const d of [members[0]!, members[2]!]) await waitEvent(d, "message", (m) => m.text === text, `${d.name} reads bob`);
    // Failures to catch up while the hub was down are expected; nothing else.
    for (const d of members) expect(errorsOf(d, room).filter((e) => !e.startsWith("catching up")), d.name).toEqual([]);
    expect(gw!.lines.filter((l) => l.includes('"level":"error"'))).toEqual([]);
    if (process.env.XMPP_MLS_TEST_LOG !== undefined) console.log(`[${server.name}] ${outcomes.join("; ")}`);
  });
});
