import { closeSync, constants, openSync } from 'node:fs';
import net from 'node:net';
import { invalidArgument } from '../../errors.js';
import type { Parsed } from '../args.js';
import type { DaemonClient } from '../client.js';
import { LogReader } from '../log-reader.js';
import { followTerminalSize, RawTerminal } from '../terminal.js';
import { POLL_MS, taskLogPath } from './logs.js';

/** Ctrl-P Ctrl-Q: leave a raw-terminal attach without touching the task (docker's sequence). */
const DETACH_KEYS = Buffer.from([0x10, 0x11]);

/**
 * `ctr-ts tasks attach ID`: re-attaches to a detached task. Its output went
 * to its log file, so attach follows that file from its current end (across
 * rotations) rather than re-opening FIFOs that nobody kept; stdin, when the
 * task was created with -i, goes into the stdin FIFO the shim holds open.
 * With a terminal: raw mode, resizes follow, Ctrl-P Ctrl-Q detaches.
 * Without: Ctrl-C detaches. Ends with the task's exit status when it stops.
 */
export async function tasksAttach(client: DaemonClient, args: Parsed): Promise<number> {
  const id = args.positionals[0];
  if (!id) throw invalidArgument('usage: ctr-ts tasks attach ID');
  const { process: proc } = await client.call('tasks', 'Get', { container_id: id, exec_id: '' });
  const logFile = await taskLogPath(client, id, '; tasks attach works on tasks started with -d');
  const reader = await LogReader.open(logFile, true);
  const terminal = Boolean(proc?.terminal);
  let raw: RawTerminal | undefined;
  let stopResizing: (() => void) | undefined;
  let stdinFd: number | undefined;
  let detached = false;
  const detach = () => (detached = true);
  try {
    if (proc?.stdin) {
      stdinFd = openSync(proc.stdin, constants.O_WRONLY | constants.O_NONBLOCK);
      const writer = new net.Socket({ fd: stdinFd, readable: false, writable: true });
      stdinFd = undefined; // the socket owns it now
      writer.on('error', () => {});
      if (terminal) raw = RawTerminal.enter();
      process.stdin.on('data', (chunk: Buffer) => {
        if (raw && chunk.includes(DETACH_KEYS)) return detach();
        writer.write(chunk);
      });
      // Piped input that ends: the container's stdin ends too (as with run -i).
      process.stdin.once('end', () => writer.end(() => void client.call('tasks', 'CloseIO', { container_id: id, exec_id: '', stdin: true }).catch(() => {})));
      process.stdin.resume();
    }
    if (terminal) stopResizing = await followTerminalSize(client, { containerId: id });
    if (!raw) process.on('SIGINT', detach);
    for (;;) {
      const { process: now } = await client.call('tasks', 'Get', { container_id: id, exec_id: '' });
      await reader.drain(process.stdout);
      if (detached) return 0;
      if (now?.status === 'STOPPED') {
        await reader.drain(process.stdout);
        return now.exit_status;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    process.removeListener('SIGINT', detach);
    stopResizing?.();
    raw?.restore();
    if (stdinFd !== undefined) closeSync(stdinFd);
    await reader.close();
  }
}
