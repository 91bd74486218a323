// The four systems compared, set up inside the box, each with its own state
// on the box's real ext4 (/var/lib/containerd-ts) and its own socket:
//   ours        containerd-ts.service + ctr-ts
//   containerd  Debian's containerd 1.6 (own config, CRI off) + ctr, runc systemd cgroups
//   podman      podman 4.3 + conmon, --cgroup-manager=systemd, runc
//   runc        bare `runc --systemd-cgroup run` of a prepared bundle (the floor)
// Every system answers the same questions (see makeSystem), so cases never
// branch on which one they are timing.
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { findPids, lastLine, must, poll, run, sh } from './proc.mjs';

export const IMAGE = 'docker.io/library/busybox:latest';
const ROOT = '/var/lib/containerd-ts';
export const PEERS_DIR = path.join(ROOT, 'bench-peers');
const CTRD_SOCK = '/run/containerd-bench/containerd.sock';
const PODMAN_RUNROOT = '/run/podman-bench';
const RUNC_ROOT = '/run/runc-bench';

const firstLine = (s) => String(s).trim().split('\n')[0];
const which = (bin) => ['/usr/local/bin', '/usr/bin', '/usr/sbin', '/bin', '/sbin'].map((d) => path.join(d, bin)).find(existsSync);

/**
 * What every system offers. Commands are argv arrays, run by the cases;
 * prepare/finish are untimed steps around a timed run-to-exit.
 */
function makeSystem(s) {
  return {
    ok: false, error: undefined, version: '', live: new Set(),
    prepare: async () => {}, finish: async () => {},
    daemonPid: async () => null,
    ...s,
  };
}

/** Whether the container id given after flag in cmd is one of ids (any cmd when ids is not given). */
const ofIds = (cmd, flag, ids) => !ids || ids.has(new RegExp(`(?:^| )${flag} (\\S+)`).exec(cmd)?.[1]);

/** A process's working directory ('' if gone). */
function shimCwd(pid) {
  try { return readlinkSync(`/proc/${pid}/cwd`).replace(/ \(deleted\)$/, ''); } catch { return ''; }
}

/** Our shim's command line: as started (node .../dist/containerd-ts-shim.cjs), or the title it takes once it serves (containerd-ts-shim ns/id). */
const isOurShim = (cmd) => cmd.includes('containerd-ts-shim') || cmd.includes('/dist/src/shim/main.js');

/** The container id a shim serves, from its working directory (its bundle), or '' for a standby or group shim. */
function shimContainer(pid) {
  return /\/tasks\/[^/]+\/([^/ ]+)$/.exec(shimCwd(pid))?.[1] ?? '';
}

/** Our shims serving containers (of `ids` when given): a shim works in its bundle, a standby in /. */
const ourShimPids = (ids) => findPids((cmd, pid) => isOurShim(cmd) && shimContainer(pid) !== '' && ofIds(`--id ${shimContainer(pid)}`, '--id', ids));

/** Main pid of a systemd unit, or null. */
async function unitPid(unit) {
  const r = await run(['systemctl', 'show', '-p', 'MainPID', '--value', unit]);
  const pid = Number(r.stdout.trim());
  return pid > 0 ? pid : null;
}

/**
 * Where stores emptied between pulls go until the pull case ends. Deleting
 * tens of thousands of files right before a timed pull slowed that pull 3-5
 * times here: ext4 (no journal on these machines) then scans the freed inodes
 * when the next files are created. A rename frees nothing.
 */
export const TRASH_DIR = path.join(PEERS_DIR, 'trash');
let trashed = 0;

/** Moves `dir` (nothing mounted below it) into TRASH_DIR; removeTree(TRASH_DIR) deletes it later, untimed. */
export function moveAside(dir) {
  if (!existsSync(dir)) return;
  mkdirSync(TRASH_DIR, { recursive: true });
  renameSync(dir, path.join(TRASH_DIR, `${trashed++}-${path.basename(dir)}`));
}

/** Unmounts everything mounted below dir (deepest first), then removes dir. */
export async function removeTree(dir) {
  await run(['bash', '-c', `grep -o " ${dir}[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l`]);
  rmSync(dir, { recursive: true, force: true });
}

