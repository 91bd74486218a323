#!/usr/bin/env node
// containerd-ts benchmark suite: one command, results in docs/benchmarks.md.
//
//   node bench/run.mjs [--quick] [--out docs/benchmarks.md] [--cases cli,run-to-exit,memory,fifty,restart,pull]
//                      [--no-build] [--results FILE (keep the raw results)] [--render FILE (only write the report from them)]
//
// Steps: Debian packages -> build (scripts/setup.sh) -> busybox image ->
// boot a systemd box -> inside it, bench/inner.mjs sets up containerd-ts,
// containerd, podman and bare runc and runs the cases -> the box goes down ->
// the report and its SVG charts are written. Needs root. Whatever happens
// (failure, Ctrl-C), the box and everything in it are removed.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Box, ensurePackages, hostFacts, sh } from './box.mjs';
import { writeReport } from './report.mjs';

const project = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(project, 'docs/benchmarks.md') },
    cases: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    results: { type: 'string' },
    render: { type: 'string' },
  },
});
const log = (msg) => process.stderr.write(`bench: ${msg}\n`);
let buildNote = '';

/** The report from a results file (also kept at --results FILE when given). */
function render(resultsFile) {
  if (!existsSync(resultsFile)) return;
  if (args.results && path.resolve(args.results) !== resultsFile) {
    mkdirSync(path.dirname(path.resolve(args.results)), { recursive: true });
    copyFileSync(resultsFile, path.resolve(args.results));
  }
  const results = JSON.parse(readFileSync(resultsFile, 'utf8'));
  if (!results.cases?.length) return;
  const out = path.resolve(args.out);
  mkdirSync(path.dirname(out), { recursive: true });
  writeReport(results, { ...hostFacts(project), buildNote }, out);
  log(`wrote ${out} and its charts`);
}

if (args.render) { render(path.resolve(args.render)); process.exit(0); }

if (process.getuid?.() !== 0) { log('must run as root (it boots a systemd box and runs containers)'); process.exit(1); }

const share = mkdtempSync('/var/tmp/containerd-ts-bench.');
const box = new Box(project, `bench-${process.pid}`, share);
let interrupted = 0;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    interrupted++;
    log(`${sig}: stopping${interrupted > 1 ? ' now' : ' (the box is torn down next)'}`);
    if (interrupted > 1) { box.down(); rmSync(share, { recursive: true, force: true }); process.exit(130); }
    box.interrupt();
  });
}

async function main() {
  ensurePackages();
  const built = existsSync(path.join(project, 'dist/src/daemon/main.js'));
  if (!args['no-build'] || !built) {
    try {
      await sh('bash', [path.join(project, 'scripts/setup.sh')], { cwd: project });
    } catch (err) {
      if (!built) throw err;
      buildNote = `the build failed (${err.message}), so the dist/ already there was measured`;
      log(buildNote);
    }
  }
  await sh('bash', [path.join(project, 'scripts/make-busybox-image.sh'), path.join(project, 'test/fixtures/out')], { cwd: project });
  if (interrupted) return 130;
  log(`booting box ${box.name}`);
  await box.boot();
  if (interrupted) return 130;
  const inner = ['node', path.join(project, 'bench/inner.mjs'), '--share', share, '--project', project];
  if (args.quick) inner.push('--quick');
  if (args.cases) inner.push('--cases', args.cases);
  const code = await box.exec(inner);
  return interrupted ? 130 : code;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  log(`failed: ${err.message}`);
} finally {
  log(`removing box ${box.name}`);
  box.down();
  try {
    if (interrupted) log('interrupted: the report is left as it was');
    else render(path.join(share, 'results.json'));
  } catch (err) {
    log(`could not write the report: ${err.stack}`);
    code ||= 1;
  }
  rmSync(share, { recursive: true, force: true });
}
process.exit(code);
