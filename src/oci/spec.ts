import type { ImageConfig } from './image-types.js';
import type { ResourceLimits } from './limits.js';
import type { RuntimeSpec } from './spec-types.js';

/** A composable change to a runtime spec, like containerd's oci.SpecOpts. */
export type SpecOpt = (spec: RuntimeSpec) => void;

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** containerd's default capability set (oci/spec.go defaultUnixCaps). */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** The default Linux spec: the same namespaces, mounts, masks and rlimits containerd uses. */
export function defaultSpec(): RuntimeSpec {
  return {
    ociVersion: '1.0.2-dev',
    root: { path: 'rootfs', readonly: false },
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [],
      env: [DEFAULT_PATH],
      cwd: '/',
      capabilities: {
        bounding: [...DEFAULT_CAPABILITIES],
        effective: [...DEFAULT_CAPABILITIES],
        permitted: [...DEFAULT_CAPABILITIES],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }],
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      maskedPaths: [
        '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
        '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/** Builds a spec from the default plus options, in order. */
export function generateSpec(...opts: SpecOpt[]): RuntimeSpec {
  const spec = defaultSpec();
  for (const opt of opts) opt(spec);
  return spec;
}

/** Applies the image's Entrypoint/Cmd/Env/WorkingDir; `args` replaces Cmd like `ctr run IMAGE ID CMD...`. */
export function withImageConfig(config: ImageConfig['config'] | undefined, args: string[] = []): SpecOpt {
  return (spec) => {
    const entrypoint = config?.Entrypoint ?? [];
    const cmd = args.length > 0 ? args : (config?.Cmd ?? []);
    spec.process.args = [...entrypoint, ...cmd];
    spec.process.env = mergeEnv(spec.process.env, config?.Env ?? []);
    if (config?.WorkingDir) spec.process.cwd = config.WorkingDir;
  };
}

/** Sets uid/gid resolved elsewhere (see user.ts) on the process. */
export function withUser(uid: number, gid: number, additionalGids: number[] = []): SpecOpt {
  return (spec) => {
    spec.process.user = { uid, gid, ...(additionalGids.length ? { additionalGids } : {}) };
  };
}

/** Adds environment variables; later values override earlier ones by name. */
export function withEnv(env: string[]): SpecOpt {
  return (spec) => {
    spec.process.env = mergeEnv(spec.process.env, env);
  };
}

export function withHostname(hostname: string): SpecOpt {
  return (spec) => {
    spec.hostname = hostname;
  };
}

/** Sets linux.resources from validated limits (what `--memory`, `--cpus`, `--pids` ask for). */
export function withLimits(limits: ResourceLimits): SpecOpt {
  return (spec) => {
    const resources = (spec.linux.resources ??= {});
    if (limits.memoryBytes !== undefined) resources.memory = { limit: limits.memoryBytes };
    if (limits.cpuQuotaUs !== undefined) resources.cpu = { quota: limits.cpuQuotaUs, period: limits.cpuPeriodUs ?? 100_000 };
    if (limits.pids !== undefined) resources.pids = { limit: limits.pids };
  };
}

/**
 * Puts the container in `<slice>:containerd:<id>` so runc's systemd driver
 * creates containerd-<id>.scope. MemoryMax is also passed as a unit
 * property annotation: on cgroup v1 runc sets only MemoryLimit=, and
 * `systemctl show -p MemoryMax` should tell the truth on both layouts
 * (systemd applies MemoryMax as the v1 limit when MemoryLimit is unset).
 */
export function withSystemdScope(slice: string, id: string): SpecOpt {
  return (spec) => {
    spec.linux.cgroupsPath ||= `${slice}:containerd:${id}`;
    const memory = spec.linux.resources?.memory?.limit;
    if (memory !== undefined && memory > 0) {
      spec.annotations = { ...spec.annotations, 'org.systemd.property.MemoryMax': `uint64 ${memory}` };
    }
  };
}

/** Reads the limits back out of a spec (for specs that arrive over gRPC, e.g. from `ctr`). */
export function limitsFromSpec(spec: RuntimeSpec): ResourceLimits {
  const r = spec.linux?.resources;
  const out: ResourceLimits = {};
  if (r?.memory?.limit !== undefined && r.memory.limit > 0) out.memoryBytes = r.memory.limit;
  if (r?.cpu?.quota !== undefined && r.cpu.quota > 0) {
    out.cpuQuotaUs = r.cpu.quota;
    out.cpuPeriodUs = r.cpu.period ?? 100_000;
  }
  if (r?.pids?.limit !== undefined && r.pids.limit > 0) out.pids = r.pids.limit;
  return out;
}

/** Merges KEY=VALUE lists, later entries winning, order of first appearance kept. */
export function mergeEnv(base: string[], extra: string[]): string[] {
  const byKey = new Map<string, string>();
  for (const kv of [...base, ...extra]) {
    const key = kv.includes('=') ? kv.slice(0, kv.indexOf('=')) : kv;
    byKey.set(key, kv);
  }
  return [...byKey.values()];
}