/** Deletes ids in parallel, a few at a time. */
async function eachLimited(items, limit, fn) {
  const queue = [...items];
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, async () => {
    while (queue.length) await fn(queue.shift());
  }));
}

// ------------------------------------------------------------------ ours
export function ours({ project, archive }) {
  const ctr = (...a) => ['ctr-ts', ...a];
  const taskStates = async () => {
    const r = await run(ctr('tasks', 'ls'));
    if (r.code !== 0) return null;
    return new Map(r.stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)).map(([id, , st]) => [id, st]));
  };
  return makeSystem({
    key: 'ours', label: 'containerd-ts',
    async setup() {
      await must(['bash', path.join(project, 'scripts/install.sh')]);
      await must(['systemctl', 'start', 'containerd-ts']);
      await must(ctr('images', 'import', archive));
      const v = await must(ctr('version'));
      this.version = `containerd-ts ${/Version:\s+(\S+)/.exec(v.split('Server:')[1] ?? '')?.[1] ?? '?'}`;
    },
    runRm: (id) => ctr('run', '--rm', IMAGE, id, 'true'),
    runDetached: (id) => ctr('run', '-d', IMAGE, id, 'sleep', '3600'),
    /** Containers that share one shim (containerd's grouping label). */
    runDetachedGrouped: (id) => ctr('run', '-d', '--label', 'io.containerd.runc.v2.group=bench', IMAGE, id, 'sleep', '3600'),
    groupShimPids: () => findPids((cmd, pid) => isOurShim(cmd) && shimCwd(pid).endsWith('/groups/default/bench')),
    cliStartup: () => ctr('version'),
    async running() { const m = await taskStates(); return m ? [...m.values()].filter((s) => s === 'RUNNING').length : -1; },
    async listed() { const m = await taskStates(); return m ? m.size : -1; },
    supervisorPids: ourShimPids,
    daemonPid: () => unitPid('containerd-ts.service'),
    async restart() { await must(['systemctl', 'restart', 'containerd-ts']); },
    /** An empty store: the daemon stopped, its root emptied (moved aside, but for the peers' dirs), started again. */
    async freshStore() {
      await must(['systemctl', 'stop', 'containerd-ts']);
      for (const name of readdirSync(ROOT)) if (name !== path.basename(PEERS_DIR)) moveAside(path.join(ROOT, name));
      await must(['systemctl', 'start', 'containerd-ts']);
    },
    pullArgv: (ref) => ctr('images', 'pull', '--plain-http', ref),
    async canPull() { return (await run(ctr('images', 'pull', '--help'))).code === 0; },
    leaks: {},
    /** After a run --rm (untimed): what it left behind (task, container, shim) is counted and removed. */
    async finish(id) {
      const listed = async (what) => (await run(ctr(what, 'ls'))).stdout.split('\n').some((l) => l.split(/\s+/)[0] === id);
      // Its shim is gone, or recycled (then it works in / again, waiting for the next container).
      const shims = () => ourShimPids(new Set([id]));
      const left = [(await listed('tasks')) && 'task', (await listed('containers')) && 'container', shims().length > 0 && 'shim'].filter(Boolean);
      for (const what of left) this.leaks[what] = (this.leaks[what] ?? 0) + 1;
      if (!left.length) return;
      await run(ctr('tasks', 'rm', id));
      await run(ctr('containers', 'rm', id));
      if (await poll(async () => shims().length === 0, { timeoutMs: 2000 })) return;
      for (const pid of shims()) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    },
    /** Kill, wait for STOPPED, delete tasks, force out what the daemon lost, delete containers. */
    async removeAll() {
      const ids = [...this.live];
      await eachLimited(ids, 8, (id) => run(ctr('tasks', 'kill', '-s', 'KILL', id)));
      await poll(async () => { const m = await taskStates(); return m && ids.every((id) => !m.has(id) || m.get(id) === 'STOPPED'); }, { timeoutMs: 20_000 });
      for (let i = 0; i < ids.length; i += 25) await run(ctr('tasks', 'rm', ...ids.slice(i, i + 25)));
      await this.forceClean();
      for (let i = 0; i < ids.length; i += 25) await run(ctr('containers', 'rm', ...ids.slice(i, i + 25)));
      this.live.clear();
    },
    /** Containers the daemon no longer knows (after a restart it did not recover from): scopes, shims, runc state, rootfs mounts. */
    async forceClean() {
      const scopes = (await run(['bash', '-c', 'systemctl list-units --all --plain --no-legend "containerd-o*.scope" | cut -d" " -f1'])).stdout.split('\n').filter(Boolean);
      if (scopes.length) { await run(['systemctl', 'kill', '-s', 'KILL', ...scopes]); await run(['systemctl', 'stop', ...scopes]); await run(['systemctl', 'reset-failed', ...scopes]); }
      for (const pid of this.supervisorPids()) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      const runcRoot = '/run/containerd-ts/runc/default';
      const lost = (await run(['runc', '--root', runcRoot, 'list', '-q'])).stdout.split('\n').filter(Boolean);
      for (const id of lost) await run(['runc', '--root', runcRoot, 'delete', '-f', id]);
      await run(['bash', '-c', 'grep -o " /run/containerd-ts/tasks/[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l']);
    },
    async teardown() {
      const known = (await run(ctr('containers', 'ls'))).stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[0]).filter(Boolean);
      known.forEach((id) => this.live.add(id));
      await this.removeAll();
      await run(ctr('images', 'rm', IMAGE));
      await run(['systemctl', 'stop', 'containerd-ts']);
      await run(['systemctl', 'reset-failed', 'containerd-ts']);
      await this.forceClean();
    },
  });
}

