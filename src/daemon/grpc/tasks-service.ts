import { invalidArgument, isRuntimeError, unimplemented } from '../../errors.js';
import { toTimestamp, TYPE_URLS, unpackJsonAny } from '../../proto.js';
import { packCgroupMetrics, unitCounters, UNIT_COUNTERS_HEADER, type UnitCounters } from './metrics.js';
import type { SpecResources } from '../../oci/spec-types.js';
import { limitsFromResources } from '../tasks/resources.js';
import type { Mount, TasksHandlers } from '../../proto-types.js';
import type { TaskManager } from '../tasks/task-manager.js';
import { taskToProcess } from './convert.js';
import * as grpc from '@grpc/grpc-js';
import { namespaceOf, notImplemented, OOM_HEADER, unary } from './handlers.js';

/** Tasks: create/start/kill/wait/delete through the task manager; exec and friends come later. */
export function tasksService(tasks: TaskManager): TasksHandlers {
  return {
    Create: unary(async (req, call) => {
      if (req.checkpoint?.digest) throw unimplemented('restoring from a checkpoint is not supported');
      const task = await tasks.create(namespaceOf(call), req.container_id, {
        stdin: req.stdin || undefined,
        stdout: req.stdout || undefined,
        stderr: req.stderr || undefined,
        terminal: req.terminal,
        rootfs: req.rootfs.map(mountFromProto),
      });
      return { container_id: task.id, pid: task.pid };
    }),
    Start: unary(async (req, call) => {
      const ns = namespaceOf(call);
      if (req.exec_id) return { pid: await tasks.startExec(ns, req.container_id, req.exec_id) };
      return { pid: (await tasks.start(ns, req.container_id)).pid };
    }),
    Delete: unary(async (req, call) => {
      const exit = await tasks.delete(namespaceOf(call), req.container_id);
      sendOomHeader(call, exit.oomKilled);
      return { id: req.container_id, pid: exit.pid, exit_status: exit.status, exited_at: toTimestamp(new Date(exit.exitedAt)) };
    }),
    Get: unary(async (req, call) => {
      const ns = namespaceOf(call);
      const task = tasks.get(ns, req.container_id);
      const state = req.exec_id ? await tasks.stateExec(ns, req.container_id, req.exec_id) : await tasks.state(ns, req.container_id);
      return { process: { ...taskToProcess(task, state), id: req.exec_id || task.id } };
    }),
    List: unary(async (_req, call) => {
      const ns = namespaceOf(call);
      const list = await Promise.all(tasks.list(ns).map(async (t) => taskToProcess(t, await tasks.state(ns, t.id))));
      return { tasks: list };
    }),
    Kill: unary(async (req, call) => {
      const ns = namespaceOf(call);
      if (req.exec_id) await tasks.killExec(ns, req.container_id, req.exec_id, req.signal);
      else await tasks.kill(ns, req.container_id, req.signal, req.all);
      return {};
    }),
    Wait: unary(async (req, call) => {
      const ns = namespaceOf(call);
      const exit = req.exec_id ? await tasks.waitExec(ns, req.container_id, req.exec_id) : await tasks.wait(ns, req.container_id);
      sendOomHeader(call, exit.oomKilled);
      return { exit_status: exit.status, exited_at: toTimestamp(new Date(exit.exitedAt)) };
    }),
    DeleteProcess: unary(async (req, call) => {
      const exit = await tasks.deleteExec(namespaceOf(call), req.container_id, req.exec_id);
      return { id: req.exec_id, pid: exit.pid, exit_status: exit.status, exited_at: toTimestamp(new Date(exit.exitedAt)) };
    }),
    Exec: unary(async (req, call) => {
      if (!req.exec_id) throw invalidArgument('exec id is required');
      if (req.spec?.type_url !== TYPE_URLS.process) throw invalidArgument(`exec spec must be ${TYPE_URLS.process}`);
      const spec = unpackJsonAny<{ args?: string[]; terminal?: boolean }>(req.spec);
      if (!spec.args?.length) throw invalidArgument('exec spec needs args');
      if (Boolean(spec.terminal) !== req.terminal) throw invalidArgument(`exec terminal=${req.terminal} but its spec says terminal=${Boolean(spec.terminal)}: they must agree`);
      await tasks.exec(namespaceOf(call), req.container_id, req.exec_id, spec, {
        stdin: req.stdin || undefined, stdout: req.stdout || undefined, stderr: req.stderr || undefined, terminal: req.terminal,
      });
      return {};
    }),
    ResizePty: unary(async (req, call) => {
      await tasks.resizePty(namespaceOf(call), req.container_id, req.exec_id || undefined, req.width, req.height);
      return {};
    }),
    CloseIO: unary(async (req, call) => {
      // containerd's only IO to close is stdin; a request without it asks for nothing.
      if (req.stdin) await tasks.closeIO(namespaceOf(call), req.container_id, req.exec_id || undefined);
      return {};
    }),
    Pause: unary(async (req, call) => {
      await tasks.pause(namespaceOf(call), req.container_id);
      return {};
    }),
    Resume: unary(async (req, call) => {
      await tasks.resume(namespaceOf(call), req.container_id);
      return {};
    }),
    ListPids: unary(async (req, call) => ({ processes: (await tasks.pids(namespaceOf(call), req.container_id)).map((pid) => ({ pid, info: null })) })),
    Checkpoint: notImplemented('Tasks', 'Checkpoint'),
    Update: unary(async (req, call) => {
      if (!req.resources) throw invalidArgument('update needs resources (an OCI LinuxResources as JSON Any)');
      if (req.resources.type_url !== TYPE_URLS.linuxResources) throw invalidArgument(`resources must be ${TYPE_URLS.linuxResources}, not ${req.resources.type_url}`);
      const resources = unpackJsonAny<SpecResources>(req.resources);
      await tasks.update(namespaceOf(call), req.container_id, limitsFromResources(resources));
      return {};
    }),
    Metrics: unary(async (req, call) => {
      const ns = namespaceOf(call);
      const named = metricsIds(req.filters);
      const metrics = [];
      const counters: Record<string, UnitCounters> = {};
      for (const id of named.length > 0 ? named : tasks.list(ns).map((t) => t.id)) {
        // Like containerd, a listing of every task skips those without a live scope (stopped ones);
        // a task asked for by id gets its error.
        const usage = await tasks.metrics(ns, id).catch((err: unknown) => {
          if (named.length === 0 && isRuntimeError(err, 'NotFound')) return null;
          throw err;
        });
        if (!usage) continue;
        metrics.push({ timestamp: toTimestamp(), id, data: packCgroupMetrics(usage.cgroup) });
        counters[id] = unitCounters(usage.unit);
      }
      const md = new grpc.Metadata();
      md.set(UNIT_COUNTERS_HEADER, JSON.stringify(counters));
      call.sendMetadata(md);
      return { metrics };
    }),
  };
}

function mountFromProto(m: Mount) {
  if (!m.type) throw invalidArgument('rootfs mount needs a type');
  return { type: m.type, source: m.source, options: m.options };
}

function sendOomHeader(call: grpc.ServerUnaryCall<unknown, unknown>, oomKilled: boolean): void {
  const md = new grpc.Metadata();
  md.set(OOM_HEADER, String(oomKilled));
  call.sendMetadata(md);
}

/** The task ids containerd's metrics filters name (`id==X`); none means every task. */
function metricsIds(filters: string[]): string[] {
  return filters.map((f) => /^id==\"?([^"]*)\"?$/.exec(f.trim())?.[1]).filter((v): v is string => !!v);
}
