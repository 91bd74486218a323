// The benchmark cases. Each returns a case record for the report:
//   { id, title, unit, what, groups: [{ name, rows }], notes }
//   row: { key, label, samples, summary, status, message }
//   status: ok | unavailable | failed | too-few | not-implemented | n/a
// The report sets every row against the row keyed "ours" of its group.
import { existsSync } from 'node:fs';
import { lastLine, memoryOf, poll, run, sleep } from './proc.mjs';
import { MB, summarize } from './stats.mjs';

let counter = 0;
/** A fresh container id; the first letter tells the system (ours: o, so scopes are containerd-o*.scope). */
const newId = (sys) => `${sys.key[0]}${process.pid % 1000}x${++counter}`;

const unavailable = (sys) => ({ key: sys.key, label: sys.label, samples: [], summary: null, status: 'unavailable', message: `not available: ${sys.error}` });

/**
 * Runs once(sys) for every available system in turn, round after round
 * (A B C D A B C D ...), after `warmup` untimed rounds. A system that fails
 * maxFailures times in a row is dropped from the remaining rounds.
 */
async function interleaved(systems, opts, once) {
  const { rounds, warmup = 0, minRuns, maxFailures = 3, settleMs = 100, log, name } = opts;
  const state = new Map(systems.map((s) => [s.key, { samples: [], errors: [], attempts: 0, streak: 0 }]));
  for (let w = 0; w < warmup; w++) {
    for (const s of systems.filter((x) => x.ok)) { try { await once(s, -1); } catch { /* warm-up only */ } await sleep(settleMs); }
  }
  for (let r = 0; r < rounds; r++) {
    log(`  ${name}: round ${r + 1}/${rounds}`);
    for (const s of systems) {
      const st = state.get(s.key);
      if (!s.ok || st.streak >= maxFailures) continue;
      st.attempts++;
      try {
        st.samples.push(await once(s, r));
        st.streak = 0;
      } catch (err) {
        st.errors.push(lastLine(err.message ?? err));
        st.streak++;
        log(`  ${name}: ${s.label} failed: ${st.errors.at(-1)}`);
      }
      await sleep(settleMs);
    }
  }
  return systems.map((s) => {
    if (!s.ok) return unavailable(s);
    const st = state.get(s.key);
    const row = { key: s.key, label: s.label, samples: st.samples, summary: summarize(st.samples), status: 'ok', message: '' };
    if (st.samples.length < minRuns) {
      Object.assign(row, { summary: null, status: st.samples.length ? 'too-few' : 'failed',
        message: `${st.samples.length} of ${st.attempts} runs succeeded (minimum ${minRuns}): ${st.errors[0] ?? ''}` });
    } else if (st.errors.length) {
      row.message = `${st.errors.length} failed run(s) left out: ${st.errors[0]}`;
    }
    return row;
  });
}

