import { chainId } from '../../snapshot/chain-id.js';
import { VOLATILE_LABEL } from '../../snapshot/snapshotter.js';
import { validateDigest } from '../../snapshot/digest.js';
import { parseCpus, parseMemory, parsePids, type ResourceLimits } from '../../oci/limits.js';
import { validateIdentifier } from '../../oci/identifiers.js';
import { generateSpec, withCapabilities, withCwd, withEnv, withExtraResources, withHostname, withHostNetwork, withImageConfig, withLimits, withMount, withPrivileged, withReadonlyRootfs, withSeccomp, withTerminal, type SpecOpt } from '../../oci/spec.js';
import { TYPE_URLS } from '../../type-urls.js';
import { packAny } from '../../wire/any.js';
import { parseSeccompOption } from '../../oci/seccomp.js';
import { USER_ANNOTATION } from '../../oci/user.js';
import { OOM_HEADER } from '../../grpc-codes.js';
import { invalidArgument } from '../../errors.js';
import type { OptionSpec, Parsed } from '../args.js';
import type { DaemonClient } from '../client.js';
import { FifoSet } from '../fifo.js';
import { followTerminalSize, forwardSignals, handleInterrupts, RawTerminal } from '../terminal.js';
import { resolveImage } from '../image-config.js';
import { normalizeImageRef } from '../image-ref.js';

export const SNAPSHOTTER = 'overlayfs';
export const RUNTIME = 'io.containerd.runc.v2';

export const runOptions: Record<string, OptionSpec> = {
  rm: { type: 'boolean', description: 'remove the container (and its snapshot) after it exits' },
  detach: { type: 'boolean', short: 'd', description: 'start the container and return (output to its log; see logs, tasks attach)' },
  tty: { type: 'boolean', short: 't', description: 'give the container a terminal (raw mode here with -i; resizes follow)' },
  interactive: { type: 'boolean', short: 'i', description: "attach the container's stdin (kept for tasks attach with -d)" },
  memory: { type: 'string', description: 'memory limit, e.g. 64M (MemoryMax of the scope)', placeholder: 'SIZE' },
  cpus: { type: 'string', description: 'CPU limit, e.g. 0.5 (CPUQuotaPerSecUSec of the scope)', placeholder: 'N' },
  pids: { type: 'string', description: 'maximum number of tasks (TasksMax of the scope)', placeholder: 'N' },
  env: { type: 'string', short: 'e', multiple: true, description: 'set an environment variable KEY=VALUE', placeholder: 'KV' },
  user: { type: 'string', short: 'u', description: 'user[:group] to run as (name or id)', placeholder: 'USER' },
  label: { type: 'string', multiple: true, description: 'container label KEY=VALUE', placeholder: 'KV' },
  cwd: { type: 'string', description: 'working directory of the process', placeholder: 'DIR' },
  hostname: { type: 'string', description: 'hostname (default: the container id)', placeholder: 'NAME' },
  net: { type: 'string', description: 'network: none (own namespace, loopback only; default) or host', placeholder: 'MODE' },
  'read-only': { type: 'boolean', description: 'mount the rootfs read-only' },
  mount: { type: 'string', multiple: true, description: 'bind mount: type=bind,src=/host,dst=/ctr[,options=rbind:ro]', placeholder: 'SPEC' },
  'cap-add': { type: 'string', multiple: true, description: 'add a capability (e.g. NET_ADMIN, ALL)', placeholder: 'CAP' },
  'cap-drop': { type: 'string', multiple: true, description: 'drop a capability (e.g. CHOWN, ALL)', placeholder: 'CAP' },
  privileged: { type: 'boolean', description: 'all capabilities and devices, no masked paths, no seccomp filter' },
  'memory-swap': { type: 'string', description: 'memory plus swap limit, e.g. 128M', placeholder: 'SIZE' },
  'cpu-shares': { type: 'string', description: 'relative CPU weight (CPUShares on v1, CPUWeight on v2)', placeholder: 'N' },
  'cpuset-cpus': { type: 'string', description: 'CPUs the container may use, e.g. 0 or 0-1 (AllowedCPUs)', placeholder: 'LIST' },
  slice: { type: 'string', description: 'systemd slice for the scope (default system.slice)', placeholder: 'SLICE' },
  runtime: { type: 'string', description: 'OCI runtime binary: runc (default) or crun', placeholder: 'NAME' },
  'seccomp-profile': { type: 'string', description: 'seccomp: default (the built-in allow-list), unconfined, or a profile file (OCI JSON)', placeholder: 'PATH' },
};

