/**
 * Waiting for a systemd job: StartTransientUnit/StopUnit return a job path at
 * once and the unit changes later. We subscribe to Manager.JobRemoved BEFORE
 * the call (a fast job can finish before the reply is read), match the signal
 * by job path, and survive a bus restart by asking systemd whether the job
 * still exists.
 */
import { isRuntimeError, RuntimeError } from '../errors.js';
import type { BusCall, SystemBus } from './bus.js';
import { DBusErrorName } from './bus-errors.js';
import { str } from './decode.js';

/** systemd's job results; 'unknown' = the job vanished while the bus was down (check the unit). */
export type JobResult = 'done' | 'canceled' | 'timeout' | 'failed' | 'dependency' | 'skipped' | 'invalid' | 'unknown';

export const SYSTEMD_DEST = 'org.freedesktop.systemd1';
export const SYSTEMD_PATH = '/org/freedesktop/systemd1';
export const MANAGER_IFACE = 'org.freedesktop.systemd1.Manager';

/** Connect hook: systemd only broadcasts job/unit signals to clients that called Subscribe. */
export async function ensureSubscribed(bus: SystemBus): Promise<void> {
  await bus.addConnectHook('systemd1.Subscribe', async (call) => {
    try {
      await call({ destination: SYSTEMD_DEST, path: SYSTEMD_PATH, interface: MANAGER_IFACE, member: 'Subscribe' });
    } catch (err) {
      if (!(err instanceof RuntimeError && err.fields['dbusError'] === DBusErrorName.AlreadySubscribed)) throw err;
    }
  });
}

/** Calls a job-returning Manager method and resolves with the job's result once JobRemoved arrives. */
export async function runJob(bus: SystemBus, call: BusCall, timeoutMs: number): Promise<JobResult> {
  await ensureSubscribed(bus);
  const early = new Map<string, string>();
  let jobPath: string | null = null;
  let settle: ((r: JobResult) => void) | null = null;

  const checkStillThere = async () => {
    if (jobPath === null) return;
    const id = Number(jobPath.slice(jobPath.lastIndexOf('/') + 1));
    try {
      await bus.call({ destination: SYSTEMD_DEST, path: SYSTEMD_PATH, interface: MANAGER_IFACE, member: 'GetJob', signature: 'u', body: [id] });
    } catch (err) {
      // Gone: it finished while we were disconnected. Other errors: the bus is
      // flapping again; the next reconnect re-checks, the deadline bounds it.
      if (isRuntimeError(err, 'NotFound')) settle?.('unknown');
    }
  };

  const sub = await bus.subscribe(
    { sender: SYSTEMD_DEST, path: SYSTEMD_PATH, interface: MANAGER_IFACE, member: 'JobRemoved' },
    {
      onSignal: ({ body }) => {
        const job = body[1];
        const result = body[3];
        if (typeof job !== 'string' || typeof result !== 'string') return;
        if (jobPath === null) early.set(job, result);
        else if (job === jobPath) settle?.(result as JobResult);
      },
      onReconnect: () => void checkStillThere(),
    },
  );
  try {
    const deadline = Date.now() + timeoutMs;
    const [path] = await bus.call({ ...call, timeoutMs });
    jobPath = str(path, `${call.member} job path`);
    const seen = early.get(jobPath);
    if (seen !== undefined) return seen as JobResult;
    return await new Promise<JobResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new RuntimeError('DeadlineExceeded', `${call.member}: job ${jobPath} did not finish within ${timeoutMs}ms`, {
            fields: { job: jobPath ?? undefined, method: call.member },
          }),
        );
      }, Math.max(0, deadline - Date.now()));
      settle = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
    });
  } finally {
    await sub.unsubscribe();
  }
}
