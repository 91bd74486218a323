import { constants } from 'node:os';
import { invalidArgument } from '../../errors.js';
import { table, type OptionSpec, type Parsed } from '../args.js';
import type { DaemonClient } from '../client.js';

export const killOptions: Record<string, OptionSpec> = {
  signal: { type: 'string', short: 's', description: 'signal to send (name or number, default SIGTERM)', placeholder: 'SIG' },
  all: { type: 'boolean', short: 'a', description: 'send the signal to every process of the container' },
};

/** `ctr-ts tasks ls` */
export async function tasksList(client: DaemonClient): Promise<number> {
  const { tasks } = await client.call('tasks', 'List', { filter: '' });
  process.stdout.write(table(['TASK', 'PID', 'STATUS'], tasks.map((t) => [t.id, String(t.pid), t.status])));
  return 0;
}

/** `ctr-ts tasks kill [-s SIG] [--all] ID` */
export async function tasksKill(client: DaemonClient, args: Parsed): Promise<number> {
  const id = args.positionals[0];
  if (!id) throw invalidArgument('usage: ctr-ts tasks kill [--signal SIG] [--all] ID');
  await client.call('tasks', 'Kill', { container_id: id, signal: parseSignal((args.options.signal as string | undefined) ?? 'SIGTERM'), all: Boolean(args.options.all) });
  return 0;
}

/** `ctr-ts tasks rm ID...`: deletes stopped tasks and prints their exit status. */
export async function tasksRemove(client: DaemonClient, args: Parsed): Promise<number> {
  if (args.positionals.length === 0) throw invalidArgument('usage: ctr-ts tasks rm ID [ID...]');
  let status = 0;
  for (const id of args.positionals) {
    try {
      const res = await client.call('tasks', 'Delete', { container_id: id });
      process.stdout.write(`${id}\texit status ${res.exit_status}\n`);
    } catch (err) {
      process.stderr.write(`ctr-ts: ${(err as Error).message}\n`);
      status = 1;
    }
  }
  return status;
}

/** "SIGKILL", "KILL", "9" -> 9. */
export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n <= 64) return n;
  }
  const name = text.toUpperCase().startsWith('SIG') ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
  const n = (constants.signals as Record<string, number>)[name];
  if (n === undefined) throw invalidArgument(`unknown signal "${text}"`);
  return n;
}


function oneId(args: Parsed, usage: string): string {
  const id = args.positionals[0];
  if (!id) throw invalidArgument(`usage: ctr-ts ${usage}`);
  return id;
}

/** `ctr-ts tasks pause ID` */
export async function tasksPause(client: DaemonClient, args: Parsed): Promise<number> {
  await client.call('tasks', 'Pause', { container_id: oneId(args, 'tasks pause ID') });
  return 0;
}

/** `ctr-ts tasks resume ID` */
export async function tasksResume(client: DaemonClient, args: Parsed): Promise<number> {
  await client.call('tasks', 'Resume', { container_id: oneId(args, 'tasks resume ID') });
  return 0;
}

/** `ctr-ts tasks ps ID`: the host pids of the container's processes. */
export async function tasksPs(client: DaemonClient, args: Parsed): Promise<number> {
  const { processes } = await client.call('tasks', 'ListPids', { container_id: oneId(args, 'tasks ps ID') });
  process.stdout.write(table(['PID'], processes.map((p) => [String(p.pid)])));
  return 0;
}

/** `ctr-ts tasks wait ID`: blocks until the task exits; exits with its status. */
export async function tasksWait(client: DaemonClient, args: Parsed): Promise<number> {
  const res = await client.call('tasks', 'Wait', { container_id: oneId(args, 'tasks wait ID') });
  return res.exit_status;
}
