/**
 * Seccomp for containers `ctr-ts run` starts: a default profile in the OCI
 * `linux.seccomp` form runc hands to libseccomp, built the way docker's,
 * podman's and containerd's defaults are (an allow-list, everything else
 * fails with EPERM; syscalls that only make sense with a capability are
 * allowed only when the container has that capability), plus reading a
 * user's own profile. The real `ctr` sends its own spec and never meets this.
 */
import { readFileSync } from 'node:fs';
import { invalidArgument } from '../errors.js';

export type SeccompAction = 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO' | 'SCMP_ACT_KILL' | 'SCMP_ACT_KILL_PROCESS' | 'SCMP_ACT_KILL_THREAD' | 'SCMP_ACT_TRAP' | 'SCMP_ACT_TRACE' | 'SCMP_ACT_LOG' | 'SCMP_ACT_NOTIFY';
const ACTIONS: readonly string[] = ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_TRACE', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY'];
const OPERATORS: readonly string[] = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'];

/** One condition on a syscall argument (OCI LinuxSeccompArg). */
export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

/** One rule (OCI LinuxSyscall). */
export interface SeccompRule {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: SeccompArg[];
}

/** OCI linux.seccomp. */
export interface SeccompProfile {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  syscalls?: SeccompRule[];
}

const EPERM = 1;
const ENOSYS = 38;

/** Namespace flags of clone(2): without CAP_SYS_ADMIN a clone may not ask for any of them. */
const CLONE_NAMESPACE_FLAGS =
  0x00020000 /* NEWNS */ | 0x04000000 /* NEWUTS */ | 0x08000000 /* NEWIPC */ | 0x10000000 /* NEWUSER */ |
  0x20000000 /* NEWPID */ | 0x40000000 /* NEWNET */ | 0x02000000; /* NEWCGROUP */

