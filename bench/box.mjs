// The host side: Debian packages the suite needs, the build, the systemd box
// (scripts/systemd-box.sh) the systems run in, and the facts about the host.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Debian packages the suite uses; the project's setup.sh installs the rest. */
export const PACKAGES = ['runc', 'containerd', 'podman', 'conmon', 'busybox-static', 'tar', 'gzip', 'curl', 'skopeo', 'docker-registry'];

const log = (msg) => process.stderr.write(`bench: ${msg}\n`);

/** Installs whatever of PACKAGES is missing; a failure only means that peer will be reported unavailable. */
export function ensurePackages() {
  const missing = PACKAGES.filter((p) => !/ok installed/.test(spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' }).stdout ?? ''));
  if (!missing.length) return;
  log(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const opts = { stdio: ['ignore', 'ignore', 'inherit'], env };
  if (spawnSync('apt-get', ['update', '-qq'], opts).status !== 0
    || spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], opts).status !== 0) {
    log('apt-get failed: the systems whose packages are missing will be reported as unavailable');
  }
}

/** Runs a command with the console attached; rejects on a non-zero exit. */
export function sh(cmd, args, { cwd, env, quiet = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: env ?? process.env, stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}`))));
  });
}

export class Box {
  constructor(project, name, share) {
    Object.assign(this, { project, name, share, script: path.join(project, 'scripts/systemd-box.sh'), up: false, child: null });
  }

  async boot() {
    await sh('bash', [this.script, 'up', this.name], { env: { ...process.env, BOX_SHARE: this.share }, quiet: true });
    this.up = true;
  }

  /** Runs argv inside the box with the console attached; resolves its exit code. */
  exec(argv) {
    return new Promise((resolve) => {
      this.child = spawn('bash', [this.script, 'exec', this.name, ...argv], { cwd: this.project, stdio: ['ignore', 'inherit', 'inherit'] });
      this.child.on('error', () => resolve(1));
      this.child.on('close', (code) => { this.child = null; resolve(code ?? 1); });
    });
  }

  /** Asks what runs inside to stop (it tears its systems down itself). */
  interrupt() { this.child?.kill('SIGTERM'); }

  /** Halts the box and removes every trace of it (synchronous: also used on a second Ctrl-C). */
  down() {
    if (!this.up) return;
    this.up = false;
    const r = spawnSync('bash', [this.script, 'down', this.name], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) log(`box ${this.name}: 'down' exited ${r.status}; check /var/tmp/containerd-ts-box/${this.name}`);
  }
}

const read = (p) => { try { return readFileSync(p, 'utf8'); } catch { return ''; } };
const git = (project, ...a) => { try { return execFileSync('git', ['-C', project, ...a], { encoding: 'utf8' }).trim(); } catch { return ''; } };

/** What a reader needs to know about the machine the figures come from. */
export function hostFacts(project) {
  const cpus = os.cpus();
  const mounts = read('/proc/self/mounts');
  const cgroupLayout = read('/sys/fs/cgroup/cgroup.controllers') !== '' ? 'cgroup v2 (unified)'
    : / \/sys\/fs\/cgroup\/unified cgroup2 /.test(mounts) ? 'hybrid: cgroup v1 controllers + cgroup2 at /sys/fs/cgroup/unified' : 'cgroup v1';
  const dirty = git(project, 'status', '--porcelain', '--untracked-files=no') !== '';
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? '?',
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: os.release(),
    distro: /PRETTY_NAME="([^"]+)"/.exec(read('/etc/os-release'))?.[1] ?? os.type(),
    pid1: read('/proc/1/comm').trim(),
    cgroupLayout,
    commit: `\`${git(project, 'rev-parse', '--short', 'HEAD') || 'unknown'}\`${dirty ? ' with uncommitted changes in the working tree' : ''}`,
    sharedNote: 'The machine was not reserved for the benchmark: other processes (e.g. test runs) may have shared its CPUs, which widens the min–max spread more than it moves the medians.',
  };
}
