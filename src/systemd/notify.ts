/**
 * sd_notify for the daemon (Type=notify unit). Node has no unix datagram
 * sockets, so we run `systemd-notify` with `--pid=<our pid>`: systemd then
 * attributes the message to the daemon (not to the short-lived helper, whose
 * cgroup may be gone by the time systemd reads it) and records it as MAINPID.
 * The unit uses NotifyAccess=all. Without NOTIFY_SOCKET every call is a no-op.
 */
import { execa } from 'execa';
import { internal } from '../errors.js';

const NOTIFY_TIMEOUT_MS = 10_000;

async function notify(args: string[]): Promise<boolean> {
  if (!process.env['NOTIFY_SOCKET']) return false;
  try {
    await execa('systemd-notify', [`--pid=${process.pid}`, ...args], { timeout: NOTIFY_TIMEOUT_MS, stdin: 'ignore' });
  } catch (err) {
    throw internal(`systemd-notify failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err, fields: { args: args.join(' ') } });
  }
  return true;
}

/** Tells systemd the daemon is ready (READY=1, optional STATUS=); false when not started by systemd. */
export function notifyReady(status?: string): Promise<boolean> {
  return notify(status === undefined ? ['--ready'] : ['--ready', `--status=${status}`]);
}

/** Tells systemd the daemon is shutting down (STOPPING=1); false when not started by systemd. */
export function notifyStopping(status?: string): Promise<boolean> {
  return notify(status === undefined ? ['STOPPING=1'] : ['STOPPING=1', `--status=${status}`]);
}

/** Updates the status line `systemctl status` shows; false when not started by systemd. */
export function notifyStatus(status: string): Promise<boolean> {
  return notify([`--status=${status}`]);
}
