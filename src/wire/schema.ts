import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { internal } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { Schema, type JsonNode } from './protobuf.js';

let cached: Schema | undefined;

/**
 * containerd's API (proto/) as a Schema, from the descriptor `npm run build`
 * compiles into dist/proto-api.json beside the code that uses it.
 */
export function containerdSchema(): Schema {
  if (cached) return cached;
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
