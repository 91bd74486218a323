import { expect } from 'chai';
import { isRuntimeError } from '../../src/errors.js';
import { decodeMessage, encodeMessage, fromTimestamp } from '../../src/proto.js';
import type { Container, Image } from '../../src/proto-types.js';
import {
  containerFromProto,
  containerToProto,
  descriptorFromProto,
  imageFromProto,
  imageToProto,
  taskToProcess,
} from '../../src/daemon/grpc/convert.js';
import type { ContainerRecord, ImageRecord } from '../../src/daemon/metadata/db.js';
import type { Task } from '../../src/daemon/tasks/task.js';
import type { StateResult } from '../../src/shim/protocol.js';

const CONTAINER_MSG = 'containerd.services.containers.v1.Container';
const IMAGE_MSG = 'containerd.services.images.v1.Image';

/** Sends a record through the real wire encoding, as a client would receive it. */
const overTheWire = <T>(name: string, obj: unknown): T => decodeMessage(name, encodeMessage(name, obj as never)) as T;

const RECORD: ContainerRecord = {
  id: 'c1',
  labels: { 'io.containerd.image.config.stop-signal': 'SIGTERM', empty: '' },
  image: 'docker.io/library/busybox:latest',
  runtime: { name: 'io.containerd.runc.v2', options: { typeUrl: 'containerd.runc.v1.Options', value: Buffer.from([0x0a, 0x00, 0xff, 0x10]) } },
  spec: { typeUrl: 'types.containerd.io/opencontainers/runtime-spec/1/Spec', value: Buffer.from('{"ociVersion":"1.0.2-dev","process":{"args":["sh"]}}') },
  snapshotter: 'overlayfs',
  snapshotKey: 'c1-snapshot',
  createdAt: '2024-05-06T07:08:09.123Z',
  updatedAt: '2024-05-06T07:08:10.456Z',
  extensions: {
    'containerd-ts/a': { typeUrl: 'x.y.A', value: Buffer.from([1, 2, 3]) },
    'containerd-ts/b': { typeUrl: 'x.y.B', value: Buffer.alloc(0) },
  },
};

const IMAGE: ImageRecord = {
  name: 'docker.io/library/busybox:latest',
  labels: { 'containerd.io/gc.ref.content': 'x' },
  target: {
    mediaType: 'application/vnd.oci.image.index.v1+json',
    digest: `sha256:${'d'.repeat(64)}`,
    size: 9_007_199_254, // > 2^32: int64 on the wire
    annotations: { 'org.opencontainers.image.ref.name': 'latest' },
  },
  createdAt: '2023-01-02T03:04:05.006Z',
  updatedAt: '2023-01-02T03:04:06.000Z',
};

const bytes = (b: Uint8Array | undefined) => [...Buffer.from(b ?? [])];

