import { readFileSync } from 'node:fs';

/** The daemon's version, from package.json; revision from the build's git commit when known. */
export const VERSION = (() => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return { version: pkg.version, revision: process.env.CONTAINERD_TS_REVISION ?? 'dev' };
})();