/** What any process needs: files, memory, signals, time, sockets, IPC, scheduling of itself. */
const ALWAYS_ALLOWED = [
  'accept', 'accept4', 'access', 'adjtimex', 'alarm', 'bind', 'brk', 'cachestat', 'capget', 'capset', 'chdir', 'chmod', 'chown', 'chown32',
  'clock_adjtime', 'clock_adjtime64', 'clock_getres', 'clock_getres_time64', 'clock_gettime', 'clock_gettime64', 'clock_nanosleep',
  'clock_nanosleep_time64', 'close', 'close_range', 'connect', 'copy_file_range', 'creat', 'dup', 'dup2', 'dup3', 'epoll_create',
  'epoll_create1', 'epoll_ctl', 'epoll_ctl_old', 'epoll_pwait', 'epoll_pwait2', 'epoll_wait', 'epoll_wait_old', 'eventfd', 'eventfd2',
  'execve', 'execveat', 'exit', 'exit_group', 'faccessat', 'faccessat2', 'fadvise64', 'fadvise64_64', 'fallocate', 'fanotify_mark',
  'fchdir', 'fchmod', 'fchmodat', 'fchmodat2', 'fchown', 'fchown32', 'fchownat', 'fcntl', 'fcntl64', 'fdatasync', 'fgetxattr', 'flistxattr',
  'flock', 'fork', 'fremovexattr', 'fsetxattr', 'fstat', 'fstat64', 'fstatat64', 'fstatfs', 'fstatfs64', 'fsync', 'ftruncate',
  'ftruncate64', 'futex', 'futex_requeue', 'futex_time64', 'futex_wait', 'futex_waitv', 'futex_wake', 'futimesat', 'getcpu', 'getcwd',
  'getdents', 'getdents64', 'getegid', 'getegid32', 'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getgroups', 'getgroups32',
  'getitimer', 'getpeername', 'getpgid', 'getpgrp', 'getpid', 'getppid', 'getpriority', 'getrandom', 'getresgid', 'getresgid32',
  'getresuid', 'getresuid32', 'getrlimit', 'get_robust_list', 'getrusage', 'getsid', 'getsockname', 'getsockopt', 'get_thread_area',
  'gettid', 'gettimeofday', 'getuid', 'getuid32', 'getxattr', 'inotify_add_watch', 'inotify_init', 'inotify_init1',
  'inotify_rm_watch', 'io_cancel', 'ioctl', 'io_destroy', 'io_getevents', 'io_pgetevents', 'io_pgetevents_time64', 'ioprio_get',
  'ioprio_set', 'io_setup', 'io_submit', 'ipc', 'kill', 'landlock_add_rule', 'landlock_create_ruleset', 'landlock_restrict_self',
  'lchown', 'lchown32', 'lgetxattr', 'link', 'linkat', 'listen', 'listxattr', 'llistxattr', '_llseek', 'lremovexattr', 'lseek',
  'lsetxattr', 'lstat', 'lstat64', 'madvise', 'map_shadow_stack', 'membarrier', 'memfd_create', 'memfd_secret', 'mincore', 'mkdir',
  'mkdirat', 'mknod', 'mknodat', 'mlock', 'mlock2', 'mlockall', 'mmap', 'mmap2', 'mprotect', 'mq_getsetattr', 'mq_notify', 'mq_open',
  'mq_timedreceive', 'mq_timedreceive_time64', 'mq_timedsend', 'mq_timedsend_time64', 'mq_unlink', 'mremap', 'msgctl', 'msgget',
  'msgrcv', 'msgsnd', 'msync', 'munlock', 'munlockall', 'munmap', 'nanosleep', 'newfstatat', '_newselect', 'open',
  'openat', 'openat2', 'pause', 'pidfd_open', 'pidfd_send_signal', 'pipe', 'pipe2', 'pkey_alloc', 'pkey_free', 'pkey_mprotect', 'poll',
  'ppoll', 'ppoll_time64', 'prctl', 'pread64', 'preadv', 'preadv2', 'prlimit64', 'process_mrelease', 'pselect6', 'pselect6_time64',
  'pwrite64', 'pwritev', 'pwritev2', 'read', 'readahead', 'readlink', 'readlinkat', 'readv', 'recv', 'recvfrom', 'recvmmsg',
  'recvmmsg_time64', 'recvmsg', 'remap_file_pages', 'removexattr', 'rename', 'renameat', 'renameat2', 'restart_syscall', 'rmdir',
  'rseq', 'rt_sigaction', 'rt_sigpending', 'rt_sigprocmask', 'rt_sigqueueinfo', 'rt_sigreturn', 'rt_sigsuspend', 'rt_sigtimedwait',
  'rt_sigtimedwait_time64', 'rt_tgsigqueueinfo', 'sched_getaffinity', 'sched_getattr', 'sched_getparam', 'sched_get_priority_max',
  'sched_get_priority_min', 'sched_getscheduler', 'sched_rr_get_interval', 'sched_rr_get_interval_time64', 'sched_setaffinity',
  'sched_setattr', 'sched_setparam', 'sched_setscheduler', 'sched_yield', 'seccomp', 'select', 'semctl', 'semget', 'semop',
  'semtimedop', 'semtimedop_time64', 'send', 'sendfile', 'sendfile64', 'sendmmsg', 'sendmsg', 'sendto', 'setfsgid', 'setfsgid32',
  'setfsuid', 'setfsuid32', 'setgid', 'setgid32', 'setgroups', 'setgroups32', 'setitimer', 'setpgid', 'setpriority', 'setregid',
  'setregid32', 'setresgid', 'setresgid32', 'setresuid', 'setresuid32', 'setreuid', 'setreuid32', 'setrlimit', 'set_robust_list',
  'setsid', 'setsockopt', 'set_thread_area', 'set_tid_address', 'setuid', 'setuid32', 'setxattr', 'shmat', 'shmctl', 'shmdt',
  'shmget', 'shutdown', 'sigaltstack', 'signalfd', 'signalfd4', 'sigprocmask', 'sigreturn', 'socket', 'socketcall', 'socketpair',
  'splice', 'stat', 'stat64', 'statfs', 'statfs64', 'statx', 'symlink', 'symlinkat', 'sync', 'sync_file_range', 'syncfs', 'sysinfo',
  'tee', 'tgkill', 'time', 'timer_create', 'timer_delete', 'timer_getoverrun', 'timer_gettime', 'timer_gettime64', 'timer_settime',
  'timer_settime64', 'timerfd_create', 'timerfd_gettime', 'timerfd_gettime64', 'timerfd_settime', 'timerfd_settime64', 'times',
  'tkill', 'truncate', 'truncate64', 'ugetrlimit', 'umask', 'uname', 'unlink', 'unlinkat', 'utime', 'utimensat', 'utimensat_time64',
  'utimes', 'vfork', 'vmsplice', 'wait4', 'waitid', 'waitpid', 'write', 'writev',
];

