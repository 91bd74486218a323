import { invalidArgument } from '../../errors.js';
import { toTimestamp } from '../../proto.js';
import type { Any, Container, Descriptor, Image, Init, Process } from '../../proto-types.js';
import type { AnyRecord, ContainerRecord, DescriptorRecord, ImageRecord } from '../metadata/db.js';
import type { Task } from '../tasks/task.js';
import type { StateResult } from '../../shim/protocol.js';

/** Wire <-> record conversions, symmetric and free of logic beyond shape. */
const anyToRecord = (a: Any | null | undefined): AnyRecord | undefined =>
  a && a.type_url ? { typeUrl: a.type_url, value: Buffer.from(a.value) } : undefined;
const anyFromRecord = (a: AnyRecord | undefined): Init<Any> | null => (a ? { type_url: a.typeUrl, value: Buffer.from(a.value) } : null);
const ts = (iso: string) => toTimestamp(new Date(iso));

export function descriptorFromProto(d: Descriptor | null | undefined): DescriptorRecord {
  if (!d) throw invalidArgument('descriptor is required');
  return { mediaType: d.media_type, digest: d.digest, size: Number(d.size), ...(Object.keys(d.annotations ?? {}).length ? { annotations: d.annotations } : {}) };
}

export function descriptorToProto(d: DescriptorRecord): Init<Descriptor> {
  return { media_type: d.mediaType, digest: d.digest, size: String(d.size), annotations: d.annotations ?? {} };
}

export function imageFromProto(i: Image | null | undefined): Omit<ImageRecord, 'createdAt' | 'updatedAt'> {
  if (!i) throw invalidArgument('image is required');
  return { name: i.name, labels: i.labels ?? {}, target: descriptorFromProto(i.target) };
}

export function imageToProto(i: ImageRecord): Init<Image> {
  return { name: i.name, labels: i.labels, target: descriptorToProto(i.target), created_at: ts(i.createdAt), updated_at: ts(i.updatedAt) };
}

export function containerFromProto(c: Container | null | undefined): Omit<ContainerRecord, 'createdAt' | 'updatedAt'> {
  if (!c) throw invalidArgument('container is required');
  const runtimeOptions = anyToRecord(c.runtime?.options);
  return {
    id: c.id,
    labels: c.labels ?? {},
    image: c.image,
    runtime: { name: c.runtime?.name ?? '', ...(runtimeOptions ? { options: runtimeOptions } : {}) },
    spec: anyToRecord(c.spec),
    snapshotter: c.snapshotter,
    snapshotKey: c.snapshot_key,
    extensions: Object.fromEntries(Object.entries(c.extensions ?? {}).map(([k, v]) => [k, anyToRecord(v)!]).filter(([, v]) => v)),
  };
}

export function containerToProto(c: ContainerRecord): Init<Container> {
  return {
    id: c.id,
    labels: c.labels,
    image: c.image,
    runtime: { name: c.runtime.name, options: anyFromRecord(c.runtime.options) },
    spec: anyFromRecord(c.spec),
    snapshotter: c.snapshotter,
    snapshot_key: c.snapshotKey,
    created_at: ts(c.createdAt),
    updated_at: ts(c.updatedAt),
    extensions: Object.fromEntries(Object.entries(c.extensions).map(([k, v]) => [k, anyFromRecord(v)!])),
  };
}

const STATUS: Record<StateResult['status'], Process['status']> = {
  created: 'CREATED', running: 'RUNNING', stopped: 'STOPPED', paused: 'PAUSED', deleted: 'STOPPED',
};

export function taskToProcess(task: Task, state: StateResult): Init<Process> {
  return {
    container_id: task.id,
    id: task.id,
    pid: state.pid,
    status: STATUS[state.status],
    stdin: task.stdio.stdin ?? '',
    stdout: task.stdio.stdout ?? '',
    stderr: task.stdio.stderr ?? '',
    terminal: task.stdio.terminal ?? false,
    exit_status: state.exit?.status ?? 0,
    exited_at: state.exit ? toTimestamp(new Date(state.exit.exitedAt)) : null,
  };
}
