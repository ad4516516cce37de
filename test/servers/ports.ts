/**
 * Refuse to start a server on a port that is already taken.
 *
 * The check binds each port briefly on the address the server will use. A listener on the wildcard
 * address (a system Prosody on 0.0.0.0:5222, say) makes that bind fail too, so it is caught as well.
 */
import { createServer } from "node:net";
import { ServerStartError } from "./types.js";

export interface PortUse {
  readonly host: string;
  readonly port: number;
  /** What the server wants the port for, e.g. "c2s". */
  readonly purpose: string;
}

function tryBind(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", (err: NodeJS.ErrnoException) => resolve(err));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(undefined)));
  });
}

export async function assertPortsFree(server: string, uses: readonly PortUse[]): Promise<void> {
  const seen = new Map<string, string>();
  for (const u of uses) {
    if (!Number.isInteger(u.port) || u.port <= 0 || u.port > 65535) {
      throw new ServerStartError(server, "config", `${u.purpose} port ${u.port} is not a valid TCP port`);
    }
    const key = `${u.host}:${u.port}`;
    const other = seen.get(key);
    if (other !== undefined) {
      throw new ServerStartError(server, "config", `${u.purpose} and ${other} are both configured on ${key}`);
    }
    seen.set(key, u.purpose);
  }
  const problems: string[] = [];
  for (const u of uses) {
    const err = await tryBind(u.host, u.port);
    if (err === undefined) continue;
    if (err.code === "EADDRINUSE") {
      problems.push(
        `${u.purpose} port ${u.host}:${u.port} is already in use (another server, or a run that did not stop; see \`ss -ltnp 'sport = :${u.port}'\`)`,
      );
    } else if (err.code === "EADDRNOTAVAIL") {
      problems.push(`address ${u.host} for ${u.purpose} is not available on this machine (${err.code})`);
    } else {
      problems.push(`cannot bind ${u.purpose} port ${u.host}:${u.port}: ${err.code ?? err.message}`);
    }
  }
  if (problems.length > 0) {
    throw new ServerStartError(server, "port_busy", `refusing to start: ${problems.join("; ")}`);
  }
}
