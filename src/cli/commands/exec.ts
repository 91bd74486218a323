import { randomBytes } from 'node:crypto';
import { TYPE_URLS } from '../../type-urls.js';
import { invalidArgument } from '../../errors.js';
import type { RuntimeSpec, SpecProcess } from '../../oci/spec-types.js';
import { mergeEnv } from '../../oci/spec.js';
import type { OptionSpec, Parsed } from '../args.js';
import type { DaemonClient } from '../client.js';
import { FifoSet } from '../fifo.js';
import { followTerminalSize, forwardSignals, handleInterrupts, RawTerminal, terminalSize } from '../terminal.js';

export const execOptions: Record<string, OptionSpec> = {
  'exec-id': { type: 'string', description: 'id of the new process (default: a random one)', placeholder: 'ID' },
  env: { type: 'string', short: 'e', multiple: true, description: 'extra environment variable KEY=VALUE', placeholder: 'KV' },
  cwd: { type: 'string', description: 'working directory in the container', placeholder: 'DIR' },
  tty: { type: 'boolean', short: 't', description: 'give the process a terminal (raw mode here with -i; resizes follow)' },
  interactive: { type: 'boolean', short: 'i', description: "attach the process's stdin" },
};

/**
 * `ctr-ts tasks exec [--exec-id X] ID CMD...`: runs another process in a
 * running container with the container's own process settings (user, env,
 * capabilities), streams its output and exits with its status. -t gives it
 * a terminal (ResizePty with the exec id follows this one), -i its stdin.
 */
export async function tasksExec(client: DaemonClient, args: Parsed, stateDir: string): Promise<number> {
  const [id] = args.positionals;
  if (!id || args.rest.length === 0) throw invalidArgument('usage: ctr-ts tasks exec [--exec-id X] ID COMMAND [ARG...]');
  const execId = (args.options['exec-id'] as string | undefined) ?? `exec-${randomBytes(4).toString('hex')}`;
  const { container } = await client.call('containers', 'Get', { id });
  const spec = JSON.parse(Buffer.from(container!.spec!.value).toString('utf8')) as RuntimeSpec;
  const tty = Boolean(args.options.tty);
  const interactive = Boolean(args.options.interactive);
  const proc: SpecProcess = { ...spec.process, args: args.rest, terminal: tty };
  if (tty && !proc.env.some((kv) => kv.startsWith('TERM='))) proc.env = [...proc.env, 'TERM=xterm'];
  // runc sizes the new terminal itself, so the process sees the size from its first instruction (ResizePty comes after start).
  const size = tty ? terminalSize() : undefined;
  if (size) proc.consoleSize = size;
  const env = (args.options.env as string[] | undefined) ?? [];
  if (env.length) proc.env = mergeEnv(proc.env, env);
  if (typeof args.options.cwd === 'string') proc.cwd = args.options.cwd;

  const fifos = new FifoSet(stateDir, `${id}-${execId}`, { stdin: interactive, stderr: !tty });
  let raw: RawTerminal | undefined;
  try {
    fifos.open();
    await client.call('tasks', 'Exec', {
      container_id: id, exec_id: execId, stdin: fifos.stdin ?? '', stdout: fifos.stdout ?? '', stderr: fifos.stderr ?? '', terminal: tty,
      spec: { type_url: TYPE_URLS.process, value: Buffer.from(JSON.stringify(proc)) },
    });
    try {
      const waiting = client.call('tasks', 'Wait', { container_id: id, exec_id: execId });
      const target = { containerId: id, execId };
      if (tty && interactive) raw = RawTerminal.enter();
      else handleInterrupts(client, target);
      forwardSignals(client, target);
      await client.call('tasks', 'Start', { container_id: id, exec_id: execId });
      // For an exec the shim opens the FIFOs at start, not at Exec: read only now.
      const drained = fifos.copyTo(process.stdout, process.stderr);
      const stopResizing = tty ? await followTerminalSize(client, target) : undefined;
      if (interactive) fifos.feedStdin(process.stdin, () => client.call('tasks', 'CloseIO', { container_id: id, exec_id: execId, stdin: true }));
      const exit = await waiting;
      await drained;
      stopResizing?.();
      return exit.exit_status;
    } finally {
      await client.call('tasks', 'DeleteProcess', { container_id: id, exec_id: execId }).catch(() => {});
    }
  } finally {
    raw?.restore();
    fifos.remove();
  }
}