/** Syscalls a capability unlocks (the kernel would check the capability too; seccomp keeps the attack surface closed without it). */
const BY_CAPABILITY: Readonly<Record<string, readonly string[]>> = {
  CAP_DAC_READ_SEARCH: ['open_by_handle_at'],
  CAP_SYS_ADMIN: [
    'bpf', 'clone', 'clone3', 'fanotify_init', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'lookup_dcookie', 'mount', 'mount_setattr', 'name_to_handle_at',
    'move_mount', 'open_tree', 'perf_event_open', 'quotactl', 'quotactl_fd', 'setdomainname', 'sethostname', 'setns', 'syslog',
    'umount', 'umount2', 'unshare',
  ],
  CAP_SYS_BOOT: ['reboot'],
  CAP_SYS_CHROOT: ['chroot'],
  CAP_SYS_MODULE: ['delete_module', 'init_module', 'finit_module'],
  CAP_SYS_PACCT: ['acct'],
  CAP_SYS_PTRACE: ['kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace'],
  CAP_SYS_RAWIO: ['iopl', 'ioperm'],
  CAP_SYS_TIME: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64'],
  CAP_SYS_TTY_CONFIG: ['vhangup'],
  CAP_SYS_NICE: ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node'],
  CAP_SYSLOG: ['syslog'],
  CAP_BPF: ['bpf'],
  CAP_PERFMON: ['perf_event_open'],
};

/**
 * Node's process.arch → the libseccomp architectures a container of that
 * machine runs (native plus the 32-bit compat ABI). Each one is a copy of the
 * filter runc compiles at every create, about 5 ms each here, so x86's x32 ABI
 * (rare, and off by default in Debian's kernels) is left out: its syscalls
 * fail like any other not listed. A profile file can add SCMP_ARCH_X32.
 */
const ARCHITECTURES: Readonly<Record<string, { arches: string[]; extra: string[] }>> = {
  x64: { arches: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'], extra: ['arch_prctl', 'modify_ldt'] },
  arm64: { arches: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'], extra: ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'] },
  ia32: { arches: ['SCMP_ARCH_X86'], extra: ['modify_ldt'] },
  arm: { arches: ['SCMP_ARCH_ARM'], extra: ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'] },
};

/**
 * The default profile for a container whose bounding set is `capabilities`,
 * on `arch` (Node's naming; default: this machine). Unknown architectures get
 * no architecture list (libseccomp then uses the native one only).
 */
export function defaultSeccompProfile(capabilities: readonly string[], arch: string = process.arch): SeccompProfile {
  const caps = new Set(capabilities);
  const platform = ARCHITECTURES[arch];
  const syscalls: SeccompRule[] = [
    { names: [...ALWAYS_ALLOWED, ...(platform?.extra ?? [])], action: 'SCMP_ACT_ALLOW' },
    // personality(2): only the harmless personas (Linux, Linux32, UNAME26 variants, and the query 0xffffffff).
    ...[0x0, 0x8, 0x20000, 0x20008, 0xffffffff].map((value): SeccompRule => ({
      names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value, valueTwo: 0, op: 'SCMP_CMP_EQ' }],
    })),
  ];
  const unlocked = new Set<string>();
  for (const [cap, names] of Object.entries(BY_CAPABILITY)) if (caps.has(cap)) names.forEach((n) => unlocked.add(n));
  if (unlocked.size > 0) syscalls.push({ names: [...unlocked].sort(), action: 'SCMP_ACT_ALLOW' });
  if (!caps.has('CAP_SYS_ADMIN')) {
    // Threads and fork still work: clone without namespace flags. Seccomp cannot look into
    // clone3's struct, so clone3 says ENOSYS and libc falls back to clone.
    const flagsArg = arch === 's390x' ? 1 : 0;
    syscalls.push({ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: flagsArg, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] });
    syscalls.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
  }
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    ...(platform ? { architectures: [...platform.arches] } : {}),
    syscalls,
  };
}

