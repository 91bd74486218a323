import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { internal } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { Schema, type JsonNode } from './protobuf.js';

let cached: Schema | undefined;

/**
 * dist/proto-api.json's text, put into the CLI bundle by its build
 * (scripts/esbuild/build-cli.mjs); not defined when running from dist/src.
 */
declare const CTR_TS_PROTO_API: string | undefined;

/**
 * containerd's API (proto/) as a Schema, from the descriptor `npm run build`
 * compiles into dist/proto-api.json beside the code that uses it (or, in
 * the CLI bundle, into the bundle itself).
 */
export function containerdSchema(): Schema {
  if (cached) return cached;
  // The bundle's own copy matches the code it was built with: no file to read, no walk of proto/ (~3 ms a command).
  if (typeof CTR_TS_PROTO_API === 'string') return (cached = new Schema(JSON.parse(CTR_TS_PROTO_API) as JsonNode));
  const root = packageRoot(import.meta.url);
  const compiled = path.join(root, 'dist', 'proto-api.json');
  if (!isFresh(compiled, path.join(root, 'proto'))) {
    throw internal(`${compiled} is missing or older than proto/: run \`npm run build\``);
  }
  cached = new Schema(JSON.parse(readFileSync(compiled, 'utf8')) as JsonNode);
  return cached;
}

function isFresh(file: string, protoDir: string): boolean {
  let built: number;
  try {
    built = statSync(file).mtimeMs;
  } catch {
    return false;
  }
  const newer = (dir: string): boolean =>
    readdirSync(dir, { withFileTypes: true }).some((e) => {
      const p = path.join(dir, e.name);
      return e.isDirectory() ? newer(p) : e.name.endsWith('.proto') && statSync(p).mtimeMs > built;
    });
  return !newer(protoDir);
}
