import { invalidArgument } from '../errors.js';

/**
 * containerd's identifier rule: 1..76 characters of [A-Za-z0-9_.-], starting
 * and ending with an alphanumeric. Ids become unit names, machine names and
 * directory names, so they are checked once, at the door.
 */
const IDENTIFIER = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,74}[A-Za-z0-9])?$/;
export const MAX_IDENTIFIER_LENGTH = 76;

/** Throws InvalidArgument unless `id` is a valid container/namespace identifier. */
export function validateIdentifier(id: string, what = 'identifier'): string {
  if (typeof id !== 'string' || id.length === 0) throw invalidArgument(`${what} must not be empty`);
  if (id.length > MAX_IDENTIFIER_LENGTH) {
    throw invalidArgument(`${what} "${id.slice(0, 20)}..." is ${id.length} characters long; the limit is ${MAX_IDENTIFIER_LENGTH}`);
  }
  if (!IDENTIFIER.test(id)) {
    throw invalidArgument(
      `${what} "${id}" is invalid: use letters, digits, '_', '.' and '-', starting and ending with a letter or digit`,
    );
  }
  return id;
}
