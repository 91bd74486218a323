import { parseArgs } from 'node:util';
import { parseAssignment, type ShimAssignment } from './assignment.js';
import { enterHome } from './home.js';
import { ShimHost } from './host.js';
import { setChildSubreaper } from './native.js';

/**
 * containerd-ts-shim: serves one container, or a group of them. The daemon
 * starts it ahead of need (a standby shim: Node's start-up and module
 * loading are paid before a create asks for it), then hands it a container
 * as one JSON line on stdin. Steps: become subreaper, say "standby", read
 * the assignment, move into the bundle (a group's shim: the group's
 * directory), serve the socket, say "ready", then live until the last
 * container it serves is shut down, or, recycled, serve the next one the
 * daemon hands it (see host.ts). Outlives daemon restarts.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { log: { type: 'string' } } });
  setChildSubreaper();
  const a = await awaitAssignment(values.log);
  await new ShimHost(log).serve(a);
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => log('ignoring SIGTERM: the shim stops when its tasks are deleted'));
  process.on('SIGPIPE', () => {});
}

/**
 * Waits on stdin for the container this shim is to serve. The daemon going
 * away first (stdin closes) ends a standby shim quietly. The log file the
 * daemon gave it moves to where a task's (or a group's) shim log belongs.
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
  enterHome(a, logFile);
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