/** Spec options from the flags beyond limits, each validated here. */
function optionsFrom(o: Parsed['options'], id: string): SpecOpt[] {
  const opts: SpecOpt[] = [withHostname(typeof o.hostname === 'string' ? o.hostname : id)];
  if (typeof o.cwd === 'string') opts.push(withCwd(o.cwd));
  if (o.net !== undefined && o.net !== 'none' && o.net !== 'host') throw invalidArgument(`--net must be none or host, not "${String(o.net)}"`);
  if (o.net === 'host') opts.push(withHostNetwork());
  if (o['read-only']) opts.push(withReadonlyRootfs());
  for (const m of (o.mount as string[] | undefined) ?? []) opts.push(withMount(m));
  if (o.privileged) opts.push(withPrivileged());
  const add = (o['cap-add'] as string[] | undefined) ?? [];
  const drop = (o['cap-drop'] as string[] | undefined) ?? [];
  if (add.length || drop.length) opts.push(withCapabilities(add, drop));
  // After the capabilities: the default profile allows what they allow. --privileged alone means unconfined.
  if (typeof o['seccomp-profile'] === 'string') opts.push(withSeccomp(parseSeccompOption(o['seccomp-profile'])));
  const extra: Parameters<typeof withExtraResources>[0] = {};
  if (typeof o['memory-swap'] === 'string') extra.memorySwapBytes = parseMemory(o['memory-swap']);
  if (typeof o['cpu-shares'] === 'string') {
    if (!/^\d+$/.test(o['cpu-shares']) || Number(o['cpu-shares']) < 2) throw invalidArgument('--cpu-shares must be an integer of at least 2');
    extra.cpuShares = Number(o['cpu-shares']);
  }
  if (typeof o['cpuset-cpus'] === 'string') {
    if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(o['cpuset-cpus'])) throw invalidArgument(`--cpuset-cpus "${o['cpuset-cpus']}" must be a list like 0,2-3`);
    extra.cpusetCpus = o['cpuset-cpus'];
  }
  if (Object.keys(extra).length) opts.push(withExtraResources(extra));
  if (o.tty) opts.push(withTerminal());
  if (typeof o.slice === 'string') {
    if (!/^[A-Za-z0-9_.-]+\.slice$/.test(o.slice)) throw invalidArgument(`--slice "${o.slice}" must be a unit name ending in .slice`);
    const slice = o.slice;
    opts.push((spec) => (spec.linux.cgroupsPath = `${slice}:containerd:${id}`));
  }
  return opts;
}

/** --runtime: the binary goes to the shim as containerd's runc options (binary_name), as `ctr --runc-binary` sends it. */
function runtimeOptions(o: Parsed['options']) {
  const name = o.runtime;
  if (name === undefined || name === 'runc') return null;
  if (name !== 'crun') throw invalidArgument(`--runtime must be runc or crun, not "${String(name)}"`);
  return packAny(TYPE_URLS.runcV1Options, { binary_name: name });
}

/** Limits from the command line, each validated once here. */
function limitsFrom(o: Parsed['options']): ResourceLimits {
  const limits: ResourceLimits = {};
  if (typeof o.memory === 'string') limits.memoryBytes = parseMemory(o.memory);
  if (typeof o.cpus === 'string') Object.assign(limits, parseCpus(o.cpus));
  if (typeof o.pids === 'string') limits.pids = parsePids(o.pids);
  return limits;
}

/**
 * `ctr-ts run`: the calls `ctr run` makes (Snapshots, Containers, Tasks),
 * so our daemon is exercised as containerd clients use it, except that the
 * image and its config come in one call (ImageResolve) where `ctr` reads
 * them with Images.Get and Content.Read. Anything this command created is removed again if a later step fails.
 *
 * Attached, the container's exit code is ours. Without a raw terminal, the
 * first Ctrl-C is passed on as SIGINT and a second within 3 s kills the task
 * with SIGKILL, so a container that ignores SIGINT cannot trap the user.
 */
