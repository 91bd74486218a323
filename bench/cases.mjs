// The benchmark cases. Each returns a case record for the report:
//   { id, title, unit, what, method, groups: [{ name, rows }], glanceLast, notes }
//   row: { key, label, samples, summary, status, message }
//   status: ok | unavailable | failed | too-few | not-implemented | n/a
// The report sets every row against the row keyed "ours" of its group.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { moveAside, PEERS_DIR, removeTree, TRASH_DIR } from './peers.mjs';
import { lastLine, memoryOf, poll, rssOf, run, sleep } from './proc.mjs';
import { buildImage, pushImage, startRegistry } from './pull-image.mjs';
import { MB, summarize } from './stats.mjs';

let counter = 0;
/** A fresh container id; the first letter tells the system (ours: o, so scopes are containerd-o*.scope). */
const newId = (sys) => `${sys.key[0]}${process.pid % 1000}x${++counter}`;

const unavailable = (sys) => ({ key: sys.key, label: sys.label, samples: [], summary: null, status: 'unavailable', message: sys.error });

/**
 * Runs once(sys) for every available system in turn, round after round
 * (A B C D A B C D ...), after `warmup` untimed rounds. A system that fails
 * maxFailures times in a row is dropped from the remaining rounds.
 */
async function interleaved(systems, opts, once) {
  const { rounds, warmup = 0, minRuns, maxFailures = 3, settleMs = 100, log, name } = opts;
  const state = new Map(systems.map((s) => [s.key, { samples: [], errors: [], warm: [], attempts: 0, streak: 0 }]));
  for (let w = 0; w < warmup; w++) {
    for (const s of systems) {
      const st = state.get(s.key);
      if (!s.ok || st.streak >= maxFailures) continue;
      try { await once(s, -1); st.streak = 0; } catch (err) { st.warm.push(lastLine(err.message ?? err)); st.streak++; log(`  ${name}: ${s.label} warm-up failed: ${st.warm.at(-1)}`); }
      await sleep(settleMs);
    }
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
        message: st.attempts === 0 ? `dropped after ${st.warm.length} failed warm-up runs: ${st.warm[0]}`
          : `${st.samples.length} of ${st.attempts} runs succeeded (minimum ${minRuns}): ${st.errors[0] ?? st.warm[0] ?? ''}` });
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
    const ms = await timed(sys.runRm(id), { timeoutMs: 30_000 });
    await sys.finish(id);
    sys.live.delete(id);
    return ms;
  });
  return {
    id: 'run-to-exit', title: 'Run to exit: busybox `true`', unit: 'ms',
    what: 'Wall time of one CLI command that creates a container from the busybox image, runs `true` in its own systemd scope, waits for the exit and removes the container. '
      + 'containerd-ts: `ctr-ts run --rm` (with our default seccomp filter, as podman has one; ctr and bare runc have none); no seccomp filter: the same with `--seccomp-profile unconfined`; ctr → containerd-ts: containerd\'s Go client `ctr run --rm --runc-systemd-cgroup` against our daemon (the same daemon work without the Node CLI); '
      + 'containerd: `ctr run --rm --runc-systemd-cgroup --cgroup system.slice:containerd-bench:ID`; '
      + 'podman: `podman --cgroup-manager=systemd --runtime runc run --rm --network none`; bare runc: `runc --systemd-cgroup run` of a prepared bundle (no image, no snapshot, no daemon: the floor).',
    method: `${cfg.runs} runs per system, interleaved, after ${cfg.warmup} warm-up round(s); a figure needs at least ${cfg.minRuns}.`,
    groups: [{ name: '', rows }],
    notes: systems.filter((s) => Object.keys(s.leaks ?? {}).length).map((s) => `${s.label}: after \`run --rm\` returned, ${Object.entries(s.leaks).map(([what, n]) => `the ${what} was still there in ${n} run(s)`).join(', ')} (warm-up included); the suite removed them, untimed, so the figure above leaves that work out.`),
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
    (c) => timed(c.argv, { env: c.env, timeoutMs: 30_000 }));
  return {
    id: 'cli-startup', title: 'CLI start-up on its own', unit: 'ms',
    what: 'Wall time of a CLI that does (next to) nothing, so that what the client costs is told apart from what the daemon costs in the run-to-exit case. '
      + 'The box runs commands with a clean environment (no NODE_EXTRA_CA_CERTS); the second row shows what that variable, set on the development VMs, adds to every Node start.',
    method: `${cfg.runs} runs per command, interleaved, after ${cfg.warmup} warm-up round(s); a figure needs at least ${cfg.minRuns}.`,
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
  for (const s of systems) if (s.ok) await s.removeAll(); // a clean slate: nothing left from earlier cases
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
    method: `${cfg.fiftyRounds} rounds per system, interleaved (the systems are warm from the earlier cases); a figure needs at least ${cfg.fiftyMinRuns}.`,
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
  const strays = [];
  for (const sys of systems.filter((s) => s.key in supervisorName)) {
    const label = `${sys.label}: ${supervisorName[sys.key]}`;
    /** Rows without a figure for every group this system has none in yet. */
    const fail = (message, status = 'failed') => {
      const row = (lbl) => ({ key: sys.key, label: lbl, samples: [], summary: null, status, message });
      for (const m of metrics) for (const g of sup[m]) if (!g.rows.some((r) => r.key === sys.key)) g.rows.push(row(label));
      for (const g of daemon) if (!g.rows.some((r) => r.key === sys.key)) g.rows.push(sys.key === 'podman' ? { ...row(sys.label), status: 'n/a', message: 'no daemon' } : row(sys.label));
    };
    if (!sys.ok) { fail(sys.error, 'unavailable'); continue; }
    cfg.log(`  memory: ${sys.label}`);
    const daemonRow = async (g) => {
      const pid = await sys.daemonPid();
      const samples = pid ? await rssSamples(pid) : [];
      daemon[g].rows.push(sys.key === 'podman'
        ? { key: sys.key, label: sys.label, samples: [], summary: null, status: 'n/a', message: 'no daemon' }
        : { key: sys.key, label: sys.label, samples, summary: summarize(samples), status: samples.length ? 'ok' : 'failed', message: samples.length ? '' : 'daemon pid not found' });
    };
    try {
      await sys.removeAll(); // a clean slate: nothing left from earlier cases
      await daemonRow(0);
      let started = 0;
      const mine = new Set();
      for (const [i, n] of levels.entries()) {
        const { errors, ids } = await startDetached(sys, n - started, 5);
        ids.forEach((id) => mine.add(id));
        started = n;
        if (errors.length) throw new Error(`${errors.length} of ${n} containers failed to start: ${errors[0]}`);
        await sleep(cfg.settleMs);
        const mems = sys.supervisorPids(mine).map(memoryOf).filter(Boolean);
        const stray = sys.supervisorPids().length - mems.length;
        if (stray > 0) strays.push(`${sys.label}: ${stray} more ${supervisorName[sys.key]} process(es) than containers at ${n} (left over from earlier cases); left out of the figures`);
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
  await groupedShimMemory(systems.find((s) => s.key === 'ours'), levels, sup, cfg);
  const common = 'Each row: the supervisor processes of N running `sleep 3600` containers, one figure per process (median, min–max across the processes), read from /proc/PID/smaps_rollup a few seconds after the last start. '
    + 'containerd-ts runs one Node shim per container, containerd one containerd-shim-runc-v2, podman one conmon; bare runc keeps no supervisor. '
    + '"grouped shims": all N containers carry the label io.containerd.runc.v2.group=bench and share one shim; its figure is that one process divided by N.';
  return [
    { id: 'memory-rss', title: 'Supervisor memory per container: RSS', unit: 'MB', what: `${common} RSS counts every resident page, shared ones included.`, groups: sup.rss, glanceLast: true, notes: strays },
    { id: 'memory-pss', title: 'Supervisor memory per container: PSS', unit: 'MB', what: `${common} PSS divides each shared page among the processes mapping it (so it also depends on how many other processes on the machine map the same binary).`, groups: sup.pss, glanceLast: true, notes: [] },
    { id: 'memory-uss', title: 'Supervisor memory per container: private (USS)', unit: 'MB', what: `${common} USS (Private_Clean + Private_Dirty) is what one more container costs: pages no other process shares.`, groups: sup.uss, glanceLast: true, notes: [] },
    { id: 'memory-daemon', title: 'Daemon RSS', unit: 'MB', what: `RSS of the daemon process (five readings 0.2 s apart): idle after the earlier cases, and with ${levels.at(-1)} containers running. podman has no daemon.`, groups: daemon, notes: [] },
  ];
}

/** The same levels with every container in one shim group: one shim process, its memory per container. */
async function groupedShimMemory(sys, levels, sup, cfg) {
  const label = 'containerd-ts: grouped shims';
  const rowFor = (samples, message) => ({ key: 'ours-grouped', label, samples, summary: samples.length ? summarize(samples) : null, status: samples.length ? 'ok' : 'failed', message });
  const fail = (message) => { for (const m of ['rss', 'pss', 'uss']) for (const g of sup[m]) if (!g.rows.some((r) => r.key === 'ours-grouped')) g.rows.push(rowFor([], message)); };
  if (!sys?.ok || !sys.runDetachedGrouped) { fail('containerd-ts is not available'); return; }
  cfg.log('  memory: containerd-ts, grouped shims');
  const grouped = Object.create(sys, { runDetached: { value: sys.runDetachedGrouped } });
  try {
    await sys.removeAll();
    let started = 0;
    for (const [i, n] of levels.entries()) {
      const { errors } = await startDetached(grouped, n - started, 1); // one at a time: a group's creates take turns anyway
      started = n;
      if (errors.length) throw new Error(`${errors.length} of ${n} grouped containers failed to start: ${errors[0]}`);
      await sleep(cfg.settleMs);
      const pids = sys.groupShimPids();
      const mem = pids.length === 1 ? memoryOf(pids[0]) : null;
      for (const m of ['rss', 'pss', 'uss']) {
        sup[m][i].rows.push(mem ? rowFor([mem[m] / MB / n], '') : rowFor([], `found ${pids.length} group shim processes, expected 1`));
      }
    }
  } catch (err) {
    cfg.log(`  memory: grouped shims failed: ${err.message}`);
    fail(lastLine(err.message));
  } finally {
    await sys.removeAll();
  }
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
    if (r.key === 'ours' && r.status !== 'ok' && r.status !== 'unavailable') { r.status = 'not-implemented'; r.message = `no reconnection to running shims yet (issue 4): ${r.message.replace(/^.*?: /, '')}`; }
  }
  rows.push({ key: 'podman', label: 'podman 4.3 + conmon', samples: [], summary: null, status: 'n/a', message: 'no daemon to restart' });
  for (const s of eligible) await s.removeAll();
  return {
    id: 'restart', title: `Restart recovery with ${n} running containers`, unit: 'ms',
    what: `Time from \`systemctl restart\` of the daemon's unit, with ${n} containers running, until its task list shows all ${n} again (polled every 50 ms, given up after ${cfg.restartTimeoutMs / 1000} s).`,
    method: `${cfg.restartRounds} restarts per daemon, interleaved; a figure needs at least ${cfg.restartMinRuns}.`,
    groups: [{ name: '', rows }],
    notes,
  };
}

// ------------------------------------------------------------ pull (issue 3)
/**
 * Pull + unpack of a generated multi-layer image from docker-registry on
 * loopback, into an empty store each time (daemon stopped, root emptied,
 * started again, untimed). RSS of the daemon and of the client command are
 * sampled every 100 ms; their peak (and the peak of their sum) is reported.
 */
export async function pull(systems, cfg) {
  const dir = path.join(PEERS_DIR, 'pull');
  const floorDir = path.join(dir, 'floor');
  const ours = systems.find((s) => s.key === 'ours'), ctrd = systems.find((s) => s.key === 'containerd');
  const oursPulls = ours.ok && await ours.canPull();
  const subjects = [
    { key: 'ours', label: ours.label, ok: oursPulls, error: ours.ok ? 'no `ctr-ts images pull` yet (issue 3)' : ours.error, sys: ours },
    { key: 'containerd', label: 'containerd 1.6 + `ctr images pull`', ok: ctrd.ok, error: ctrd.error, sys: ctrd },
    { key: 'curl', label: '`curl | tar xz`, layers in parallel (floor)', ok: true },
  ].map((x) => ({ ...x, live: new Set(), peaks: { daemon: [], both: [] } }));
  let image;
  try {
    cfg.log(`  pull: generating the image (${cfg.pullImage.layers} layers × ${cfg.pullImage.filesPerLayer} files)`);
    image = await buildImage(path.join(dir, 'layout'), cfg.pullImage);
    const host = await startRegistry(path.join(dir, 'registry'), 'registry-bench');
    await pushImage(path.join(dir, 'layout'), host, 'bench/big');
    const ref = `${host}/bench/big:latest`;
    const floorScript = image.layers.map((l, i) => `mkdir -p ${floorDir}/${i}; (curl -sf http://${host}/v2/bench/big/blobs/${l.digest} | tar -xzf - -C ${floorDir}/${i}) & p${i}=$!`).join('\n')
      + `\n${image.layers.map((_, i) => `wait $p${i}`).join('\n')}`;
    const rows = await interleaved(subjects, { name: 'pull', rounds: cfg.pullRounds, minRuns: cfg.pullMinRuns, maxFailures: 1, settleMs: 1000, log: cfg.log }, async (x) => {
      if (x.sys) await x.sys.freshStore(); else moveAside(floorDir);
      const daemon = x.sys ? await x.sys.daemonPid() : null;
      let client = null, peakDaemon = 0, peakBoth = 0;
      const sampler = setInterval(() => {
        const d = daemon ? rssOf(daemon) : 0, c = client ? rssOf(client) : 0;
        peakDaemon = Math.max(peakDaemon, d);
        peakBoth = Math.max(peakBoth, d + c);
      }, 100);
      try {
        const argv = x.sys ? x.sys.pullArgv(ref) : ['bash', '-euo', 'pipefail', '-c', floorScript];
        const ms = await timed(argv, { timeoutMs: 1_800_000, onSpawn: (child) => { client = child.pid; } });
        if (x.sys) { x.peaks.daemon.push(peakDaemon / MB); x.peaks.both.push(peakBoth / MB); }
        return ms;
      } finally {
        clearInterval(sampler);
      }
    });
    for (const r of rows) if (r.key === 'ours' && r.status === 'unavailable' && ours.ok) Object.assign(r, { status: 'not-implemented', message: 'no `ctr-ts images pull` yet (issue 3)' });
    const rssRow = (x, which) => {
      const base = rows.find((r) => r.key === x.key);
      if (base.status !== 'ok') return { ...base, samples: [], summary: null };
      return { key: x.key, label: x.label, samples: x.peaks[which], summary: summarize(x.peaks[which]), status: 'ok', message: '' };
    };
    const withRss = subjects.filter((x) => x.sys);
    const mb = (b) => `${(b / 1e6).toFixed(0)} MB`;
    const desc = `${image.layers.length} layers, ${mb(image.compressed)} compressed (${mb(image.uncompressed)} as tar), ${image.files.toLocaleString('en')} files and directories`;
    return [
      {
        id: 'pull', title: 'Pull and unpack of a multi-layer image from a loopback registry', unit: 'ms',
        what: `Wall time of pulling a generated image (${desc}; each file half random bytes, half word-like text) from Debian's docker-registry on 127.0.0.1 into an empty store, unpack included: `
          + '`ctr-ts images pull --plain-http` (the daemon fetches and unpacks), `ctr images pull --plain-http` against containerd 1.6 (ctr fetches, containerd unpacks into overlayfs snapshots), '
          + 'and the floor: each layer blob fetched with curl and piped into `tar -xz`, all layers at once. Before every run, untimed: the daemon is stopped, its root moved aside and the daemon started again '
          + '(moved, not deleted: on this ext4, creating files right after deleting tens of thousands slowed a pull 3-5 times; everything moved aside is deleted after the last pull).',
        method: `${cfg.pullRounds} pulls per system, interleaved; a figure needs at least ${cfg.pullMinRuns}.`,
        groups: [{ name: '', rows }],
        notes: image.compressed < 500e6 && !cfg.quick ? [`the generated image is ${mb(image.compressed)} compressed, below the 500 MB the issue asks for`] : [],
      },
      {
        id: 'pull-rss', title: 'Peak memory during the pull', unit: 'MB',
        what: 'Peak RSS sampled every 100 ms during each pull above: of the daemon alone, and of the daemon plus the client command at the same instant (ctr fetches the layers itself and streams them to containerd; ctr-ts only shows progress).',
        groups: [
          { name: 'daemon', rows: withRss.map((x) => rssRow(x, 'daemon')) },
          { name: 'daemon + client', rows: withRss.map((x) => rssRow(x, 'both')) },
        ],
        notes: [],
      },
    ];
  } finally {
    await run(['systemctl', 'stop', 'registry-bench']);
    await run(['systemctl', 'reset-failed', 'registry-bench']);
    await removeTree(dir);
    await removeTree(TRASH_DIR);
  }
}
