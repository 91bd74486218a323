import { createRequire } from 'node:module';
import path from 'node:path';
import { packageRoot } from '../package-root.js';

type Extensions = typeof import('../proto-ext.js');

/**
 * grpc-js clients of our extension services (pull, import), loaded at run
 * time by the commands that use them from their own CommonJS bundle
 * (dist/ctr-ts-ext.cjs, built beside the CLI's). Never part of the CLI
 * bundle: grpc-js and proto-loader take ~100 ms to load, which every other
 * command would pay. A require, not import(): bin/ctr-ts runs the CLI bundle
 * from V8's code cache, where dynamic import() has no loader.
 */
export async function extensionClients(): Promise<Extensions> {
  const file = path.join(packageRoot(import.meta.url), 'dist', 'ctr-ts-ext.cjs');
  return createRequire(import.meta.url)(file) as Extensions;
}
