/**
 * How the chat prints events: one line each, `[HH:MM:SS] [room] ...`.
 * @module
 */
import type { DeviceRef, JoinedEvent, MembershipEvent, MessageEvent, RemovedEvent, VerificationCodeEvent } from "../client/events.js";

/** Local wall-clock time `HH:MM:SS`. */
export function clock(d: Date = new Date()): string {
  const two = (n: number): string => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** The room's local part: `team` for `team@conference.example.org`. */
export function roomLabel(room: string): string {
  const at = room.indexOf("@");
  return at < 0 ? room : room.slice(0, at);
}

const line = (room: string, text: string, at: Date = new Date()): string => `[${clock(at)}] [${roomLabel(room)}] ${text}`;
const devices = (list: readonly DeviceRef[]): string => list.map((d) => d.identity).join(", ");

export function formatMessage(m: MessageEvent): string {
  const text = m.text ?? `(no text: ${m.content.map((c) => c.name).join(", ") || "empty"})`;
  const sent = Date.parse(m.stamp);
  const note = m.delayed ? `  (sent ${Number.isNaN(sent) ? m.stamp : clock(new Date(sent))}, from the archive)` : "";
  return line(m.room, `${m.from}/${m.device}: ${text}${note}`);
}

export function formatOwnMessage(room: string, text: string): string {
  return line(room, `me: ${text}`);
}

export function formatMembership(e: MembershipEvent): string {
  const parts: string[] = [];
  if (e.added.length > 0) parts.push(`added ${devices(e.added)}`);
  if (e.removed.length > 0) parts.push(`removed ${devices(e.removed)}${e.removed.some((r) => r.byRoomService) ? " (proposed by the room service)" : ""}`);
  if (e.updated.length > 0) parts.push(`updated keys of ${devices(e.updated)}`);
  return line(e.room, `* ${e.committer.identity} ${parts.join("; ")} (epoch ${e.epoch})`);
}

export function formatJoined(e: JoinedEvent): string {
  return line(e.room, `* ${e.created ? "created" : "joined"} ${e.room} at epoch ${e.epoch}; members: ${devices(e.members)}`);
}

export function formatRemoved(e: RemovedEvent): string {
  return line(e.room, `* you were removed from ${e.room}${e.by === null ? "" : ` by ${e.by.identity}`} (epoch ${e.epoch})`);
}

export function formatCode(e: VerificationCodeEvent): string {
  return line(e.room, `* verification code (epoch ${e.epoch}): ${e.code}`);
}

export function formatNotice(text: string, room?: string): string {
  return room === undefined ? `[${clock()}] ${text}` : line(room, text);
}

export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === "string" && !e.message.includes(code) ? `${e.message} (${code})` : e.message;
  }
  return String(e);
}