/**
 * Our daemon driven by containerd's own Go client (`ctr run --rm`): the same
 * daemon work without the Node CLI's start-up, so the two costs separate.
 * Shares the daemon set up by ours(); only used for run-to-exit. finish()
 * counts and removes what a run left behind, as for ours().
 */
export function oursViaCtr(base) {
  const sock = '/run/containerd-ts/containerd-ts.sock';
  const sys = makeSystem({
    key: 'ours-ctr', label: 'ctr → containerd-ts (Go client, our daemon)', leaks: {},
    setup: async () => {},
    runRm: (id) => ['ctr', '--address', sock, 'run', '--rm', '--runc-systemd-cgroup', '--cgroup', `system.slice:containerd:${id}`, IMAGE, id, 'true'],
    finish(id) { return base.finish.call(this, id); },
    teardown: async () => {},
  });
  Object.defineProperties(sys, { ok: { get: () => base.ok && !!which('ctr') }, error: { get: () => base.error ?? 'ctr not installed' } });
  return sys;
}

/**
 * `ctr-ts run --rm --seccomp-profile unconfined`: like for like with ctr and
 * bare runc, which give the container no seccomp filter (runc compiles ours
 * at every create). Shares the daemon set up by ours(); run-to-exit only.
 */
export function oursUnconfined(base) {
  const sys = makeSystem({
    key: 'ours-unconfined', label: 'containerd-ts, no seccomp filter', leaks: {},
    setup: async () => {},
    runRm: (id) => ['ctr-ts', 'run', '--rm', '--seccomp-profile', 'unconfined', IMAGE, id, 'true'],
    finish(id) { return base.finish.call(this, id); },
    teardown: async () => {},
  });
  Object.defineProperties(sys, { ok: { get: () => base.ok }, error: { get: () => base.error } });
  return sys;
}