/** Times one command; throws with its last stderr line when it fails. */
async function timed(argv, opts) {
  const r = await run(argv, opts);
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${lastLine(r.stderr || r.stdout)}`);
  return r.ms;
}

// ------------------------------------------------------------ run-to-exit
export async function runToExit(systems, cfg) {
  const rows = await interleaved(systems, { name: 'run-to-exit', rounds: cfg.runs, warmup: cfg.warmup, minRuns: cfg.minRuns, log: cfg.log }, async (sys) => {
    const id = newId(sys);
    sys.live.add(id);
    await sys.prepare(id);
    const ms = await timed(sys.runRm(id));
    await sys.finish(id);
    sys.live.delete(id);
    return ms;
  });
  return {
    id: 'run-to-exit', title: 'Run to exit: busybox `true`', unit: 'ms',
    what: 'Wall time of one CLI command that creates a container from the busybox image, runs `true` in its own systemd scope, waits for the exit and removes the container. '
      + 'containerd-ts: `ctr-ts run --rm`; containerd: `ctr run --rm --runc-systemd-cgroup --cgroup system.slice:containerd-bench:ID`; '
      + 'podman: `podman --cgroup-manager=systemd --runtime runc run --rm --network none`; bare runc: `runc --systemd-cgroup run` of a prepared bundle (no image, no snapshot, no daemon: the floor).',
    groups: [{ name: '', rows }],
    notes: [],
  };
}

// ------------------------------------------------------------ CLI start-up
export async function cliStartup(systems, cfg) {
  const [ours, containerd] = [systems.find((s) => s.key === 'ours'), systems.find((s) => s.key === 'containerd')];
  const caFile = '/etc/ssl/certs/ca-certificates.crt';
  const cmds = [
    { key: 'node', label: '`node -e 0`', ok: true, argv: ['node', '-e', '0'] },
    { key: 'node-ca', label: '`node -e 0`, NODE_EXTRA_CA_CERTS set', ok: existsSync(caFile), error: `${caFile} missing`, argv: ['node', '-e', '0'], env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile } },
    { key: 'ours-help', label: '`ctr-ts --help` (no RPC)', ok: ours.ok, error: ours.error, argv: ['ctr-ts', '--help'] },
    { key: 'ours', label: '`ctr-ts version` (one RPC)', ok: ours.ok, error: ours.error, argv: ours.cliStartup() },
    { key: 'containerd', label: '`ctr version` (containerd, one RPC)', ok: containerd.ok, error: containerd.error, argv: containerd.cliStartup() },
  ].map((c) => ({ ...c, live: new Set() }));
  const rows = await interleaved(cmds, { name: 'cli start-up', rounds: cfg.runs, warmup: cfg.warmup, minRuns: cfg.minRuns, log: cfg.log, settleMs: 20 },
    (c) => timed(c.argv, { env: c.env }));
  return {
    id: 'cli-startup', title: 'CLI start-up on its own', unit: 'ms',
    what: 'Wall time of a CLI that does (next to) nothing, so that what the client costs is told apart from what the daemon costs in the run-to-exit case. '
      + 'The box runs commands with a clean environment (no NODE_EXTRA_CA_CERTS); the second row shows what that variable, set on the development VMs, adds to every Node start.',
    groups: [{ name: '', rows }],
    notes: [],
  };
}

// ------------------------------------------------------------ detached containers
/** Starts count detached `sleep 3600` containers, `parallel` at a time; returns the first error or ''. */
async function startDetached(sys, count, parallel) {
  const ids = Array.from({ length: count }, () => newId(sys));
  for (const id of ids) { sys.live.add(id); if (sys.prepareDetached) await sys.prepareDetached(id); }
  const errors = [];
  const queue = [...ids];
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, async () => {
    while (queue.length) {
      const id = queue.shift();
      const r = await run(sys.runDetached(id), { untilExit: true, timeoutMs: 300_000 });
      if (r.code !== 0) errors.push(`${id}: exit ${r.code}: ${lastLine(r.stderr)}`);
    }
  }));
  return { errors, ids };
}

export async function fiftyAtOnce(systems, cfg) {
  const n = cfg.fifty;
  const rows = await interleaved(systems.filter((s) => s.runDetached), { name: `${n} at once`, rounds: cfg.fiftyRounds, warmup: 0, minRuns: cfg.fiftyMinRuns, log: cfg.log, settleMs: 1000 }, async (sys) => {
    const t0 = process.hrtime.bigint();
    const { errors } = await startDetached(sys, n, n);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const running = await sys.running();
    await sys.removeAll();
    if (errors.length || running < n) throw new Error(`${errors.length} of ${n} failed to start, ${running} running: ${errors[0] ?? ''}`);
    return ms;
  });
  return {
    id: 'fifty-at-once', title: `${n} detached containers started at once`, unit: 'ms',
    what: `Wall time from launching ${n} \`run -d … sleep 3600\` commands at the same moment until the last has returned (each returns once its container runs; the count of running containers is checked afterwards, untimed). Containers are removed between rounds, untimed.`,
    groups: [{ name: '', rows }],
    notes: [],
  };
}

// ------------------------------------------------------------ memory
/** RSS readings of pid, `count` times a little apart, in MB. */
async function rssSamples(pid, count = 5) {
  const out = [];
  for (let i = 0; i < count; i++) { const m = pid && memoryOf(pid); if (m) out.push(m.rss / MB); await sleep(200); }
  return out;
}

