import { renameSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { InitProcess } from './init-process.js';
import { setChildSubreaper } from './native.js';
import { parseAssignment, type ShimAssignment } from './assignment.js';
import { Runc } from './runc.js';
import { ShimServer } from './server.js';

/**
 * containerd-ts-shim: one per container. The daemon starts it ahead of need
 * (a standby shim: Node's start-up and module loading are paid before a
 * create asks for it), then hands it a container as one JSON line on stdin.
 * Steps: become subreaper, say "standby", read the assignment, move into the
 * bundle, serve the socket, say "ready", then live until told to shut down
 * after the task is deleted. Outlives daemon restarts.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { log: { type: 'string' } } });
  setChildSubreaper();
  const a = await awaitAssignment(values.log);
  const runc = new Runc({ binary: a.runtime, root: a.runtimeRoot, systemdCgroup: a.systemdCgroup });
  let server: ShimServer | undefined;
  const init = new InitProcess(a.id, a.bundle, runc, (exit) => server?.broadcast({ event: 'exit', exit }));
  server = new ShimServer(init, () => {
    server?.close();
    // Give the last response a moment to flush, then go without Node's exit
    // path: a stdin FIFO whose client never opened it leaves an open() parked
    // in libuv's pool, and a normal exit waits for that thread forever.
    // Everything worth keeping (exit.json) is on disk already.
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), 10);
  });
  await server.listen(path.join(a.bundle, 'shim.sock'));
  writeFileSync(path.join(a.bundle, 'shim.pid'), String(process.pid));
  process.stdout.write('ready\n');
  log(`shim for ${a.namespace}/${a.id} serving in ${a.bundle}`);
  process.on('SIGTERM', () => log('ignoring SIGTERM: the shim stops when its task is deleted'));
  process.on('SIGPIPE', () => {});
}

/**
 * Waits on stdin for the container this shim is to serve. The daemon going
 * away first (stdin closes) ends a standby shim quietly. The log file the
 * daemon gave it moves into the bundle, where a task's shim log belongs.
 */
async function awaitAssignment(logFile: string | undefined): Promise<ShimAssignment> {
  process.stdout.write('standby\n');
  const line = await new Promise<string>((resolve) => {
    let buf = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    process.stdin.on('end', () => process.exit(0));
  });
  process.stdin.destroy();
  const a = parseAssignment(line);
  process.chdir(a.bundle);
  if (logFile) renameSync(logFile, path.join(a.bundle, 'shim.log'));
  return a;
}

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} ${msg}\n`);
}

main().catch((err: unknown) => {
  log(`shim failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.stdout.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
