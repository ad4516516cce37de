/**
 * Console output of the demo: step headings, what each user reads, and checks that are counted
 * (the demo exits 0 only if every check passed).
 * @module
 */
const tty = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
const paint = (code: string) => (s: string): string => (tty ? `\u001b[${code}m${s}\u001b[0m` : s);
export const green = paint("32");
export const red = paint("31");
export const bold = paint("1");
export const dim = paint("2");
export const cyan = paint("36");

export class Report {
  readonly #t0 = performance.now();
  #passed = 0;
  readonly #failed: string[] = [];
  #step = 0;

  heading(title: string): void {
    this.#step++;
    console.log(`\n${bold(`Step ${this.#step}. ${title}`)}`);
  }

  line(text: string): void {
    console.log(`  ${text}`);
  }

  /** `who` reads `text` (a decrypted message). */
  reads(who: string, from: string, text: string | undefined, note = ""): void {
    console.log(`  ${cyan(who.padEnd(5))} reads  ${dim(`${from}:`)} "${text ?? ""}"${note === "" ? "" : dim(`  ${note}`)}`);
  }

  sends(who: string, text: string): void {
    console.log(`  ${cyan(who.padEnd(5))} sends  "${text}"`);
  }

  /** Record a check; returns `ok`. */
  check(ok: boolean, label: string, detail = ""): boolean {
    if (ok) {
      this.#passed++;
      console.log(`  ${green("✓")} ${label}${detail === "" ? "" : dim(`  ${detail}`)}`);
    } else {
      this.#failed.push(label);
      console.log(`  ${red("✗")} ${label}${detail === "" ? "" : `  ${detail}`}`);
    }
    return ok;
  }

  /** A check that must pass for the demo to go on. */
  require(ok: boolean, label: string, detail = ""): void {
    if (!this.check(ok, label, detail)) throw new Error(`check failed: ${label}${detail === "" ? "" : ` (${detail})`}`);
  }

  fail(label: string): void {
    this.#failed.push(label);
    console.log(`  ${red("✗")} ${label}`);
  }

  get passed(): number {
    return this.#passed;
  }

  get failed(): readonly string[] {
    return this.#failed;
  }

  elapsedSeconds(): string {
    return ((performance.now() - this.#t0) / 1000).toFixed(1);
  }
}

/** Base64 of `bytes`, cut in the middle: "AAEAAiBu+mpHxiKMP3…gU0Q9mXw== (510 B)". */
export function b64Preview(bytes: Uint8Array, chars = 40): string {
  const b64 = Buffer.from(bytes).toString("base64");
  const head = Math.ceil((chars * 3) / 5);
  const cut = b64.length > chars ? `${b64.slice(0, head)}…${b64.slice(b64.length - (chars - head))}` : b64;
  return `${cut} (${bytes.length} B)`;
}
