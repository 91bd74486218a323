import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../package-root.js';

type Extensions = typeof import('../proto-ext.js');

/**
 * grpc-js clients of our extension services (pull, import), loaded from
 * dist/ at run time by the commands that use them. Never part of the CLI
 * bundle: grpc-js and proto-loader take ~100 ms to load, which every other
 * command would pay.
 */
export async function extensionClients(): Promise<Extensions> {
  const file = path.join(packageRoot(import.meta.url), 'dist', 'src', 'proto-ext.js');
  return (await import(pathToFileURL(file).href)) as Extensions;
}