describe('daemon/grpc/convert', () => {
  describe('containers', () => {
    it('record -> proto -> wire -> record keeps every field, Any bytes included', () => {
      const wire = overTheWire<Container>(CONTAINER_MSG, containerToProto(RECORD));
      const back = containerFromProto(wire);
      const { createdAt, updatedAt, ...rest } = RECORD;
      expect(back.id).to.equal(rest.id);
      expect(back.labels).to.deep.equal(rest.labels);
      expect(back.image).to.equal(rest.image);
      expect(back.snapshotter).to.equal(rest.snapshotter);
      expect(back.snapshotKey).to.equal(rest.snapshotKey);
      expect(back.runtime.name).to.equal(rest.runtime.name);
      expect(back.runtime.options!.typeUrl).to.equal(rest.runtime.options!.typeUrl);
      expect(bytes(back.runtime.options!.value)).to.deep.equal(bytes(rest.runtime.options!.value));
      expect(back.spec!.typeUrl).to.equal(rest.spec!.typeUrl);
      expect(Buffer.from(back.spec!.value).toString()).to.equal(rest.spec!.value.toString());
      expect(Object.keys(back.extensions)).to.have.members(Object.keys(rest.extensions));
      for (const [k, v] of Object.entries(rest.extensions)) {
        expect(back.extensions[k]!.typeUrl).to.equal(v.typeUrl);
        expect(bytes(back.extensions[k]!.value), k).to.deep.equal(bytes(v.value));
      }
      expect(fromTimestamp(wire.created_at).toISOString()).to.equal(createdAt);
      expect(fromTimestamp(wire.updated_at).toISOString()).to.equal(updatedAt);
    });

    it('proto -> record -> proto is the identity (what Get returns is what Create was sent)', () => {
      const sent = overTheWire<Container>(CONTAINER_MSG, containerToProto(RECORD));
      const record: ContainerRecord = { ...containerFromProto(sent), createdAt: RECORD.createdAt, updatedAt: RECORD.updatedAt };
      const again = overTheWire<Container>(CONTAINER_MSG, containerToProto(record));
      expect(again).to.deep.equal(sent);
    });

    it('leaves out an absent spec and runtime options instead of inventing empty Anys', () => {
      const minimal: ContainerRecord = { ...RECORD, spec: undefined, runtime: { name: 'io.containerd.runc.v2' }, extensions: {}, labels: {} };
      const wire = overTheWire<Container>(CONTAINER_MSG, containerToProto(minimal));
      expect(wire.spec).to.equal(null);
      const back = containerFromProto(wire);
      expect(back.spec).to.equal(undefined);
      expect(back.runtime).to.deep.equal({ name: 'io.containerd.runc.v2' });
      expect(back.extensions).to.deep.equal({});
    });

    it('rejects a request without a container', () => {
      expect(() => containerFromProto(null)).to.throw().that.satisfies((e: unknown) => isRuntimeError(e, 'InvalidArgument'));
    });
  });

  describe('images', () => {
    it('record -> proto -> wire -> record keeps name, labels, target (size > 2^32, annotations) and times', () => {
      const wire = overTheWire<Image>(IMAGE_MSG, imageToProto(IMAGE));
      expect(wire.target!.size).to.equal(String(IMAGE.target.size));
      const back = imageFromProto(wire);
      const { createdAt, updatedAt, ...rest } = IMAGE;
      expect(back).to.deep.equal(rest);
      expect(fromTimestamp(wire.created_at).toISOString()).to.equal(createdAt);
      expect(fromTimestamp(wire.updated_at).toISOString()).to.equal(updatedAt);
    });

    it('keeps a target without annotations free of an empty annotations map', () => {
      const { annotations: _, ...target } = IMAGE.target;
      const back = imageFromProto(overTheWire<Image>(IMAGE_MSG, imageToProto({ ...IMAGE, target })));
      expect(back.target).to.deep.equal(target);
    });

    it('rejects a missing image or target', () => {
      expect(() => imageFromProto(undefined)).to.throw().with.property('kind', 'InvalidArgument');
      expect(() => descriptorFromProto(null)).to.throw().with.property('kind', 'InvalidArgument');
      const noTarget = overTheWire<Image>(IMAGE_MSG, { name: 'x' });
      expect(() => imageFromProto(noTarget)).to.throw().with.property('kind', 'InvalidArgument');
    });
  });

  describe('taskToProcess', () => {
    const task = { namespace: 'default', id: 'c1', pid: 77, bundle: '/b', scope: 'containerd-c1.scope', stdio: { stdout: '/fifo/out', terminal: true } } as unknown as Task;
    const state = (s: Partial<StateResult>): StateResult => ({ id: 'c1', pid: 77, status: 'running', bundle: '/b', ...s });

    it('reports pid, status and stdio of a running task', () => {
      const p = taskToProcess(task, state({}));
      expect(p).to.include({ container_id: 'c1', id: 'c1', pid: 77, status: 'RUNNING', stdin: '', stdout: '/fifo/out', stderr: '', terminal: true, exit_status: 0 });
      expect(p.exited_at).to.equal(null);
    });

    it('reports the exit status and time of a stopped (or deleted) task', () => {
      const exit = { pid: 77, status: 137, signal: 9, exitedAt: '2024-01-01T00:00:01.500Z', oomKilled: true };
      for (const status of ['stopped', 'deleted'] as const) {
        const p = taskToProcess(task, state({ status, exit }));
        expect(p.status).to.equal('STOPPED');
        expect(p.exit_status).to.equal(137);
        expect(fromTimestamp(p.exited_at as never).toISOString()).to.equal('2024-01-01T00:00:01.500Z');
      }
      expect(taskToProcess(task, state({ status: 'created' })).status).to.equal('CREATED');
      expect(taskToProcess(task, state({ status: 'paused' })).status).to.equal('PAUSED');
    });
  });
});
