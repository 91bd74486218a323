import { chainId } from '../../snapshot/chain-id.js';
import { validateDigest } from '../../snapshot/digest.js';
import { parseCpus, parseMemory, parsePids, type ResourceLimits } from '../../oci/limits.js';
import { validateIdentifier } from '../../oci/identifiers.js';
import { generateSpec, withEnv, withHostname, withImageConfig, withLimits } from '../../oci/spec.js';
import { TYPE_URLS } from '../../proto.js';
import { USER_ANNOTATION } from '../../daemon/tasks/task-manager.js';
import { OOM_HEADER } from '../../daemon/grpc/handlers.js';
import { invalidArgument } from '../../errors.js';
import type { OptionSpec, Parsed } from '../args.js';
import type { DaemonClient } from '../client.js';
import { FifoSet } from '../fifo.js';
import { resolveImageConfig } from '../image-config.js';
import { normalizeImageRef } from '../image-ref.js';

export const SNAPSHOTTER = 'overlayfs';
export const RUNTIME = 'io.containerd.runc.v2';

export const runOptions: Record<string, OptionSpec> = {
  rm: { type: 'boolean', description: 'remove the container (and its snapshot) after it exits' },
  detach: { type: 'boolean', short: 'd', description: 'start the container and return' },
  memory: { type: 'string', description: 'memory limit, e.g. 64M (MemoryMax of the scope)', placeholder: 'SIZE' },
  cpus: { type: 'string', description: 'CPU limit, e.g. 0.5 (CPUQuotaPerSecUSec of the scope)', placeholder: 'N' },
  pids: { type: 'string', description: 'maximum number of tasks (TasksMax of the scope)', placeholder: 'N' },
  env: { type: 'string', short: 'e', multiple: true, description: 'set an environment variable KEY=VALUE', placeholder: 'KV' },
  user: { type: 'string', short: 'u', description: 'user[:group] to run as (name or id)', placeholder: 'USER' },
  label: { type: 'string', multiple: true, description: 'container label KEY=VALUE', placeholder: 'KV' },
};

/** Limits from the command line, each validated once here. */
function limitsFrom(o: Parsed['options']): ResourceLimits {
  const limits: ResourceLimits = {};
  if (typeof o.memory === 'string') limits.memoryBytes = parseMemory(o.memory);
  if (typeof o.cpus === 'string') Object.assign(limits, parseCpus(o.cpus));
  if (typeof o.pids === 'string') limits.pids = parsePids(o.pids);
  return limits;
}

/**
 * `ctr-ts run`: the same calls `ctr run` makes (Images, Content, Snapshots,
 * Containers, Tasks), so our daemon is exercised as containerd clients use
 * it. Anything this command created is removed again if a later step fails.
 */
export async function run(client: DaemonClient, args: Parsed, stateDir: string): Promise<number> {
  const [imageArg, id] = args.positionals;
  if (!imageArg || !id) throw invalidArgument('usage: ctr-ts run [OPTIONS] IMAGE ID [COMMAND [ARG...]]');
  validateIdentifier(id, 'container id');
  const limits = limitsFrom(args.options);
  const o = args.options;
  const env = (o.env as string[] | undefined) ?? [];
  for (const e of env) if (!e.includes('=')) throw invalidArgument(`--env "${e}" must be KEY=VALUE`);

  const imageName = normalizeImageRef(imageArg);
  const { image } = await client.call('images', 'Get', { name: imageName });
  const { config } = await resolveImageConfig(client, image!.target!);
  const diffIds = (config.rootfs?.diff_ids ?? []).map((d) => validateDigest(d));
  const parent = diffIds.length > 0 ? chainId(diffIds) : undefined;

  const spec = generateSpec(withImageConfig(config.config, args.rest), withEnv(env), withHostname(id), withLimits(limits));
  const user = (o.user as string | undefined) ?? config.config?.User;
  if (user) spec.annotations = { ...spec.annotations, [USER_ANNOTATION]: user };
  if (spec.process.args.length === 0) throw invalidArgument(`image ${imageName} has no command; give one after the container id`);

  await client.call('snapshots', 'Prepare', { snapshotter: SNAPSHOTTER, key: id, parent: parent ?? '', labels: {} });
  const undo: Array<() => Promise<unknown>> = [() => client.call('snapshots', 'Remove', { snapshotter: SNAPSHOTTER, key: id })];
  let fifos: FifoSet | undefined;
  try {
    await client.call('containers', 'Create', {
      container: {
        id, image: imageName, labels: labelsFrom(o.label as string[] | undefined),
        runtime: { name: RUNTIME }, snapshotter: SNAPSHOTTER, snapshot_key: id,
        spec: { type_url: TYPE_URLS.spec, value: Buffer.from(JSON.stringify(spec)) },
      },
    });
    undo.push(() => client.call('containers', 'Delete', { id }));
    fifos = o.detach ? undefined : new FifoSet(stateDir, id);
    const outputs = fifos ? [fifos.read(fifos.stdout), fifos.read(fifos.stderr)] : [];
    await client.call('tasks', 'Create', { container_id: id, stdout: fifos?.stdout ?? '', stderr: fifos?.stderr ?? '' });
    undo.push(() => client.call('tasks', 'Delete', { container_id: id }));
    const waiting = client.call('tasks', 'Wait', { container_id: id });
    await client.call('tasks', 'Start', { container_id: id });
    if (o.detach) return 0;

    const [stdout, stderr] = await Promise.all(outputs);
    const drained = Promise.all([pipeTo(stdout!, process.stdout), pipeTo(stderr!, process.stderr)]);
    const forward = (signal: NodeJS.Signals, number: number) =>
      process.on(signal, () => void client.call('tasks', 'Kill', { container_id: id, signal: number, all: false }).catch(() => {}));
    forward('SIGINT', 2);
    forward('SIGTERM', 15);
    const exit = await waiting;
    await drained;
    undo.pop(); // the task is deleted below either way
    const { headers } = await client.callWithHeaders('tasks', 'Delete', { container_id: id });
    if (headers.get(OOM_HEADER)[0] === 'true') {
      process.stderr.write(`ctr-ts: container ${id} was killed by the kernel's OOM killer (memory limit reached)\n`);
    }
    if (o.rm) await runAll(undo.reverse());
    return exit.exit_status;
  } catch (err) {
    await runAll(undo.reverse());
    throw err;
  } finally {
    fifos?.remove();
  }
}

async function runAll(steps: Array<() => Promise<unknown>>): Promise<void> {
  for (const step of steps) await step().catch(() => {});
}

/** Copies a FIFO to our stdout/stderr until the container side closes it. */
export function pipeTo(from: NodeJS.ReadableStream, to: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    from.on('data', (chunk) => to.write(chunk));
    from.on('end', resolve);
    from.on('error', () => resolve());
  });
}

function labelsFrom(list: string[] = []): Record<string, string> {
  return Object.fromEntries(list.map((kv) => (kv.includes('=') ? [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] : [kv, ''])));
}
