/**
 * Shared shapes of the XMPP test-server harness.
 *
 * `ServerInfo` is plain data (it crosses from the vitest global setup into the test workers through
 * `provide`/`inject`, so it must survive structuredClone); `RunningServer` adds the control methods
 * that only the process that started the server can use.
 */
import { XmppMlsError } from "../../src/errors.js";

export type ServerKind = "prosody" | "ejabberd";

/** Connection data for one running server. Plain data only. */
export interface ServerInfo {
  readonly name: string;
  readonly kind: ServerKind;
  /** XMPP domain of the users, e.g. "a.localhost". */
  readonly domain: string;
  /** Loopback address every listener is bound to, e.g. "127.0.0.2". */
  readonly host: string;
  readonly c2sPort: number;
  /** XEP-0114 external component port. */
  readonly componentPort: number;
  /** JID of the external component, e.g. "mls.a.localhost". */
  readonly componentDomain: string;
  readonly componentSecret: string;
  /** MUC service, e.g. "conference.a.localhost". */
  readonly mucDomain: string;
  /** Generic pubsub service, e.g. "pubsub.a.localhost". */
  readonly pubsubDomain: string;
  /** Registered local parts; all share `password`. */
  readonly users: readonly string[];
  readonly password: string;
  /** Per-run directory holding config, data and logs. */
  readonly runDir: string;
  readonly pid: number;
  /** Milliseconds from "start requested" to "c2s and component answer". */
  readonly startupMs: number;
}

export interface RunningServer extends ServerInfo {
  /** TERM, then KILL after the stop timeout. Idempotent. */
  stop(): Promise<void>;
  /** Last lines of the server's log and of its stdout/stderr. */
  logTail(lines?: number): string;
  /** The data-only part, for `provide()`. */
  info(): ServerInfo;
}

export interface ServerOptions {
  /** Name of the run directory and of log prefixes. Default: the server kind. */
  readonly name?: string;
  readonly domain?: string;
  readonly host?: string;
  readonly c2sPort?: number;
  readonly componentPort?: number;
  /** Local part of the component JID under `domain`. Default "mls". */
  readonly componentName?: string;
  readonly componentSecret?: string;
  readonly users?: readonly string[];
  readonly password?: string;
  /** Parent of the per-server run directory. Default `<repo>/.run/servers`. */
  readonly runRoot?: string;
  /** Give up waiting for readiness after this long. Default 30 s. */
  readonly startTimeoutMs?: number;
  /** Send KILL this long after TERM. Default 5 s. */
  readonly stopTimeoutMs?: number;
}

export interface EjabberdOptions extends ServerOptions {
  /** Erlang distribution port (on 127.0.0.1; no epmd is used). Default 45370. */
  readonly distPort?: number;
}

export const DEFAULT_USERS: readonly string[] = ["alice", "bob", "carol", "dave", "erin"];
export const DEFAULT_PASSWORD = "secret";
export const DEFAULT_COMPONENT_SECRET = "mls-secret";

/** The command that installs everything the harness needs on Debian/Ubuntu. */
export const INSTALL_HINT = "apt-get install -y --no-install-recommends prosody lua-unbound ejabberd";

export type ServerStartReason = "missing_package" | "port_busy" | "config" | "exited" | "timeout";

/**
 * A server could not be started. `code` is `servers.<reason>`; the message names the server and,
 * for runtime failures, ends with the tail of its log.
 */
export class ServerStartError extends XmppMlsError {
  constructor(
    readonly server: string,
    readonly reason: ServerStartReason,
    message: string,
  ) {
    super(`servers.${reason}`, `[servers] ${server}: ${message}`);
  }
}
