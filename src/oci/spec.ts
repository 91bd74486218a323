import { readFileSync } from 'node:fs';
import { invalidArgument } from '../errors.js';
import type { ImageConfig } from './image-types.js';
import type { ResourceLimits } from './limits.js';
import type { RuntimeSpec } from './spec-types.js';
import { defaultSeccompProfile, type SeccompChoice, type SeccompProfile } from './seccomp.js';

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
      seccomp: markDefault(defaultSeccompProfile(DEFAULT_CAPABILITIES)),
    },
  };
}

/** Default profiles are rebuilt for the final capabilities once every option is applied (see generateSpec). */
const defaultProfiles = new WeakSet<SeccompProfile>();
function markDefault(p: SeccompProfile): SeccompProfile {
  defaultProfiles.add(p);
  return p;
}

/** Builds a spec from the default plus options, in order. */
export function generateSpec(...opts: SpecOpt[]): RuntimeSpec {
  const spec = defaultSpec();
  for (const opt of opts) opt(spec);
  // Capability-conditional syscalls follow the capabilities the options left (--cap-add SYS_ADMIN allows mount, ...).
  if (spec.linux.seccomp && defaultProfiles.has(spec.linux.seccomp)) {
    spec.linux.seccomp = defaultSeccompProfile(spec.process.capabilities?.bounding ?? []);
  }
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

/** A terminal for the process (runc then sends its pty master to the shim); TERM=xterm unless set, as ctr does. */
export function withTerminal(): SpecOpt {
  return (spec) => {
    spec.process.terminal = true;
    if (!spec.process.env.some((kv) => kv.startsWith('TERM='))) spec.process.env = [...spec.process.env, 'TERM=xterm'];
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

/** Working directory of the process. */
export function withCwd(cwd: string): SpecOpt {
  return (spec) => {
    if (!cwd.startsWith('/')) throw invalidArgument(`working directory "${cwd}" must be absolute`);
    spec.process.cwd = cwd;
  };
}

/** --net host: share the host's network namespace (drop the new one). */
export function withHostNetwork(): SpecOpt {
  return (spec) => {
    spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== 'network');
    // The host's resolver config is what a host-network container needs.
    spec.mounts.push({ destination: '/etc/resolv.conf', type: 'bind', source: '/etc/resolv.conf', options: ['rbind', 'ro'] });
  };
}

/** --read-only: the rootfs is mounted read-only. */
export function withReadonlyRootfs(): SpecOpt {
  return (spec) => {
    spec.root.readonly = true;
  };
}

/** --cap-add / --cap-drop, with or without the CAP_ prefix, "ALL" allowed. */
export function withCapabilities(add: string[], drop: string[]): SpecOpt {
  return (spec) => {
    const norm = (c: string) => {
      const up = c.toUpperCase();
      const name = up.startsWith('CAP_') ? up : `CAP_${up}`;
      if (!/^CAP_[A-Z_]+$/.test(name)) throw invalidArgument(`invalid capability "${c}"`);
      return name;
    };
    const caps = spec.process.capabilities!;
    let set = new Set(caps.bounding);
    if (drop.some((d) => d.toUpperCase() === 'ALL')) set = new Set();
    else for (const d of drop) set.delete(norm(d));
    for (const a of add) {
      if (a.toUpperCase() === 'ALL') currentCapabilities().forEach((c) => set.add(c));
      else set.add(norm(a));
    }
    const list = [...set];
    spec.process.capabilities = { bounding: list, effective: [...list], permitted: [...list] };
  };
}

/**
 * The capabilities this process may pass on: its bounding set (containerd's
 * WithAllCurrentCapabilities). Asking runc for more fails with EPERM, and a
 * sandbox may withhold some (this machine lacks CAP_SYS_RESOURCE).
 */
export function currentCapabilities(status: string = readFileSync('/proc/self/status', 'utf8')): string[] {
  const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (!hex) return [...ALL_CAPABILITIES];
  const mask = BigInt(`0x${hex}`);
  return ALL_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/** --privileged: every capability we hold, every device, no masked or read-only paths (like containerd's WithPrivileged). */
export function withPrivileged(): SpecOpt {
  return (spec) => {
    withCapabilities(['ALL'], [])(spec);
    spec.linux.maskedPaths = [];
    spec.linux.readonlyPaths = [];
    spec.linux.resources = { ...spec.linux.resources, devices: [{ allow: true, access: 'rwm' }] };
    spec.mounts = spec.mounts.map((m) => (m.destination === '/sys' ? { ...m, options: (m.options ?? []).filter((o) => o !== 'ro') } : m));
    delete spec.linux.seccomp; // like docker and podman: privileged means unconfined
  };
}

/** --seccomp-profile: our default (for the final capabilities), none, or the user's profile. */
export function withSeccomp(choice: SeccompChoice): SpecOpt {
  return (spec) => {
    if (choice.kind === 'unconfined') delete spec.linux.seccomp;
    else if (choice.kind === 'default') spec.linux.seccomp = markDefault(defaultSeccompProfile(spec.process.capabilities?.bounding ?? []));
    else spec.linux.seccomp = choice.profile;
  };
}

/** --mount type=bind,src=/host,dst=/ctr[,options=rbind:ro] (ctr's syntax). */
export function withMount(text: string): SpecOpt {
  return (spec) => {
    const fields = Object.fromEntries(text.split(',').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const type = fields.type ?? 'bind';
    const source = fields.src ?? fields.source;
    const destination = fields.dst ?? fields.destination ?? fields.target;
    if (!destination?.startsWith('/')) throw invalidArgument(`--mount "${text}": dst must be an absolute path`);
    if (type === 'bind' && !source?.startsWith('/')) throw invalidArgument(`--mount "${text}": src must be an absolute host path`);
    const options = fields.options ? fields.options.split(':') : type === 'bind' ? ['rbind', 'rw'] : [];
    spec.mounts.push({ destination, type, source: source ?? type, options });
  };
}

/** --cpu-shares, --cpuset-cpus, --memory-swap: the limits beyond the three systemd checks. */
export function withExtraResources(r: { cpuShares?: number; cpusetCpus?: string; memorySwapBytes?: number }): SpecOpt {
  return (spec) => {
    const res = (spec.linux.resources ??= {});
    if (r.cpuShares !== undefined) res.cpu = { ...res.cpu, shares: r.cpuShares };
    if (r.cpusetCpus !== undefined) res.cpu = { ...res.cpu, cpus: r.cpusetCpus };
    if (r.memorySwapBytes !== undefined) res.memory = { ...res.memory, swap: r.memorySwapBytes };
  };
}

/** Every capability Linux 6.x knows (for --privileged and --cap-add ALL). */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW',
  'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD',
  'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];
