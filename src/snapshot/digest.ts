/**
 * Content digests: the only algorithm containerd-ts stores is sha256, written
 * `sha256:<64 lowercase hex>` as in the OCI image-spec descriptor.
 */
import { createRequire } from 'node:module';
import type * as nodeCrypto from 'node:crypto';
import type { Hash } from 'node:crypto';
import { invalidArgument } from '../errors.js';

/** A validated `sha256:<hex>` digest string. */
export type Digest = `sha256:${string}`;

/** The parts of a digest, so callers can build `blobs/sha256/<hex>` paths. */
export interface ParsedDigest {
  algorithm: 'sha256';
  hex: string;
  digest: Digest;
}

const SHA256_HEX = /^[a-f0-9]{64}$/;

/** Parses and validates a digest string; anything but canonical sha256 is InvalidArgument. */
export function parseDigest(value: string): ParsedDigest {
  if (typeof value !== 'string') throw invalidArgument('digest must be a string');
  const colon = value.indexOf(':');
  if (colon <= 0) throw invalidArgument(`invalid digest ${JSON.stringify(value)}: expected <algorithm>:<hex>`, { fields: { digest: value } });
  const algorithm = value.slice(0, colon);
  const hex = value.slice(colon + 1);
  if (algorithm !== 'sha256') {
    throw invalidArgument(`unsupported digest algorithm ${JSON.stringify(algorithm)}: only sha256 is supported`, { fields: { digest: value } });
  }
  if (!SHA256_HEX.test(hex)) {
    throw invalidArgument(`invalid sha256 digest ${JSON.stringify(value)}: expected 64 lowercase hex characters`, { fields: { digest: value } });
  }
  return { algorithm, hex, digest: `sha256:${hex}` };
}

/** Validates a digest and returns it typed, for call sites that only need the string. */
export function validateDigest(value: string): Digest {
  return parseDigest(value).digest;
}

/** True when `value` is a canonical sha256 digest (no throw), for filters and guards. */
export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && value.startsWith('sha256:') && SHA256_HEX.test(value.slice(7));
}

/** Builds a digest from a 64-hex sha256 (e.g. a blob file name); InvalidArgument if malformed. */
export function digestFromHex(hex: string): Digest {
  return parseDigest(`sha256:${hex}`).digest;
}

let crypto: typeof nodeCrypto | undefined;

/**
 * node:crypto, loaded on first use: most CLI commands validate digests but
 * never hash (a one-layer image's chain ID is its diffID), and loading it
 * cost each of them ~3 ms of CPU.
 */
function createHash(algorithm: 'sha256'): Hash {
  crypto ??= createRequire(import.meta.url)('node:crypto') as typeof nodeCrypto;
  return crypto.createHash(algorithm);
}

/** Digest of an in-memory buffer (manifests, configs, chain IDs). */
export function digestOf(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A fresh incremental sha256 for streaming verification. */
export function newDigester(): Hash {
  return createHash('sha256');
}

/** Renders a finished incremental hash as a digest string. */
export function digestFromHash(hash: Hash): Digest {
  return `sha256:${hash.digest('hex')}`;
}
