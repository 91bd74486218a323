/**
 * Snapshot metadata in LMDB (containerd's snapshots/storage on bolt): one
 * record per key plus an id counter. Every change that touches more than one
 * key (create + parent's child count, commit = put + delete, remove + parent)
 * runs in one `transactionSync`, so a crash never leaves half a change.
 */
import type { Database, Key } from 'lmdb';
import { alreadyExists, failedPrecondition, internal, invalidArgument, notFound } from '../errors.js';
import type { Info, Kind, Usage } from './snapshotter.js';

/** What is stored per snapshot key. Dates are ISO strings so any value encoding works. */
export interface SnapshotRecord {
  id: number;
  kind: Kind;
  parent?: string;
  labels: Record<string, string>;
  created: string;
  updated: string;
  /** Number of snapshots that name this one as parent. */
  children: number;
  /** Recorded at commit. */
  usage?: Usage;
}

const RECORD_PREFIX = 'snapshot/';
const RECORD_END = 'snapshot0'; // '0' sorts right after '/'
const NEXT_ID = 'next-id';
/** LMDB keys are limited (lmdb-js: 1978 bytes); keep snapshot keys well below. */
const MAX_KEY_BYTES = 1024;

/** The metadata half of the overlay snapshotter; no filesystem access here. */
export class SnapshotMetadata {
  constructor(private readonly db: Database<unknown, Key>) {}

  /** Reserves a fresh numeric id (never reused) for a snapshot directory. */
  allocateId(): number {
    return this.db.transactionSync(() => {
      const current = this.db.get(NEXT_ID);
      const id = typeof current === 'number' && current > 0 ? current : 1;
      this.db.putSync(NEXT_ID, id + 1);
      return id;
    });
  }

  /** The record of `key`, or undefined. */
  get(key: string): SnapshotRecord | undefined {
    const value = this.db.get(recordKey(key));
    return value === undefined ? undefined : (value as SnapshotRecord);
  }

  /** The record of `key`, or NotFound. */
  mustGet(key: string): SnapshotRecord {
    const record = this.get(key);
    if (record === undefined) throw notFound(`snapshot ${key} does not exist`, { fields: { key } });
    return record;
  }

  /** Ids of the parent chain of `record`, nearest parent first. */
  parentIds(record: SnapshotRecord): number[] {
    const ids: number[] = [];
    let parent = record.parent;
    while (parent !== undefined) {
      const p = this.get(parent);
      if (p === undefined) throw internal(`snapshot parent ${parent} is missing from metadata`, { fields: { key: parent } });
      ids.push(p.id);
      parent = p.parent;
      if (ids.length > 500) throw internal('snapshot parent chain is too long or cyclic');
    }
    return ids;
  }

  /** Adds an active snapshot or view on a committed parent, atomically bumping the parent's child count. */
  create(key: string, kind: 'active' | 'view', id: number, parent: string | undefined, labels: Record<string, string>): SnapshotRecord {
    checkKey(key);
    if (parent !== undefined) checkKey(parent);
    return this.db.transactionSync(() => {
      if (this.get(key) !== undefined) throw alreadyExists(`snapshot ${key} already exists`, { fields: { key } });
      if (parent !== undefined) {
        const p = this.get(parent);
        if (p === undefined) throw notFound(`parent snapshot ${parent} does not exist`, { fields: { key, parent } });
        if (p.kind !== 'committed') throw invalidArgument(`parent ${parent} is not a committed snapshot`, { fields: { key, parent } });
        this.db.putSync(recordKey(parent), { ...p, children: p.children + 1 });
      }
      const now = new Date().toISOString();
      const record: SnapshotRecord = { id, kind, labels, created: now, updated: now, children: 0, ...(parent !== undefined ? { parent } : {}) };
      this.db.putSync(recordKey(key), record);
      return record;
    });
  }

  /** Renames active `key` to committed `name` in one transaction. */
  commit(name: string, key: string, usage: Usage, labels: Record<string, string> | undefined): SnapshotRecord {
    checkKey(name);
    return this.db.transactionSync(() => {
      const r = this.mustGet(key);
      if (r.kind !== 'active') throw failedPrecondition(`snapshot ${key} is a ${r.kind} snapshot, only active ones can be committed`, { fields: { key } });
      if (this.get(name) !== undefined) throw alreadyExists(`snapshot ${name} already exists`, { fields: { key: name } });
      const committed: SnapshotRecord = { ...r, kind: 'committed', labels: labels ?? r.labels, updated: new Date().toISOString(), usage, children: 0 };
      this.db.putSync(recordKey(name), committed);
      this.db.removeSync(recordKey(key));
      return committed;
    });
  }

  /** Deletes `key` (FailedPrecondition if it has children) and returns its record so the caller can delete the directory. */
  remove(key: string): SnapshotRecord {
    return this.db.transactionSync(() => {
      const r = this.mustGet(key);
      if (r.children > 0) {
        throw failedPrecondition(`snapshot ${key} has ${r.children} child snapshot(s); remove them first`, { fields: { key } });
      }
      if (r.parent !== undefined) {
        const p = this.get(r.parent);
        if (p !== undefined) this.db.putSync(recordKey(r.parent), { ...p, children: Math.max(0, p.children - 1) });
      }
      this.db.removeSync(recordKey(key));
      return r;
    });
  }

  /** Replaces the labels of `key`. */
  setLabels(key: string, labels: Record<string, string>): SnapshotRecord {
    return this.db.transactionSync(() => {
      const r = this.mustGet(key);
      const updated: SnapshotRecord = { ...r, labels, updated: new Date().toISOString() };
      this.db.putSync(recordKey(key), updated);
      return updated;
    });
  }

  /** Every (key, record) pair, in key order. */
  list(): Array<{ key: string; record: SnapshotRecord }> {
    const out: Array<{ key: string; record: SnapshotRecord }> = [];
    for (const { key, value } of this.db.getRange({ start: RECORD_PREFIX, end: RECORD_END })) {
      if (typeof key !== 'string') continue;
      out.push({ key: key.slice(RECORD_PREFIX.length), record: value as SnapshotRecord });
    }
    return out;
  }
}

/** The public view of a record. */
export function toInfo(key: string, r: SnapshotRecord): Info {
  return {
    name: key,
    ...(r.parent !== undefined ? { parent: r.parent } : {}),
    kind: r.kind,
    labels: { ...r.labels },
    created: new Date(r.created),
    updated: new Date(r.updated),
  };
}

function recordKey(key: string): string {
  return RECORD_PREFIX + key;
}

/** The database range holding the records of every snapshot whose key starts with `keyPrefix` (the daemon keys them `<namespace>/<key>`). */
export function snapshotRecordRange(keyPrefix: string): { start: string; end: string } {
  return { start: recordKey(keyPrefix), end: `${recordKey(keyPrefix)}\uffff` };
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw invalidArgument('snapshot key must be a non-empty string');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw invalidArgument(`snapshot key is longer than ${MAX_KEY_BYTES} bytes`);
}
