/**
 * `xmpp-mls chat`: one device of the client plugin behind a line-oriented prompt (node:readline).
 *
 *   stdin lines ──► queue (one at a time) ──► /command │ text ─► MlsClient (src/client)
 *   plugin events (message, membership, joined, removed, verification-code, error) ──► stdout
 *
 * Works on a terminal (prompt, hidden password entry, incoming lines printed above the prompt)
 * and with piped stdin (no prompt; end of input quits once the queued lines are done).
 * @module
 */
import { createInterface, clearLine, cursorTo, type Interface } from "node:readline";
import type { Client } from "@xmpp/client";
import { setupMls, type MlsClient } from "../client/plugin.js";
import { MemoryStore, type ClientStore } from "../client/store/client-store.js";
import { FileStore } from "../client/store/file-store.js";
import type { Logger } from "../client/options.js";
import { XmppMlsError } from "../errors.js";
import { CHAT_USAGE, parseChatArgs, type ChatOptions } from "./chat-options.js";
import { createXmppClient, parseFullJid, startXmppClient, stopXmppClient } from "./connect.js";
import { errorText, formatCode, formatJoined, formatMembership, formatMessage, formatNotice, formatOwnMessage, formatRemoved, roomLabel } from "./format.js";
import { promptSecret, type TtyInput } from "./prompt.js";

export interface ChatIo {
  readonly input: TtyInput;
  readonly output: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly errorOutput: NodeJS.WritableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Registers `stop` for SIGINT/SIGTERM; returns a function removing it. */
  readonly onSignal?: (stop: () => void) => () => void;
}

const HELP = `Commands: /create <room> [name], /invite <jid>, /remove <jid>, /leave, /verify, /who, /rooms, /room <jid>, /help, /quit
Anything else is sent to the current room. A bare name means <name>@conference.<your domain> for rooms, <name>@<your domain> for users.`;

/** Run the chat; resolves to the exit status. */
export async function runChat(argv: readonly string[], io: ChatIo): Promise<number> {
  let opts: ChatOptions;
  try {
    opts = parseChatArgs(argv);
  } catch (e) {
    io.errorOutput.write(`xmpp-mls chat: ${errorText(e)}\n\n${CHAT_USAGE}`);
    return 2;
  }
  if (opts.help) {
    io.output.write(CHAT_USAGE);
    return 0;
  }
  let password: string;
  let store: ClientStore;
  try {
    password = opts.password ?? nonEmpty(io.env.XMPP_MLS_PASSWORD) ?? (await promptSecret(`Password for ${opts.jid}: `, io.input, io.output));
    store =
      opts.store === undefined
        ? new MemoryStore()
        : await FileStore.open(opts.store, nonEmpty(io.env.XMPP_MLS_STORE_PASSPHRASE) ?? (await promptSecret(`Passphrase of the store ${opts.store}: `, io.input, io.output)));
  } catch (e) {
    io.errorOutput.write(`xmpp-mls chat: ${errorText(e)}\n`);
    return e instanceof XmppMlsError && e.code.startsWith("store.") ? 1 : 2;
  }
  return new ChatSession(opts, password, store, io).run();
}

const nonEmpty = (s: string | undefined): string | undefined => (s === undefined || s === "" ? undefined : s);

class ChatSession {
  readonly #opts: ChatOptions;
  readonly #io: ChatIo;
  readonly #tty: boolean;
  readonly #domain: string;
  readonly #xmpp: Client;
  readonly #mls: MlsClient;
  #rl: Interface | null = null;
  #room: string | undefined;
  #queue: Promise<void> = Promise.resolve();
  #quitting: Promise<void> | null = null;
  #onlineOnce = false;
  #finished!: (code: number) => void;

