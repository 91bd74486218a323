// Runs inside the benchmark's systemd box (started by bench/run.mjs):
// sets the four systems up, runs the cases, writes SHARE/results.json after
// every case (so an interrupted run still reports what it finished), and
// tears every system down again, also on SIGINT/SIGTERM.
//   node bench/inner.mjs --share DIR --project DIR [--quick] [--cases a,b]
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as cases from './cases.mjs';
import { containerd, ours, oursUnconfined, oursViaCtr, podman, runc, setupAll, teardownAll } from './peers.mjs';
import { run } from './proc.mjs';

const { values: args } = parseArgs({
  options: {
    share: { type: 'string' }, project: { type: 'string' }, quick: { type: 'boolean', default: false },
    cases: { type: 'string', default: 'cli,run-to-exit,memory,fifty,restart,pull' },
  },
});
const log = (msg) => process.stderr.write(`${msg}\n`);
const quick = args.quick;
const cfg = {
  log,
  runs: quick ? 5 : 22, warmup: quick ? 1 : 3, minRuns: quick ? 5 : 20,
  fifty: 50, fiftyRounds: quick ? 1 : 5, fiftyMinRuns: quick ? 1 : 3,
  memoryLevels: quick ? [1, 10] : [1, 10, 50], settleMs: 3000,
  restartN: quick ? 10 : 50, restartRounds: quick ? 1 : 3, restartMinRuns: quick ? 1 : 3, restartTimeoutMs: quick ? 15_000 : 30_000,
  // about 510 MB of gzip, 57k files in full mode; a tenth of that in quick mode
  pullImage: { layers: 3, filesPerLayer: quick ? 2000 : 19_000, fileSize: 12_000 }, pullRounds: quick ? 1 : 5, pullMinRuns: quick ? 1 : 3,
  quick,
};

const fixtures = path.join(args.project, 'test/fixtures/out');
const where = { project: args.project, archive: path.join(fixtures, 'busybox.oci.tar'), layout: path.join(fixtures, 'busybox-layout') };
const systems = [ours(where), containerd(where), podman(where), runc(where)];
const resultsFile = path.join(args.share, 'results.json');
const results = { meta: { quick, config: { ...cfg, log: undefined }, startedAt: new Date().toISOString() }, systems: [], cases: [] };
const save = () => writeFileSync(resultsFile, JSON.stringify(results, null, 1));

const firstLine = async (argv) => (await run(argv)).stdout.trim().split('\n')[0] ?? '';

/** What the box looks like from inside: systemd, cgroups, load. */
async function boxFacts() {
  const cg = (p) => { try { return readFileSync(p, 'utf8'); } catch { return ''; } };
  const layout = cg('/sys/fs/cgroup/cgroup.controllers') ? 'cgroup v2 (unified)'
    : cg('/sys/fs/cgroup/unified/cgroup.procs') || cg('/proc/self/mountinfo').includes(' /sys/fs/cgroup/unified ') ? 'hybrid: cgroup v1 controllers + empty cgroup2 at /sys/fs/cgroup/unified' : 'cgroup v1';
  return {
    systemd: await firstLine(['systemctl', '--version']),
    systemdState: await firstLine(['systemctl', 'is-system-running']),
    pid1: cg('/proc/1/comm').trim(),
    box: cg('/proc/1/environ').includes('container=containerd-ts-box'),
    cgroupLayout: layout,
    node: process.version,
    loadavgStart: os.loadavg().map((x) => x.toFixed(2)).join(' '),
  };
}

let tornDown = false;
async function teardown() {
  if (tornDown) return;
  tornDown = true;
  log('tearing down the systems');
  await teardownAll(systems, log);
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { log(`${sig}: stopping`); teardown().finally(() => process.exit(130)); });
}

async function main() {
  results.meta.box = await boxFacts();
  log('setting up the systems');
  await setupAll(systems, log);
  results.meta.versions = {
    runc: await firstLine(['runc', '--version']),
    containerd: await firstLine(['containerd', '--version']),
    podman: await firstLine(['podman', '--version']),
    conmon: await firstLine(['conmon', '--version']),
    node: process.version,
  };
  results.systems = systems.map(({ key, label, ok, error, version }) => ({ key, label, ok, error, version }));
  save();
  const plan = {
    cli: () => cases.cliStartup(systems, cfg),
    'run-to-exit': () => cases.runToExit([systems[0], oursUnconfined(systems[0]), oursViaCtr(systems[0]), ...systems.slice(1)], cfg),
    memory: () => cases.memory(systems, cfg),
    fifty: () => cases.fiftyAtOnce(systems, cfg),
    restart: () => cases.restartRecovery(systems, cfg),
    pull: () => cases.pull(systems, cfg),
  };
  for (const name of args.cases.split(',')) {
    if (!plan[name]) { log(`unknown case ${name}`); continue; }
    log(`case ${name}`);
    const t0 = Date.now();
    try {
      const out = await plan[name]();
      results.cases.push(...[out].flat());
    } catch (err) {
      log(`case ${name} failed: ${err.stack}`);
      results.cases.push({ id: name, title: name, unit: 'ms', what: '', groups: [], notes: [`the case failed: ${err.message}`] });
    }
    log(`case ${name}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    save();
  }
  results.meta.box.loadavgEnd = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  results.meta.finishedAt = new Date().toISOString();
  save();
}

main()
  .catch((err) => { log(`benchmark failed: ${err.stack}`); process.exitCode = 1; })
  .finally(async () => { await teardown(); save(); });