export async function memory(systems, cfg) {
  const levels = cfg.memoryLevels;
  const metrics = ['rss', 'pss', 'uss'];
  const sup = Object.fromEntries(metrics.map((m) => [m, levels.map((n) => ({ name: `${n} container${n > 1 ? 's' : ''}`, rows: [] }))]));
  const daemon = [{ name: 'idle (no containers)', rows: [] }, { name: `with ${levels.at(-1)} running`, rows: [] }];
  const supervisorName = { ours: 'shim (Node)', containerd: 'containerd-shim-runc-v2', podman: 'conmon' };
  for (const sys of systems.filter((s) => s.key in supervisorName)) {
    const label = `${sys.label}: ${supervisorName[sys.key]}`;
    const fail = (message) => {
      for (const m of metrics) for (const g of sup[m]) if (!g.rows.some((r) => r.key === sys.key)) g.rows.push({ key: sys.key, label, samples: [], summary: null, status: 'failed', message });
      for (const g of daemon) if (!g.rows.some((r) => r.key === sys.key)) g.rows.push({ key: sys.key, label: sys.label, samples: [], summary: null, status: 'failed', message });
    };
    if (!sys.ok) { fail(`not available: ${sys.error}`); for (const m of metrics) for (const g of sup[m]) g.rows.at(-1).status = 'unavailable'; continue; }
    cfg.log(`  memory: ${sys.label}`);
    const daemonRow = async (g) => {
      const pid = await sys.daemonPid();
      const samples = pid ? await rssSamples(pid) : [];
      daemon[g].rows.push(sys.key === 'podman'
        ? { key: sys.key, label: sys.label, samples: [], summary: null, status: 'n/a', message: 'no daemon' }
        : { key: sys.key, label: sys.label, samples, summary: summarize(samples), status: samples.length ? 'ok' : 'failed', message: samples.length ? '' : 'daemon pid not found' });
    };
    try {
      await daemonRow(0);
      let started = 0;
      for (const [i, n] of levels.entries()) {
        const { errors } = await startDetached(sys, n - started, 5);
        started = n;
        if (errors.length) throw new Error(`${errors.length} of ${n} containers failed to start: ${errors[0]}`);
        await sleep(cfg.settleMs);
        const mems = sys.supervisorPids().map(memoryOf).filter(Boolean);
        for (const m of metrics) {
          const samples = mems.map((x) => x[m] / MB);
          const ok = samples.length === n;
          sup[m][i].rows.push({ key: sys.key, label, samples, summary: ok ? summarize(samples) : null, status: ok ? 'ok' : 'failed',
            message: ok ? '' : `found ${samples.length} supervisor processes for ${n} containers` });
        }
      }
      await daemonRow(1);
    } catch (err) {
      cfg.log(`  memory: ${sys.label} failed: ${err.message}`);
      fail(lastLine(err.message));
    } finally {
      await sys.removeAll();
    }
  }
  for (const m of metrics) {
    for (const g of sup[m]) {
      g.rows.push({ key: 'ours-grouped', label: 'containerd-ts: grouped shims', samples: [], summary: null, status: 'not-implemented', message: 'shim grouping (issue 4) is not implemented yet' });
    }
  }
  const common = 'Each row: the supervisor processes of N running `sleep 3600` containers, one figure per process (median, min–max across the processes), read from /proc/PID/smaps_rollup a few seconds after the last start. '
    + 'containerd-ts runs one Node shim per container, containerd one containerd-shim-runc-v2, podman one conmon; bare runc keeps no supervisor.';
  return [
    { id: 'memory-rss', title: 'Supervisor memory per container: RSS', unit: 'MB', what: `${common} RSS counts every resident page, shared ones included.`, groups: sup.rss, notes: [] },
    { id: 'memory-pss', title: 'Supervisor memory per container: PSS', unit: 'MB', what: `${common} PSS divides each shared page among the processes mapping it (so it also depends on how many other processes on the machine map the same binary).`, groups: sup.pss, notes: [] },
    { id: 'memory-uss', title: 'Supervisor memory per container: private (USS)', unit: 'MB', what: `${common} USS (Private_Clean + Private_Dirty) is what one more container costs: pages no other process shares.`, groups: sup.uss, notes: [] },
    { id: 'memory-daemon', title: 'Daemon RSS', unit: 'MB', what: `RSS of the daemon process (five readings 0.2 s apart): idle after the earlier cases, and with ${levels.at(-1)} containers running. podman has no daemon.`, groups: daemon, notes: [] },
  ];
}

