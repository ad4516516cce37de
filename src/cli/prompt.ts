/**
 * Asking for a secret on the terminal without echoing it (raw mode: Enter ends, Backspace
 * deletes, Ctrl-C / Ctrl-D cancel).
 * @module
 */
import { UsageError } from "../errors.js";

export interface TtyInput extends NodeJS.ReadableStream {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export async function promptSecret(question: string, input: TtyInput, output: NodeJS.WritableStream): Promise<string> {
  if (input.isTTY !== true || input.setRawMode === undefined) {
    throw new UsageError("no_terminal", `${question.replace(/:\s*$/, "")} is needed and there is no terminal to ask on`);
  }
  const setRaw = input.setRawMode.bind(input);
  output.write(question);
  setRaw(true);
  input.setEncoding("utf8");
  input.resume();
  return new Promise((resolve, reject) => {
    let buf = "";
    const finish = (): void => {
      input.off("data", onData);
      setRaw(false);
      input.pause();
      output.write("\n");
    };
    const onData = (chunk: string | Buffer): void => {
      for (const ch of String(chunk)) {
        if (ch === "\r" || ch === "\n") {
          finish();
          resolve(buf);
          return;
        }
        if (ch === "\u0003" || ch === "\u0004") {
          finish();
          reject(new UsageError("cancelled", "cancelled"));
          return;
        }
        if (ch === "\u007f" || ch === "\b") buf = buf.slice(0, -1);
        else if (ch >= " ") buf += ch;
      }
    };
    input.on("data", onData);
  });
}
