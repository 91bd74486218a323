import type { Timestamp, TimestampInit } from './proto-types.js';

/** A google.protobuf.Timestamp for a Date (default: now). */
export function toTimestamp(date: Date = new Date()): Timestamp {
  const ms = date.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: (ms - seconds * 1000) * 1_000_000 };
}

/** A Date for a decoded Timestamp (null/undefined → the Unix epoch). */
export function fromTimestamp(ts: Timestamp | TimestampInit | null | undefined): Date {
  if (!ts) return new Date(0);
  const seconds = Number(ts.seconds ?? 0);
  const nanos = Number(ts.nanos ?? 0);
  return new Date(seconds * 1000 + Math.floor(nanos / 1_000_000));
}
