/**
 * Command line of `xmpp-mls chat`.
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "../errors.js";
import { bareJid } from "../xmpp/jid.js";
import { parseFullJid } from "./connect.js";

export const CHAT_USAGE = `Usage: xmpp-mls chat --jid <user@domain/device> [options]

An interactive MLS-encrypted group chat (xmpp-mls client plugin) in the terminal.

Options:
  --jid <jid>          full JID; the resource is the MLS device id (default resource "cli")
  --password <pw>      account password (default: $XMPP_MLS_PASSWORD, else asked for)
  --service <url>      xmpp://host:port or xmpps://host:port (default: xmpp://<domain>:5222)
  --ds <jid>           Delivery Service JID (default: discovered on the server)
  --room <jid>         room to talk in (default: the only room this device is in)
  --store <dir>        keep device and group state in <dir>, encrypted (FileStore); passphrase
                       from $XMPP_MLS_STORE_PASSPHRASE, else asked for. Without it the state is
                       lost when the program ends.
  --sasl <mechanism>   force a SASL mechanism, e.g. PLAIN on loopback (default: the client's choice)
  --verbose            log what the plugin does (to stderr)
  -h, --help           show this help

Commands at the prompt (anything else is sent as a message to the current room):
  /create <room> [name]   create a room bound to a new MLS group
  /invite <jid>           add every device of a user
  /remove <jid>           remove every device of a user
  /leave                  leave the current room
  /verify                 show the verification code of the current epoch
  /who                    list the members (devices) of the current room
  /rooms, /room <jid>     list rooms, switch the current room
  /help, /quit

Environment: XMPP_MLS_PASSWORD, XMPP_MLS_STORE_PASSPHRASE.
Exit status: 0 ok, 1 runtime failure, 2 usage error.
`;

export interface ChatOptions {
  readonly jid: string;
  readonly password: string | undefined;
  readonly service: string | undefined;
  readonly ds: string | undefined;
  readonly room: string | undefined;
  readonly store: string | undefined;
  readonly sasl: string | undefined;
  readonly verbose: boolean;
  readonly help: boolean;
}

/** Parse `argv` (after `chat`). Throws UsageError. */
export function parseChatArgs(argv: readonly string[]): ChatOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        jid: { type: "string" },
        password: { type: "string" },
        service: { type: "string" },
        ds: { type: "string" },
        room: { type: "string" },
        store: { type: "string" },
        sasl: { type: "string" },
        verbose: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError("bad_arguments", e instanceof Error ? e.message : String(e));
  }
  const str = (k: string): string | undefined => (typeof values[k] === "string" ? (values[k] as string) : undefined);
  const help = values.help === true;
  let jid = str("jid");
  if (jid === undefined) {
    if (help) jid = "";
    else throw new UsageError("bad_arguments", "--jid is required");
  } else {
    if (!bareJid(jid).includes("@")) throw new UsageError("bad_jid", `"${jid}" is not a JID user@domain[/device]`);
    if (!jid.includes("/")) jid = `${jid}/cli`;
    parseFullJid(jid);
  }
  const room = str("room");
  return {
    jid,
    password: str("password"),
    service: str("service"),
    ds: str("ds"),
    room: room === undefined ? undefined : bareJid(room),
    store: str("store"),
    sasl: str("sasl")?.toUpperCase(),
    verbose: values.verbose === true,
    help,
  };
}
