/**
 * sd_notify for the daemon (Type=notify unit): one datagram to
 * $NOTIFY_SOCKET, sent by the native helper from the daemon's own process
 * (Node has no unix datagram sockets; running systemd-notify(1) for it cost
 * a process spawn, ~30 ms, on the way to READY=1). Without NOTIFY_SOCKET
 * every call is a no-op.
 */
import { internal } from '../errors.js';
import { sendNotify } from '../shim/native.js';

/** Escapes a STATUS= value: one line, as sd_notify's key=value lines need. */
const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ');

function notify(lines: string[]): boolean {
  const socket = process.env['NOTIFY_SOCKET'];
  if (!socket) return false;
  try {
    sendNotify(socket, lines.join('\n'));
  } catch (err) {
    throw internal(`sd_notify failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err, fields: { message: lines.join(' ') } });
  }
  return true;
}

/** Tells systemd the daemon is ready (READY=1, optional STATUS=); false when not started by systemd. */
export async function notifyReady(status?: string): Promise<boolean> {
  return notify(status === undefined ? ['READY=1'] : ['READY=1', `STATUS=${oneLine(status)}`]);
}

/** Tells systemd the daemon is shutting down (STOPPING=1); false when not started by systemd. */
export async function notifyStopping(status?: string): Promise<boolean> {
  return notify(status === undefined ? ['STOPPING=1'] : ['STOPPING=1', `STATUS=${oneLine(status)}`]);
}

/** Updates the status line `systemctl status` shows; false when not started by systemd. */
export async function notifyStatus(status: string): Promise<boolean> {
  return notify([`STATUS=${oneLine(status)}`]);
}
