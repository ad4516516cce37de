/**
 * `xmpp-mls chat` for real: two chat processes (stdin piped, stdout read) against the harness's
 * Prosody and the DS gateway started here. Alice creates a room and invites Bob; they exchange a
 * line each way, compare verification codes, list members; Bob quits on end of input, Alice with
 * /quit.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type Gateway } from "../../src/component/gateway.js";
import { createLogger } from "../../src/component/log.js";
import { transpileTree, type Transpiled } from "../component/helpers/transpile.js";
import { xmppServers } from "../servers/context.js";
import { uniqueId } from "../servers/stanzas.js";
import { gatewayConfig } from "./helpers/acceptance.js";

interface ChatProcess {
  readonly name: string;
  readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<number | null>;
  /** Everything written to stdout so far. */
  output(): string;
  stderr(): string;
  send(line: string): void;
  /** The first match of `re` in stdout after the previous match returned by `expectLine`. */
  expectLine(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

function startChat(script: string, args: readonly string[], env: Record<string, string>): ChatProcess {
  const child = spawn(process.execPath, [script, "chat", ...args], { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  let cursor = 0;
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const name = args[args.indexOf("--jid") + 1] ?? "chat";
  return {
    name,
    child,
    exited,
    output: () => out,
    stderr: () => err,
    send: (line) => void child.stdin.write(`${line}\n`),
    async expectLine(re, timeoutMs = 20_000) {
      const t0 = Date.now();
      for (;;) {
        const rest = out.slice(cursor);
        const m = re.exec(rest);
        if (m !== null && m.index !== undefined) {
          cursor += m.index + m[0].length;
          return m;
        }
        if (Date.now() - t0 > timeoutMs || child.exitCode !== null) {
          throw new Error(`${name}: no line matching ${re} (exit ${child.exitCode})\n--- stdout ---\n${out}\n--- stderr ---\n${err}`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

const ctx = xmppServers();

describe.skipIf(!ctx.available)(`xmpp-mls chat, two processes${ctx.available ? "" : ` (XMPP servers unavailable: ${ctx.reason})`}`, () => {
  const server = ctx.available ? ctx.prosody : undefined!;
  let gateway: Gateway | undefined;
  let tree: Transpiled | undefined;
  const chats: ChatProcess[] = [];

  beforeAll(async () => {
    tree = transpileTree(["src/cli/main.ts"]);
    gateway = await startGateway(gatewayConfig(server, ":memory:"), { logger: createLogger({ level: "silent" }) });
  });

  afterAll(async () => {
    for (const c of chats) if (c.child.exitCode === null) c.child.kill("SIGKILL");
    await gateway?.stop();
    tree?.dispose();
  });

  it("alice creates a room and invites bob; they exchange a line each way", async () => {
    const script = tree!.js("src/cli/main.ts");
    const service = `xmpp://${server.host}:${server.c2sPort}`;
    const room = `${uniqueId("chat")}@${server.mucDomain}`;
    const label = room.slice(0, room.indexOf("@"));
    const aliceJid = `alice@${server.domain}`;
    const bobJid = `bob@${server.domain}`;
    const common = ["--service", service, "--sasl", "PLAIN"];
    const env = { XMPP_MLS_PASSWORD: server.password };
    const alice = startChat(script, ["--jid", `${aliceJid}/cli-laptop`, ...common], env);
    const bob = startChat(script, ["--jid", `${bobJid}/cli-desktop`, "--room", room, ...common], env);
    chats.push(alice, bob);

    await alice.expectLine(new RegExp(`\\* online as ${aliceJid}/cli-laptop; Delivery Service ${server.componentDomain}`));
    await bob.expectLine(new RegExp(`\\* online as ${bobJid}/cli-desktop;`));
    await bob.expectLine(/\* not in .* yet: waiting for an invitation/);

    alice.send(`/create ${room} CLI test`);
    await alice.expectLine(new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d\\] \\[${label}\\] \\* created ${room} at epoch 0; members: ${aliceJid}/cli-laptop$`, "m"));
    alice.send(`/invite ${bobJid}`);
    await alice.expectLine(new RegExp(`\\[${label}\\] \\* ${aliceJid}/cli-laptop added ${bobJid}/cli-desktop \\(epoch 1\\)`));
    await bob.expectLine(new RegExp(`\\[${label}\\] \\* joined ${room} at epoch 1; members: ${aliceJid}/cli-laptop, ${bobJid}/cli-desktop`));

    alice.send("hello from alice's terminal");
    await alice.expectLine(new RegExp(`\\[${label}\\] me: hello from alice's terminal`));
    await bob.expectLine(new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d\\] \\[${label}\\] ${aliceJid}/cli-laptop: hello from alice's terminal$`, "m"));
    bob.send("hi alice, bob here");
    await alice.expectLine(new RegExp(`\\[${label}\\] ${bobJid}/cli-desktop: hi alice, bob here$`, "m"));

    alice.send("/verify");
    bob.send("/verify");
    const codeA = await alice.expectLine(/\* verification code \(epoch 1\): ((?:\d{5} ?){6})$/m);
    const codeB = await bob.expectLine(/\* verification code \(epoch 1\): ((?:\d{5} ?){6})$/m);
    expect(codeA[1]).toBe(codeB[1]);

    bob.send("/who");
    await bob.expectLine(new RegExp(`\\* 2 member device\\(s\\) at epoch 1: ${aliceJid}/cli-laptop, ${bobJid}/cli-desktop \\(you\\)`));
    alice.send("/frobnicate");
    await alice.expectLine(/! unknown command \/frobnicate/);

    // Bob: end of input quits; Alice: /quit.
    bob.child.stdin.end();
    alice.send("/quit");
    expect(await bob.exited).toBe(0);
    expect(await alice.exited).toBe(0);
    expect(alice.output()).toMatch(/\* bye\n$/);
    expect(bob.output()).toMatch(/\* bye\n$/);
    // Nothing typed in one terminal shows up as an error in the other.
    expect(alice.output()).not.toMatch(/! (send|\/create|\/invite|\/verify) failed/);
    expect(bob.output()).not.toMatch(/! (send|\/who|\/verify) failed/);
  });

  it("a wrong password ends the program with status 1 and says why", async () => {
    const chat = startChat(tree!.js("src/cli/main.ts"), ["--jid", `alice@${server.domain}/cli-wrong`, "--service", `xmpp://${server.host}:${server.c2sPort}`, "--sasl", "PLAIN"], {
      XMPP_MLS_PASSWORD: "not the password",
    });
    chats.push(chat);
    expect(await chat.exited).toBe(1);
    expect(chat.stderr()).toMatch(/could not connect: .*not-authorized/);
  });
});