// ------------------------------------------------------------ containerd
export function containerd({ archive }) {
  const dir = path.join(PEERS_DIR, 'containerd');
  const ctr = (...a) => ['ctr', '--address', CTRD_SOCK, ...a];
  const cg = (id) => ['--runc-systemd-cgroup', '--cgroup', `system.slice:containerd-bench:${id}`];
  const tasks = async () => {
    const r = await run(ctr('tasks', 'ls'));
    if (r.code !== 0) return null;
    return new Map(r.stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)).filter((a) => a[0]).map(([id, , st]) => [id, st]));
  };
  const start = () => must(['systemd-run', '--quiet', '--unit=containerd-bench', '-p', 'Type=notify', '-p', 'Delegate=yes', '-p', 'KillMode=process',
    '/usr/bin/containerd', '--config', path.join(dir, 'config.toml')]);
  return makeSystem({
    key: 'containerd', label: 'containerd 1.6 + ctr',
    async setup() {
      if (!which('containerd') || !which('ctr') || !which('containerd-shim-runc-v2')) throw new Error('not installed (apt-get install containerd)');
      mkdirSync(path.join(dir, 'root'), { recursive: true });
      writeFileSync(path.join(dir, 'config.toml'), [
        'version = 2',
        `root = "${dir}/root"`,
        'state = "/run/containerd-bench/state"',
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        `[grpc]\n  address = "${CTRD_SOCK}"`,
        `[ttrpc]\n  address = "${CTRD_SOCK}.ttrpc"`,
        '[debug]\n  address = ""',
        '',
      ].join('\n'));
      await start();
      await must(ctr('images', 'import', archive));
      this.version = `containerd ${firstLine(await must(['containerd', '--version'])).split(' ')[2]}`;
    },
    runRm: (id) => ctr('run', '--rm', ...cg(id), IMAGE, id, 'true'),
    runDetached: (id) => ctr('run', '-d', ...cg(id), IMAGE, id, 'sleep', '3600'),
    cliStartup: () => ctr('version'),
    async running() { const m = await tasks(); return m ? [...m.values()].filter((s) => s === 'RUNNING').length : -1; },
    async listed() { const m = await tasks(); return m ? m.size : -1; },
    supervisorPids: (ids) => findPids((cmd) => cmd.includes('containerd-shim-runc-v2') && cmd.includes(CTRD_SOCK) && ofIds(cmd, '-id', ids)),
    daemonPid: () => unitPid('containerd-bench.service'),
    async restart() { await must(['systemctl', 'restart', 'containerd-bench']); },
    /** An empty store: containerd stopped, its root moved aside, started again. */
    async freshStore() {
      await must(['systemctl', 'stop', 'containerd-bench']);
      await run(['systemctl', 'reset-failed', 'containerd-bench']);
      moveAside(path.join(dir, 'root'));
      mkdirSync(path.join(dir, 'root'));
      await start();
    },
    pullArgv: (ref) => ctr('images', 'pull', '--plain-http', ref),
    canPull: async () => true,
    async removeAll() {
      await eachLimited([...this.live], 8, async (id) => {
        await run(ctr('tasks', 'rm', '-f', id));
        await run(ctr('containers', 'rm', id));
      });
      this.live.clear();
    },
    async teardown() {
      if (existsSync(CTRD_SOCK)) {
        const left = (await run(ctr('containers', 'ls', '-q'))).stdout.split('\n').filter(Boolean);
        left.forEach((id) => this.live.add(id));
        await this.removeAll();
        await run(ctr('images', 'rm', IMAGE));
      }
      await run(['systemctl', 'stop', 'containerd-bench']);
      await run(['systemctl', 'reset-failed', 'containerd-bench']);
      for (const pid of this.supervisorPids()) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      await removeTree('/run/containerd-bench');
      await removeTree(dir);
    },
  });
}

// ---------------------------------------------------------------- podman
export function podman({ archive }) {
  const dir = path.join(PEERS_DIR, 'podman');
  const pod = (...a) => ['podman', '--root', path.join(dir, 'root'), '--runroot', PODMAN_RUNROOT, '--tmpdir', `${PODMAN_RUNROOT}/tmp`,
    '--volumepath', path.join(dir, 'volumes'), '--cgroup-manager=systemd', '--runtime', which('runc') ?? 'runc',
    '--storage-driver', 'overlay', '--events-backend', 'none', ...a];
  return makeSystem({
    key: 'podman', label: 'podman 4.3 + conmon',
    async setup() {
      if (!which('podman') || !which('conmon')) throw new Error('not installed (apt-get install podman conmon)');
      mkdirSync(path.join(dir, 'root'), { recursive: true });
      await must(pod('load', '-q', '-i', archive));
      this.version = `podman ${firstLine(await must(['podman', '--version'])).split(' ').at(-1)}, ${firstLine(await must(['conmon', '--version']))}`;
    },
    runRm: (id) => pod('run', '--rm', '--network', 'none', '--name', id, IMAGE, 'true'),
    runDetached: (id) => pod('run', '-d', '--network', 'none', '--name', id, IMAGE, 'sleep', '3600'),
    cliStartup: () => pod('version'),
    async running() {
      const r = await run(pod('ps', '-q', '--filter', 'status=running'));
      return r.code === 0 ? r.stdout.split('\n').filter(Boolean).length : -1;
    },
    supervisorPids: (ids) => findPids((cmd) => /^\S*conmon /.test(cmd) && cmd.includes(PODMAN_RUNROOT) && ofIds(cmd, '-n', ids)),
    async removeAll() {
      const ids = [...this.live];
      for (let i = 0; i < ids.length; i += 25) await run(pod('rm', '-f', '-t', '0', ...ids.slice(i, i + 25)), { timeoutMs: 300_000 });
      this.live.clear();
    },
    async teardown() {
      if (existsSync(path.join(dir, 'root'))) {
        await run(pod('rm', '-a', '-f', '-t', '0'), { timeoutMs: 300_000 });
        await run(pod('system', 'reset', '-f'), { timeoutMs: 300_000 });
      }
      for (const pid of this.supervisorPids()) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      await removeTree(PODMAN_RUNROOT);
      await removeTree(dir);
    },
  });
}

