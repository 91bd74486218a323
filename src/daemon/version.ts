import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../package-root.js';

/** The daemon's version, from package.json; revision from the build's git commit when known. */
export const VERSION = (() => {
  const pkg = JSON.parse(readFileSync(path.join(packageRoot(import.meta.url), 'package.json'), 'utf8')) as { version: string };
  return { version: pkg.version, revision: process.env.CONTAINERD_TS_REVISION ?? 'dev' };
})();
