/**
 * Worker-thread entry of the pool (./pool.ts): runs each job it receives with the native provider
 * and posts the result back, transferring its buffers; for a shared verification, claims chunks
 * until none is left and reports how many it did.
 * @module
 */
import { parentPort } from "node:worker_threads";
import { claimVerify, runJob, transferables } from "./jobs.js";
import type { WorkerReply, WorkerRequest } from "./pool.js";

const port = parentPort;
if (port === null) throw new Error("src/mls/parallel/worker.js must run as a worker thread");

port.on("message", (m: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    reply = "job" in m ? { id: m.id, result: runJob(m.job) } : { id: m.id, claimed: claimVerify(m.claim) };
  } catch (e) {
    reply = { id: m.id, error: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply, "result" in reply ? transferables(reply.result) : []);
});
