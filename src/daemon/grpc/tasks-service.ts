import { invalidArgument, unimplemented } from '../../errors.js';
import { toTimestamp } from '../../proto.js';
import type { Mount, TasksHandlers } from '../../proto-types.js';
import type { TaskManager } from '../tasks/task-manager.js';
import { taskToProcess } from './convert.js';
import * as grpc from '@grpc/grpc-js';
import { namespaceOf, notImplemented, OOM_HEADER, unary } from './handlers.js';

/** Tasks: create/start/kill/wait/delete through the task manager; exec and friends come later. */
export function tasksService(tasks: TaskManager): TasksHandlers {
  const noExec = (execId: string) => {
    if (execId) throw unimplemented('exec processes are not supported yet');
  };
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
      noExec(req.exec_id);
      return { pid: (await tasks.start(namespaceOf(call), req.container_id)).pid };
    }),
    Delete: unary(async (req, call) => {
      const exit = await tasks.delete(namespaceOf(call), req.container_id);
      sendOomHeader(call, exit.oomKilled);
      return { id: req.container_id, pid: exit.pid, exit_status: exit.status, exited_at: toTimestamp(new Date(exit.exitedAt)) };
    }),
    Get: unary(async (req, call) => {
      noExec(req.exec_id);
      const ns = namespaceOf(call);
      const task = tasks.get(ns, req.container_id);
      return { process: taskToProcess(task, await tasks.state(ns, req.container_id)) };
    }),
    List: unary(async (_req, call) => {
      const ns = namespaceOf(call);
      const list = await Promise.all(tasks.list(ns).map(async (t) => taskToProcess(t, await tasks.state(ns, t.id))));
      return { tasks: list };
    }),
    Kill: unary(async (req, call) => {
      noExec(req.exec_id);
      await tasks.kill(namespaceOf(call), req.container_id, req.signal, req.all);
      return {};
    }),
    Wait: unary(async (req, call) => {
      noExec(req.exec_id);
      const exit = await tasks.wait(namespaceOf(call), req.container_id);
      sendOomHeader(call, exit.oomKilled);
      return { exit_status: exit.status, exited_at: toTimestamp(new Date(exit.exitedAt)) };
    }),
    DeleteProcess: notImplemented('Tasks', 'DeleteProcess'),
    Exec: notImplemented('Tasks', 'Exec'),
    ResizePty: notImplemented('Tasks', 'ResizePty'),
    CloseIO: notImplemented('Tasks', 'CloseIO'),
    Pause: notImplemented('Tasks', 'Pause'),
    Resume: notImplemented('Tasks', 'Resume'),
    ListPids: notImplemented('Tasks', 'ListPids'),
    Checkpoint: notImplemented('Tasks', 'Checkpoint'),
    Update: notImplemented('Tasks', 'Update'),
    Metrics: notImplemented('Tasks', 'Metrics'),
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
