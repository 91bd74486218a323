/**
 * Disk usage of a directory tree the way containerd's fs.DiskUsage counts it:
 * allocated blocks, each inode once (hardlinks are not double counted),
 * symlinks never followed. The walk runs in a short-lived worker thread with
 * synchronous lstat calls: a committed layer can hold tens of thousands of
 * files, and one async lstat each kept the daemon's event loop busy for
 * seconds per commit.
 */
import { Worker } from 'node:worker_threads';
import { internal } from '../errors.js';
import type { Usage } from './snapshotter.js';

/** The walk, as CommonJS source for an eval'd worker (posts { size, inodes } or { error }). */
const WALK = String.raw`
const { lstatSync, readdirSync } = require('node:fs');
const { join } = require('node:path');
const { parentPort, workerData } = require('node:worker_threads');
try {
  const seen = new Set();
  let size = 0;
  const stack = [workerData];
  while (stack.length > 0) {
    const path = stack.pop();
    const st = lstatSync(path, { bigint: true });
    const id = st.dev + ':' + st.ino;
    if (!seen.has(id)) {
      seen.add(id);
      size += Number(st.blocks) * 512;
    }
    if (st.isDirectory()) for (const name of readdirSync(path)) stack.push(join(path, name));
  }
  parentPort.postMessage({ size, inodes: seen.size });
} catch (err) {
  parentPort.postMessage({ error: String(err && err.message || err), code: err && err.code });
}
`;

/** Walks `root` and sums block usage and distinct inodes. */
export function diskUsage(root: string): Promise<Usage> {
  return new Promise<Usage>((resolve, reject) => {
    const worker = new Worker(WALK, { eval: true, workerData: root });
    let settled = false;
    worker.once('message', (m: Usage | { error: string; code?: string }) => {
      settled = true;
      void worker.terminate();
      if ('error' in m) {
        const err = Object.assign(new Error(m.error), { code: m.code });
        reject(m.code !== undefined ? err : internal(`disk usage of ${root}: ${m.error}`));
      } else {
        resolve(m);
      }
    });
    worker.once('error', (err) => {
      if (!settled) reject(internal(`disk usage of ${root}: ${err.message}`, { cause: err }));
      settled = true;
    });
    worker.once('exit', (code) => {
      if (!settled) reject(internal(`disk usage of ${root}: walker exited (code ${code})`));
      settled = true;
    });
  });
}
