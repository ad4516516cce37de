/**
 * A FIFO lock: `run(fn)` starts `fn` after every earlier `run` has settled. Each room's state
 * changes go through one, so handshakes, our own Commits and sends never interleave.
 * @module
 */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();
  #depth = 0;

  /** Number of tasks queued or running. */
  get depth(): number {
    return this.#depth;
  }

  run<T>(fn: () => Promise<T> | T): Promise<T> {
    this.#depth++;
    const result = this.#tail.then(fn);
    this.#tail = result.then(
      () => {
        this.#depth--;
      },
      () => {
        this.#depth--;
      },
    );
    return result;
  }
}
