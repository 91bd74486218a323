/**
 * Concurrent pulls of the same blob in this process share one download
 * (containerd does the same through its ingest locks): the first caller
 * starts it, later ones wait on it and see its progress. A waiter that gives
 * up detaches; the download is stopped only when nobody waits any more (its
 * partial ingest stays, so the next pull resumes it).
 */
import type { FetchedBlob } from '../../oci/distribution/client.js';

type Report = (offset: number, total: number) => void;

interface Shared {
  promise: Promise<FetchedBlob>;
  controller: AbortController;
  waiters: number;
  listeners: Set<Report>;
  last?: [number, number];
}

const inflight = new Map<string, Shared>();

/** How many downloads are running (for tests and diagnostics). */
export function inflightCount(): number {
  return inflight.size;
}

/**
 * Joins the download of `key` or starts it with `start(signal, report)`.
 * Resolves with the shared result; rejects with `signal`'s reason when this
 * waiter aborts first.
 */
export function sharedDownload(
  key: string,
  start: (signal: AbortSignal, report: Report) => Promise<FetchedBlob>,
  signal: AbortSignal | undefined,
  onProgress: Report,
): Promise<FetchedBlob> {
  let shared = inflight.get(key);
  if (shared === undefined) {
    const controller = new AbortController();
    const s: Shared = { controller, waiters: 0, listeners: new Set(), promise: Promise.resolve(undefined as never) };
    s.promise = Promise.resolve()
      .then(() =>
        start(controller.signal, (offset, total) => {
          s.last = [offset, total];
          for (const l of s.listeners) l(offset, total);
        }),
      )
      .finally(() => {
        if (inflight.get(key) === s) inflight.delete(key);
      });
    inflight.set(key, s);
    shared = s;
  }
  const s = shared;
  s.waiters++;
  s.listeners.add(onProgress);
  if (s.last) onProgress(...s.last);
  return new Promise<FetchedBlob>((resolve, reject) => {
    let settled = false;
    const detach = () => {
      settled = true;
      s.listeners.delete(onProgress);
      s.waiters--;
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      if (settled) return;
      detach();
      if (s.waiters === 0) s.controller.abort(signal?.reason);
      reject(signal?.reason);
    };
    s.promise.then(
      (v) => {
        if (settled) return;
        detach();
        resolve(v);
      },
      (e: unknown) => {
        if (settled) return;
        detach();
        reject(e);
      },
    );
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const locks = new Map<string, Promise<unknown>>();

/** Runs `fn` after every earlier call with the same key has settled (writes of the same small document). */
export function withKeyLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = locks.get(key) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const tail = run.catch(() => undefined);
  locks.set(key, tail);
  void tail.then(() => {
    if (locks.get(key) === tail) locks.delete(key);
  });
  return run;
}
