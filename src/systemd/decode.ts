/**
 * Checked readers for D-Bus reply values: dbus-next hands back untyped
 * values, these turn them into typed ones or fail with an Internal error
 * naming what was malformed, so nothing untyped leaves src/systemd.
 */
import { internal } from '../errors.js';
import { UINT64_MAX } from './units.js';

function malformed(what: string, value: unknown): Error {
  return internal(`unexpected D-Bus value for ${what}`, { fields: { what, got: describe(value) } });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (Buffer.isBuffer(value)) return 'buffer';
  return typeof value;
}

/** A D-Bus `s` / `o` / `g` value. */
export function str(value: unknown, what: string): string {
  if (typeof value !== 'string') throw malformed(what, value);
  return value;
}

/** A D-Bus `u` / `i` / `y` / `q` / `n` value. */
export function num(value: unknown, what: string): number {
  if (typeof value !== 'number') throw malformed(what, value);
  return value;
}

/** A D-Bus `t` / `x` value (dbus-next decodes them as BigInt). */
export function big(value: unknown, what: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw malformed(what, value);
}

/** A `t` value where systemd's UINT64_MAX means "unset / infinity" → null. */
export function u64OrNull(value: unknown, what: string): bigint | null {
  const v = big(value, what);
  return v === UINT64_MAX ? null : v;
}

/** A D-Bus `b` value. */
export function bool(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw malformed(what, value);
  return value;
}

/** A D-Bus array (`a…`) whose elements are checked by the caller. */
export function arr(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw malformed(what, value);
  return value;
}

/** A D-Bus struct (decoded by dbus-next as an array) with exactly `n` members. */
export function struct(value: unknown, n: number, what: string): unknown[] {
  if (!Array.isArray(value) || value.length !== n) throw malformed(what, value);
  return value;
}

/** A D-Bus `a{sv}` after variant unwrapping: a plain record. */
export function record(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw malformed(what, value);
  return value as Record<string, unknown>;
}