/** How a container's seccomp is chosen: our default, none, or a user's profile. */
export type SeccompChoice = { kind: 'default' } | { kind: 'unconfined' } | { kind: 'profile'; profile: SeccompProfile; source: string };

/** Parses `--seccomp-profile PATH|unconfined|default`; a file is read and checked here, at the door. */
export function parseSeccompOption(value: string, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): SeccompChoice {
  if (value === 'unconfined') return { kind: 'unconfined' };
  if (value === 'default') return { kind: 'default' };
  if (!value.startsWith('/') && !value.startsWith('.')) {
    throw invalidArgument(`--seccomp-profile "${value}": give "unconfined", "default" or the path of a profile (JSON, OCI linux.seccomp form)`);
  }
  let text: string;
  try {
    text = read(value);
  } catch (err) {
    throw invalidArgument(`--seccomp-profile: cannot read ${value}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`--seccomp-profile: ${value} is not JSON: ${(err as Error).message}`);
  }
  return { kind: 'profile', profile: validateSeccompProfile(json, value), source: value };
}

/** Checks a profile's shape so runc does not fail later with a vaguer message. */
export function validateSeccompProfile(json: unknown, source: string): SeccompProfile {
  const bad = (why: string) => invalidArgument(`seccomp profile ${source}: ${why}`);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw bad('must be a JSON object');
  const p = json as Record<string, unknown>;
  if ('archMap' in p || 'includes' in p) throw bad('docker-format profiles (archMap, includes/excludes) are not supported: give the OCI linux.seccomp form (defaultAction, architectures, syscalls)');
  if (typeof p.defaultAction !== 'string' || !ACTIONS.includes(p.defaultAction)) throw bad(`defaultAction must be one of ${ACTIONS.join(', ')}`);
  if (p.architectures !== undefined && (!Array.isArray(p.architectures) || !p.architectures.every((a) => typeof a === 'string' && a.startsWith('SCMP_ARCH_')))) {
    throw bad('architectures must be a list of SCMP_ARCH_* names');
  }
  if (p.syscalls !== undefined) {
    if (!Array.isArray(p.syscalls)) throw bad('syscalls must be a list');
    p.syscalls.forEach((r: unknown, i) => {
      const rule = r as Record<string, unknown> | null;
      if (rule === null || typeof rule !== 'object') throw bad(`syscalls[${i}] must be an object`);
      if (!Array.isArray(rule.names) || rule.names.length === 0 || !rule.names.every((n) => typeof n === 'string' && /^[a-z0-9_]+$/.test(n))) {
        throw bad(`syscalls[${i}].names must be a non-empty list of syscall names`);
      }
      if (typeof rule.action !== 'string' || !ACTIONS.includes(rule.action)) throw bad(`syscalls[${i}].action must be one of ${ACTIONS.join(', ')}`);
      if (rule.args !== undefined) {
        if (!Array.isArray(rule.args)) throw bad(`syscalls[${i}].args must be a list`);
        rule.args.forEach((a: unknown, j) => {
          const arg = a as Record<string, unknown> | null;
          if (arg === null || typeof arg !== 'object' || !Number.isInteger(arg.index) || (arg.index as number) < 0 || (arg.index as number) > 5 ||
              typeof arg.value !== 'number' || typeof arg.op !== 'string' || !OPERATORS.includes(arg.op)) {
            throw bad(`syscalls[${i}].args[${j}] needs index 0-5, a numeric value and op one of ${OPERATORS.join(', ')}`);
          }
        });
      }
    });
  }
  return p as unknown as SeccompProfile;
}
