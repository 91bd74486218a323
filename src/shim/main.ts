import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { InitProcess } from './init-process.js';
import { setChildSubreaper } from './native.js';
import { Runc } from './runc.js';
import { ShimServer } from './server.js';

/**
 * containerd-ts-shim: one per container. Started detached by the daemon
 * with the bundle as its working directory; outlives daemon restarts.
 * Steps: become subreaper, serve the socket, say "ready" on stdout, then
 * live until told to shut down after the task is deleted.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      namespace: { type: 'string', default: 'default' },
      id: { type: 'string' },
      bundle: { type: 'string' },
      runtime: { type: 'string', default: 'runc' },
      'runtime-root': { type: 'string' },
      'systemd-cgroup': { type: 'boolean', default: true },
    },
  });
  const { id, bundle } = values;
  if (!id || !bundle || !values['runtime-root']) throw new Error('usage: containerd-ts-shim --id ID --bundle DIR --runtime-root DIR [--runtime runc]');

  setChildSubreaper();
  const runc = new Runc({ binary: values.runtime!, root: values['runtime-root'], systemdCgroup: values['systemd-cgroup']! });
  let server: ShimServer | undefined;
  const init = new InitProcess(id, bundle, runc, (exit) => server?.broadcast({ event: 'exit', exit }));
  server = new ShimServer(init, () => {
    server?.close();
    // Give the last response a moment to flush, then go without Node's exit
    // path: a stdin FIFO whose client never opened it leaves an open() parked
    // in libuv's pool, and a normal exit waits for that thread forever.
    // Everything worth keeping (exit.json) is on disk already.
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), 10);
  });
  await server.listen(path.join(bundle, 'shim.sock'));
  writeFileSync(path.join(bundle, 'shim.pid'), String(process.pid));
  process.stdout.write('ready\n');
  log(`shim for ${values.namespace}/${id} serving in ${bundle}`);
  process.on('SIGTERM', () => log('ignoring SIGTERM: the shim stops when its task is deleted'));
  process.on('SIGPIPE', () => {});
}

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} ${msg}\n`);
}

main().catch((err: unknown) => {
  log(`shim failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.stdout.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