// ------------------------------------------------------------------ runc
export function runc({ layout }) {
  const dir = path.join(PEERS_DIR, 'runc');
  const rootfs = path.join(dir, 'rootfs');
  const bundle = (id) => path.join(dir, 'bundles', id);
  const r = (...a) => ['runc', '--root', RUNC_ROOT, '--systemd-cgroup', ...a];
  let template;
  const writeBundle = (id, args) => {
    const spec = structuredClone(template);
    Object.assign(spec.process, { terminal: false, args });
    spec.root = { path: rootfs, readonly: true };
    spec.hostname = id;
    spec.linux.cgroupsPath = `system.slice:runc-bench:${id}`;
    mkdirSync(bundle(id), { recursive: true });
    writeFileSync(path.join(bundle(id), 'config.json'), JSON.stringify(spec));
  };
  return makeSystem({
    key: 'runc', label: 'bare runc (floor)',
    async setup() {
      if (!which('runc')) throw new Error('not installed (apt-get install runc)');
      mkdirSync(rootfs, { recursive: true });
      // The image's layers, in order, into one rootfs (busybox has no whiteouts).
      const blob = (d) => path.join(layout, 'blobs', d.replace(':', '/'));
      const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8'));
      const manifest = JSON.parse(readFileSync(blob(index.manifests[0].digest), 'utf8'));
      for (const layer of manifest.layers) await must(['tar', '-xzf', blob(layer.digest), '-C', rootfs]);
      await must(['runc', 'spec', '--bundle', dir]);
      template = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
      this.version = `runc ${firstLine(await must(['runc', '--version'])).split(' ').at(-1)}`;
    },
    prepare: async (id) => writeBundle(id, ['true']),
    finish: async (id) => rmSync(bundle(id), { recursive: true, force: true }),
    runRm: (id) => r('run', '-b', bundle(id), id),
    prepareDetached: async (id) => writeBundle(id, ['sleep', '3600']),
    runDetached: (id) => r('run', '-d', '-b', bundle(id), id),
    async running() {
      const out = await run(r('list', '-f', 'json'));
      return out.code === 0 ? (JSON.parse(out.stdout || 'null') ?? []).filter((c) => c.status === 'running').length : -1;
    },
    supervisorPids: () => [],
    async removeAll() {
      await eachLimited([...this.live], 8, async (id) => {
        await run(r('delete', '-f', id));
        rmSync(bundle(id), { recursive: true, force: true });
      });
      this.live.clear();
    },
    async teardown() {
      const out = await run(r('list', '-q'));
      out.stdout.split('\n').filter(Boolean).forEach((id) => this.live.add(id));
      await this.removeAll();
      await removeTree(RUNC_ROOT);
      await removeTree(dir);
    },
  });
}

/** Sets every system up; one that fails is marked and the others go on. */
export async function setupAll(systems, log) {
  for (const s of systems) {
    try {
      await s.setup();
      s.ok = true;
      log(`  ${s.label}: ready (${s.version})`);
    } catch (err) {
      s.error = lastLine(err.message ?? err);
      log(`  ${s.label}: UNAVAILABLE: ${s.error}`);
    }
  }
}

export async function teardownAll(systems, log) {
  for (const s of [...systems].reverse()) {
    try { await s.teardown(); } catch (err) { log(`  teardown ${s.label}: ${err.message}`); }
  }
  await removeTree(PEERS_DIR);
}

export { sh };