// ------------------------------------------------------------ restart recovery
export async function restartRecovery(systems, cfg) {
  const n = cfg.restartN;
  const eligible = systems.filter((s) => s.restart);
  const notes = [];
  const ensureRunning = async (sys) => {
    if ((await sys.running()) >= n && sys.live.size >= n) return;
    await sys.removeAll();
    const { errors } = await startDetached(sys, n, 5);
    if (errors.length) throw new Error(`${errors.length} of ${n} containers failed to start: ${errors[0]}`);
  };
  const rows = await interleaved(eligible, { name: 'restart', rounds: cfg.restartRounds, warmup: 0, minRuns: cfg.restartMinRuns, maxFailures: 1, settleMs: 500, log: cfg.log }, async (sys) => {
    await ensureRunning(sys);
    const t0 = process.hrtime.bigint();
    await sys.restart();
    let listed = -1;
    const all = await poll(async () => (listed = await sys.listed()) >= n, { timeoutMs: cfg.restartTimeoutMs, intervalMs: 50 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (!all) {
      const running = await sys.running();
      const scopes = sys.key === 'ours'
        ? (await run(['bash', '-c', 'systemctl list-units --state=running --plain --no-legend "containerd-o*.scope" | wc -l'])).stdout.trim() : '?';
      const msg = `${Math.max(listed, 0)} of ${n} listed ${cfg.restartTimeoutMs / 1000} s after the restart`;
      notes.push(`${sys.label}: ${msg}; its ${n} containers kept running (${scopes} scopes active) but the daemon lists ${Math.max(running, 0)} tasks; the orphaned shims, scopes and rootfs mounts had to be cleaned by hand.`);
      await sys.removeAll();
      throw new Error(msg);
    }
    return ms;
  });
  for (const r of rows) {
    if (r.key === 'ours' && r.status !== 'ok' && r.status !== 'unavailable') { r.status = 'not-implemented'; r.message = `not supported yet (issue 4): ${r.message.replace(/^.*?: /, '')}`; }
  }
  rows.push({ key: 'podman', label: 'podman 4.3 + conmon', samples: [], summary: null, status: 'n/a', message: 'no daemon to restart' });
  for (const s of eligible) await s.removeAll();
  return {
    id: 'restart', title: `Restart recovery with ${n} running containers`, unit: 'ms',
    what: `Time from \`systemctl restart\` of the daemon's unit, with ${n} containers running, until its task list shows all ${n} again (polled every 50 ms, given up after ${cfg.restartTimeoutMs / 1000} s).`,
    groups: [{ name: '', rows }],
    notes,
  };
}

// ------------------------------------------------------------ pull (issue 3)
export function pull(systems) {
  const row = (s, status, message) => ({ key: s.key, label: s.label, samples: [], summary: null, status, message });
  const by = (k) => systems.find((s) => s.key === k);
  return {
    id: 'pull', title: 'Pull and unpack of a large multi-layer image from a loopback registry', unit: 'ms',
    what: 'Planned (issue 3): an image of at least 500 MB compressed, 50k files and 3 layers pulled from Debian\'s docker-registry on loopback into an empty store, against `ctr images pull --plain-http` (unpack included) and `curl | tar xz` (the floor).',
    groups: [{ name: '', rows: [
      row(by('ours'), 'not-implemented', 'not implemented yet: the daemon has no pull (issue 3)'),
      row(by('containerd'), 'n/a', 'not measured: nothing to compare with until ours exists'),
      { key: 'curl', label: '`curl | tar xz` (floor)', samples: [], summary: null, status: 'n/a', message: 'not measured: nothing to compare with until ours exists' },
    ] }],
    notes: [],
  };
}
