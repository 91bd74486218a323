// Running commands and reading /proc: the only place the suite touches
// child processes, so every case times and inspects them the same way.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/**
 * Runs argv to completion; resolves { code, ms, stdout, stderr } (never rejects).
 * untilExit: done when the process exits, even if something it started (a
 * detached container given runc's stdio) still holds its output pipes.
 */
export function run(argv, { timeoutMs = 120_000, env, input, untilExit = false, onSpawn } = {}) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    let stdout = '', stderr = '', timedOut = false;
    let child;
    try {
      child = spawn(argv[0], argv.slice(1), { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: env ?? process.env });
    } catch (err) {
      resolve({ code: -1, ms: 0, stdout, stderr: String(err) });
      return;
    }
    onSpawn?.(child);
    if (input !== undefined) child.stdin.end(input);
    child.stdout.on('data', (d) => { if (stdout.length < 1e6) stdout += d; });
    child.stderr.on('data', (d) => { if (stderr.length < 1e5) stderr += d; });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    let done = false;
    const finish = async (code, signal) => {
      if (done) return;
      done = true;
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      clearTimeout(timer);
      if (untilExit) { await new Promise((r) => setTimeout(r, 20)); child.stdout.destroy(); child.stderr.destroy(); }
      if (timedOut) stderr += `\n(timed out after ${timeoutMs} ms)`;
      resolve({ code: code ?? (signal ? 128 : -1), ms, stdout, stderr: stderr.trim() });
    };
    child.on('error', (err) => { stderr += String(err); if (child.pid === undefined) finish(-1); });
    child.on(untilExit ? 'exit' : 'close', finish);
  });
}

/** Like run() but throws with the command's own message when it fails. */
export async function must(argv, opts) {
  const r = await run(argv, opts);
  if (r.code !== 0) throw new Error(`${argv.join(' ')}: exit ${r.code}: ${lastLine(r.stderr || r.stdout)}`);
  return r.stdout;
}

/** Shell one-liner, for setup steps that are clearer as shell. */
export const sh = (script, opts) => must(['bash', '-euo', 'pipefail', '-c', script], opts);

export function lastLine(text) {
  const lines = String(text).trim().split('\n').filter(Boolean);
  return (lines.at(-1) ?? '').slice(0, 300);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls fn() until it returns a truthy value or timeoutMs passes; returns the last value. */
export async function poll(fn, { timeoutMs, intervalMs = 100 }) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v || Date.now() >= end) return v;
    await sleep(intervalMs);
  }
}

/** Pids of live processes whose argv (joined by spaces) satisfies test(). */
export function findPids(test) {
  const pids = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cmd;
    try { cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim(); } catch { continue; }
    if (cmd && test(cmd, Number(name))) pids.push(Number(name));
  }
  return pids;
}

/**
 * Memory of one process from /proc/PID/smaps_rollup, in bytes: rss, pss and
 * uss (private clean + dirty: what the process alone costs). null if gone.
 */
export function memoryOf(pid) {
  let text;
  try { text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'); } catch { return null; }
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb('Rss'), pss: kb('Pss'), uss: kb('Private_Clean') + kb('Private_Dirty') };
}

/** Resident set size of pid in bytes from /proc/PID/status (cheap enough to sample often), 0 if gone. */
export function rssOf(pid) {
  try { return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024; } catch { return 0; }
}
