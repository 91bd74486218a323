import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { notFound } from '../../src/errors.js';
import { tasksService } from '../../src/daemon/grpc/tasks-service.js';
import { CGROUPS_V1_METRICS, UNIT_COUNTERS_HEADER, unpackCgroupMetrics } from '../../src/daemon/grpc/metrics.js';
import { NAMESPACE_HEADER } from '../../src/daemon/grpc/handlers.js';
import type { TaskManager } from '../../src/daemon/tasks/task-manager.js';
import type { TaskUsage } from '../../src/daemon/tasks/resources.js';
import type { MetricsRequest, MetricsResponse } from '../../src/proto-types.js';

/** Tasks.Metrics through the gRPC handler, with a task manager that knows one live and one stopped task. */
describe('daemon/grpc Tasks.Metrics', () => {
  const usage: TaskUsage = {
    cgroup: { layout: 'v1', v1: { pids: { current: 2n, limit: 50n }, cpu: null, memory: null, blkio: null, memory_oom_control: null } },
    unit: {
      memoryMax: 67108864n, memoryLimit: null, cpuQuotaPerSecUSec: null, tasksMax: 50n, memoryCurrent: 4096n, tasksCurrent: 2n,
      cpuUsageNSec: null, ioReadBytes: null, ioWriteBytes: null, controlGroup: '/system.slice/containerd-live.scope', activeState: 'active',
    },
  };
  const manager = {
    list: () => [{ id: 'live' }, { id: 'stopped' }],
    metrics: async (_ns: string, id: string) => {
      if (id === 'live') return usage;
      throw notFound(`unit containerd-${id}.scope not loaded`);
    },
  } as unknown as TaskManager;

  function call(filters: string[]): Promise<{ err: grpc.ServiceError | null; res: MetricsResponse | undefined; headers: grpc.Metadata | undefined }> {
    const metadata = new grpc.Metadata();
    metadata.set(NAMESPACE_HEADER, 'default');
    let headers: grpc.Metadata | undefined;
    const fakeCall = { request: { filters } as MetricsRequest, metadata, sendMetadata: (md: grpc.Metadata) => (headers = md) };
    return new Promise((resolve) => {
      const handler = tasksService(manager).Metrics as unknown as (c: unknown, cb: (e: grpc.ServiceError | null, r?: MetricsResponse) => void) => void;
      handler(fakeCall, (err, res) => resolve({ err, res, headers }));
    });
  }

  it('packs the cgroups protobuf for the asked task and systemd\'s counters in the header', async () => {
    const { err, res, headers } = await call(['id==live']);
    expect(err).to.equal(null);
    expect(res!.metrics).to.have.length(1);
    const m = res!.metrics[0]!;
    expect(m.id).to.equal('live');
    expect(m.data!.type_url).to.equal(CGROUPS_V1_METRICS);
    expect(unpackCgroupMetrics(m.data!).metrics).to.nested.include({ 'pids.current': '2', 'pids.limit': '50' });
    const counters = JSON.parse(String(headers!.get(UNIT_COUNTERS_HEADER)[0])) as Record<string, Record<string, string | null>>;
    expect(counters.live).to.include({ MemoryMax: '67108864', TasksCurrent: '2', CPUQuotaPerSecUSec: null });
  });

  it('skips tasks without a live scope when listing all, like containerd', async () => {
    const { err, res } = await call([]);
    expect(err).to.equal(null);
    expect(res!.metrics.map((m) => m.id)).to.deep.equal(['live']);
  });

  it('a task asked for by id gets its error', async () => {
    const { err } = await call(['id==stopped']);
    expect(err?.code).to.equal(grpc.status.NOT_FOUND);
  });
});