export async function run(client: DaemonClient, args: Parsed, stateDir: string): Promise<number> {
  const [imageArg, id] = args.positionals;
  if (!imageArg || !id) throw invalidArgument('usage: ctr-ts run [OPTIONS] IMAGE ID [COMMAND [ARG...]]');
  validateIdentifier(id, 'container id');
  const limits = limitsFrom(args.options);
  const o = args.options;
  const env = (o.env as string[] | undefined) ?? [];
  for (const e of env) if (!e.includes('=')) throw invalidArgument(`--env "${e}" must be KEY=VALUE`);

  if (o.rm && o.detach) throw invalidArgument('--rm and --detach cannot be used together: nothing would remove the container after it exits (use tasks rm and containers rm)');
  optionsFrom(o, id); // validate every flag before anything is created
  runtimeOptions(o);
  const imageName = normalizeImageRef(imageArg);
  const { config } = await resolveImage(client, imageName);
  const diffIds = (config.rootfs?.diff_ids ?? []).map((d) => validateDigest(d));
  const parent = diffIds.length > 0 ? chainId(diffIds) : undefined;

  const spec = generateSpec(withImageConfig(config.config, args.rest), withEnv(env), withLimits(limits), ...optionsFrom(o, id));
  const runtime = { name: RUNTIME, options: runtimeOptions(o) };
  const user = (o.user as string | undefined) ?? config.config?.User;
  if (user) spec.annotations = { ...spec.annotations, [USER_ANNOTATION]: user };
  if (spec.process.args.length === 0) throw invalidArgument(`image ${imageName} has no command; give one after the container id`);

  const snapshotLabels = o.rm ? { [VOLATILE_LABEL]: 'true' } : {};
  const container = {
    id, image: imageName, labels: labelsFrom(o.label as string[] | undefined),
    runtime, snapshotter: SNAPSHOTTER, snapshot_key: id,
    spec: { type_url: TYPE_URLS.spec, value: Buffer.from(JSON.stringify(spec)) },
  };
  const undo: Array<() => Promise<unknown>> = [];
  let fifos: FifoSet | undefined;
  let raw: RawTerminal | undefined;
  let keepFifos = false;
  const tty = Boolean(o.tty);
  const interactive = Boolean(o.interactive);
  try {
    // Neither needs the other (the record only names the snapshot key): one round trip instead of two.
    const created = createBoth(
      () => client.call('snapshots', 'Prepare', { snapshotter: SNAPSHOTTER, key: id, parent: parent ?? '', labels: snapshotLabels }),
      () => client.call('snapshots', 'Remove', { snapshotter: SNAPSHOTTER, key: id }),
      () => client.call('containers', 'Create', { container }),
      () => client.call('containers', 'Delete', { id }),
    );
    // The FIFOs are made while those calls are out (a yield first lets the connection send them);
    // a failure here still waits for the calls, to undo them.
    await new Promise((resolve) => setImmediate(resolve));
    let fifoError: unknown;
    try {
      // Detached, output goes to the task's log; with -i its stdin FIFO stays for `tasks attach`.
      if (!o.detach) fifos = new FifoSet(stateDir, id, { stdin: interactive, stderr: !tty });
      else if (interactive) fifos = new FifoSet(stateDir, id, { stdin: true, output: false });
      fifos?.open();
    } catch (err) {
      fifoError = err;
    }
    undo.push(...(await created));
    if (fifoError !== undefined) throw fifoError;
    await client.call('tasks', 'Create', {
      container_id: id, stdin: fifos?.stdin ?? '', stdout: fifos?.stdout ?? '', stderr: fifos?.stderr ?? '', terminal: tty,
    });
    const drained = fifos?.copyTo(process.stdout, process.stderr);
    undo.push(() => client.call('tasks', 'Delete', { container_id: id }));
    // The initial size before start, so the first thing the container runs sees it.
    const stopResizing = tty ? await followTerminalSize(client, { containerId: id }) : undefined;
    if (o.detach) {
      await client.call('tasks', 'Start', { container_id: id });
      stopResizing?.();
      keepFifos = true;
      return 0;
    }
    // Before start: the container's first output or prompt may come before Start's answer.
    if (tty && interactive) raw = RawTerminal.enter(); // Ctrl-C now reaches the container through its terminal
    else handleInterrupts(client, { containerId: id });
    forwardSignals(client, { containerId: id });
    const waiting = client.call('tasks', 'Wait', { container_id: id }); // before start: a fast exit is not missed
    await client.call('tasks', 'Start', { container_id: id });
    if (interactive) fifos?.feedStdin(process.stdin, () => client.call('tasks', 'CloseIO', { container_id: id, exec_id: '', stdin: true }));
    const exit = await waiting;
    await drained;
    stopResizing?.();
    raw?.restore();
    undo.pop(); // the task is deleted below either way
    const { headers } = await client.callWithHeaders('tasks', 'Delete', { container_id: id });
    if (headers.get(OOM_HEADER)[0] === 'true') {
      process.stderr.write(`ctr-ts: container ${id} was killed by the kernel's OOM killer (memory limit reached)\n`);
    }
    // The container record and its snapshot go together: neither needs the other gone first.
    if (o.rm) await Promise.all(undo.map((step) => step().catch(() => {})));
    return exit.exit_status;
  } catch (err) {
    await runAll(undo.reverse());
    throw err;
  } finally {
    raw?.restore();
    fifos?.remove(keepFifos);
  }
}

/**
 * Runs two independent creations at once and returns their undo steps in
 * creation order. If either fails, what the other made is undone and the
 * first one's error is thrown, as if they had run one after the other:
 * only what this call created is ever removed (an AlreadyExists of the
 * other leaves the existing object alone).
 */
export async function createBoth(first: () => Promise<unknown>, undoFirst: () => Promise<unknown>, second: () => Promise<unknown>, undoSecond: () => Promise<unknown>): Promise<Array<() => Promise<unknown>>> {
  const [a, b] = await Promise.allSettled([first(), second()]);
  const undo: Array<() => Promise<unknown>> = [];
  if (a.status === 'fulfilled') undo.push(undoFirst);
  if (b.status === 'fulfilled') undo.push(undoSecond);
  if (a.status === 'rejected' || b.status === 'rejected') {
    await runAll(undo.reverse());
    throw a.status === 'rejected' ? a.reason : (b as PromiseRejectedResult).reason;
  }
  return undo;
}

async function runAll(steps: Array<() => Promise<unknown>>): Promise<void> {
  for (const step of steps) await step().catch(() => {});
}

function labelsFrom(list: string[] = []): Record<string, string> {
  return Object.fromEntries(list.map((kv) => (kv.includes('=') ? [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] : [kv, ''])));
}
