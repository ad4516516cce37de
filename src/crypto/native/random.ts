/**
 * Random bytes for the native provider (`node:crypto`'s CSPRNG, OpenSSL RAND_bytes).
 * @module
 */
import { randomFillSync } from "node:crypto";
import { UsageError } from "../../errors.js";

/**
 * Small requests (reuse guards, nonces, path secrets) are served from a pool filled 4 KiB at a
 * time: one OpenSSL call per pool instead of per request (~5 µs each). Served bytes are zeroed
 * in the pool, so what stays in memory is only output nobody has received yet.
 */
const POOL_SIZE = 4096;
const POOLED_MAX = 64;
const pool = new Uint8Array(POOL_SIZE);
let poolPos = POOL_SIZE;

export function randomBytes(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0) throw new UsageError("usage.invalid_length", `randomBytes length must be a non-negative integer, got ${n}`);
  if (n > POOLED_MAX) return randomFillSync(new Uint8Array(n));
  if (poolPos + n > POOL_SIZE) {
    randomFillSync(pool);
    poolPos = 0;
  }
  const out = pool.slice(poolPos, poolPos + n);
  pool.fill(0, poolPos, poolPos + n);
  poolPos += n;
  return out;
}