  constructor(opts: ChatOptions, password: string, store: ClientStore, io: ChatIo) {
    this.#opts = opts;
    this.#io = io;
    this.#tty = io.input.isTTY === true && io.output.isTTY === true;
    this.#domain = parseFullJid(opts.jid).domain;
    this.#room = opts.room;
    this.#xmpp = createXmppClient({
      jid: opts.jid,
      password,
      ...(opts.service !== undefined && { service: opts.service }),
      ...(opts.sasl !== undefined && { sasl: opts.sasl }),
      onError: (e) => {
        if (this.#quitting === null) this.#print(formatNotice(`! connection: ${errorText(e)}`));
      },
    });
    this.#mls = setupMls(this.#xmpp, {
      store,
      ...(opts.ds !== undefined && { deliveryService: opts.ds }),
      ...(opts.verbose && { logger: stderrLogger(io.errorOutput) }),
    });
    this.#wireEvents();
  }

  #wireEvents(): void {
    const m = this.#mls;
    m.on("message", (e) => this.#print(formatMessage(e)));
    m.on("membership", (e) => this.#print(formatMembership(e)));
    m.on("verification-code", (e) => this.#print(formatCode(e)));
    m.on("joined", (e) => {
      if (this.#room === undefined || this.#room.toLowerCase() === e.room.toLowerCase()) this.#setRoom(e.room);
      this.#print(formatJoined(e));
    });
    m.on("removed", (e) => {
      if (this.#room?.toLowerCase() === e.room.toLowerCase()) this.#setRoom(undefined);
      this.#print(formatRemoved(e));
    });
    m.on("error", (e) => this.#print(formatNotice(`! ${e.context}: ${errorText(e.error)}`, e.room)));
    m.on("online", () => {
      if (this.#onlineOnce) this.#print(formatNotice("* back online, rooms caught up"));
      this.#onlineOnce = true;
    });
    this.#xmpp.on("disconnect", () => {
      if (this.#quitting === null && this.#onlineOnce) this.#print(formatNotice("* disconnected; reconnecting…"));
    });
  }

  run(): Promise<number> {
    const done = new Promise<number>((resolve) => (this.#finished = resolve));
    void this.#start();
    return done;
  }

  async #start(): Promise<void> {
    const removeSignal = this.#io.onSignal?.(() => void this.#quit(0));
    const service = this.#opts.service ?? `xmpp://${this.#domain}:5222`;
    this.#print(formatNotice(`connecting to ${service} as ${this.#opts.jid}…`));
    try {
      const ready = this.#mls.ready();
      await startXmppClient(this.#xmpp);
      await ready;
    } catch (e) {
      this.#io.errorOutput.write(`xmpp-mls chat: could not connect: ${errorText(e)}\n`);
      removeSignal?.();
      await this.#mls.stop().catch(() => {});
      await stopXmppClient(this.#xmpp);
      this.#finished(1);
      return;
    }
    const rooms = this.#mls.rooms();
    this.#print(formatNotice(`* online as ${this.#mls.identity ?? this.#opts.jid}; Delivery Service ${this.#mls.deliveryService ?? "?"}`));
    if (this.#room !== undefined) {
      const known = rooms.find((r) => r.toLowerCase() === this.#room!.toLowerCase());
      if (known !== undefined) this.#setRoom(known);
      else this.#print(formatNotice(`* not in ${this.#room} yet: waiting for an invitation (or /create ${this.#room})`));
    } else if (rooms.length === 1) {
      this.#setRoom(rooms[0]);
    }
    if (rooms.length > 0) this.#print(formatNotice(`* rooms: ${rooms.join(", ")}`));
    this.#print(formatNotice("type /help for commands"));

    const rl = createInterface({ input: this.#io.input, output: this.#io.output, terminal: this.#tty, prompt: this.#promptText() });
    this.#rl = rl;
    rl.on("line", (line) => {
      this.#queue = this.#queue.then(() => this.#handle(line)).then(() => {
        if (this.#tty && this.#quitting === null) rl.prompt();
      });
    });
    rl.on("SIGINT", () => void this.#quit(0));
    rl.on("close", () => {
      // End of input: finish what was typed, then quit.
      this.#queue = this.#queue.then(() => this.#quit(0));
    });
    this.#quitting?.then(() => removeSignal?.());
    if (this.#tty) rl.prompt();
  }

  #promptText(): string {
    return `${this.#room === undefined ? "(no room)" : roomLabel(this.#room)}> `;
  }

  #setRoom(room: string | undefined): void {
    this.#room = room;
    this.#rl?.setPrompt(this.#promptText());
  }

  /** Print a line; on a terminal, above the prompt and the text being typed. */
  #print(text: string): void {
    const out = this.#io.output;
    if (this.#tty && this.#rl !== null) {
      clearLine(out, 0);
      cursorTo(out, 0);
      out.write(`${text}\n`);
      this.#rl.prompt(true);
    } else {
      out.write(`${text}\n`);
    }
  }

  #roomJid(arg: string): string {
    return arg.includes("@") ? arg : `${arg}@conference.${this.#domain}`;
  }

  #userJid(arg: string): string {
    return arg.includes("@") ? arg : `${arg}@${this.#domain}`;
  }

  #current(): string {
    if (this.#room === undefined) throw new Error("no current room: /create <room>, /room <jid>, or wait for an invitation");
    return this.#room;
  }

  async #handle(raw: string): Promise<void> {
    const text = raw.trim();
    if (text === "" || this.#quitting !== null) return;
    if (!text.startsWith("/") || text.startsWith("//")) {
      const body = text.startsWith("//") ? text.slice(1) : text;
      await this.#run("send", async () => {
        const room = this.#current();
        await this.#mls.sendText(room, body);
        this.#print(formatOwnMessage(room, body));
      });
      return;
    }
    const [cmd = "", ...args] = text.split(/\s+/);
    const need = (what: string): string => {
      const v = args[0];
      if (v === undefined) throw new Error(`usage: ${cmd} <${what}>`);
      return v;
    };
    switch (cmd.toLowerCase()) {
      case "/help":
        this.#print(HELP);
        return;
      case "/quit":
      case "/exit":
        await this.#quit(0);
        return;
      case "/create":
        await this.#run(cmd, async () => {
          const room = this.#roomJid(need("room"));
          const name = args.slice(1).join(" ");
          this.#setRoom(room);
          await this.#mls.createRoom(room, name === "" ? {} : { name });
        });
        return;
      case "/invite":
        await this.#run(cmd, async () => {
          const user = this.#userJid(need("jid"));
          const r = await this.#mls.invite(this.#current(), user);
          if (r.added.length === 0) this.#print(formatNotice(`* ${user}: no new device to add`, this.#room));
        });
        return;
      case "/remove":
        await this.#run(cmd, async () => {
          const user = this.#userJid(need("jid"));
          const r = await this.#mls.remove(this.#current(), user);
          if (r.length === 0) this.#print(formatNotice(`* ${user}: no device of theirs is in the group`, this.#room));
        });
        return;
      case "/leave":
        await this.#run(cmd, async () => {
          const room = this.#current();
          await this.#mls.leave(room);
          this.#print(formatNotice("* asked to leave: a member commits the removal", room));
        });
        return;
      case "/verify":
        await this.#run(cmd, async () => {
          const room = this.#current();
          this.#print(formatNotice(`* verification code (epoch ${this.#mls.epoch(room)}): ${this.#mls.verificationCode(room)}`, room));
        });
        return;
      case "/who":
        await this.#run(cmd, async () => {
          const room = this.#current();
          const me = this.#mls.identity;
          const list = this.#mls.members(room).map((m) => `${m.identity}${m.identity === me ? " (you)" : ""}`);
          this.#print(formatNotice(`* ${list.length} member device(s) at epoch ${this.#mls.epoch(room)}: ${list.join(", ")}`, room));
        });
        return;
      case "/rooms": {
        const rooms = this.#mls.rooms();
        this.#print(formatNotice(rooms.length === 0 ? "* no rooms" : `* rooms: ${rooms.map((r) => (r === this.#room ? `${r} (current)` : r)).join(", ")}`));
        return;
      }
      case "/room":
        await this.#run(cmd, async () => {
          const room = this.#roomJid(need("room"));
          const known = this.#mls.rooms().find((r) => r.toLowerCase() === room.toLowerCase());
          if (known === undefined) throw new Error(`this device is not in ${room}`);
          this.#setRoom(known);
          this.#print(formatNotice(`* current room: ${known}`, known));
        });
        return;
      default:
        this.#print(formatNotice(`! unknown command ${cmd}; /help lists them`));
    }
  }

  async #run(what: string, f: () => Promise<void>): Promise<void> {
    try {
      await f();
    } catch (e) {
      this.#print(formatNotice(`! ${what} failed: ${errorText(e)}`));
    }
  }

  #quit(code: number): Promise<void> {
    this.#quitting ??= (async () => {
      const rl = this.#rl;
      this.#rl = null;
      rl?.close();
      if (this.#tty) {
        clearLine(this.#io.output, 0);
        cursorTo(this.#io.output, 0);
      }
      await this.#mls.stop().catch(() => {});
      await stopXmppClient(this.#xmpp);
      this.#io.output.write(`${formatNotice("* bye")}\n`);
      this.#finished(code);
    })();
    return this.#quitting;
  }
}

function stderrLogger(out: NodeJS.WritableStream): Logger {
  const w =
    (level: string) =>
    (msg: string, data?: Record<string, unknown>): void => {
      out.write(`[${level}] ${msg}${data === undefined ? "" : ` ${JSON.stringify(data, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))}`}\n`);
    };
  return { debug: w("debug"), info: w("info"), warn: w("warn"), error: w("error") };
}
