import { invalidArgument } from '../../errors.js';
import { toTimestamp } from '../../proto.js';
import type { ContentHandlers, ContentInfo, ContentStatus, Init } from '../../proto-types.js';
import type { Info, Status } from '../../snapshot/content.js';
import { validateDigest } from '../../snapshot/digest.js';
import type { EventExchange } from '../events/exchange.js';
import type { GarbageCollector } from '../gc/collector.js';
import type { ContentNamespaces } from '../metadata/content.js';
import type { LeaseStore } from '../metadata/leases.js';
import { contentWriteHandler } from './content-write.js';
import { namespaceOf, serverStream, unary } from './handlers.js';

const READ_CHUNK = 1 << 20;

/**
 * Content: the digest-verified blob store, as the caller's namespace sees
 * it (its own records and ingests; metadata/content.ts); writes under a
 * `containerd-lease` header are attached to that lease. A Delete removes the
 * namespace's record, publishes /content/delete in that namespace, as
 * containerd's content service does, and asks for a collection, which
 * removes the blob once no namespace has it (the collector's removals go
 * without an event, as in containerd).
 */
export function contentService(content: ContentNamespaces, leases: LeaseStore, gc: GarbageCollector, events?: EventExchange): ContentHandlers {
  const storeOf = (call: Parameters<typeof namespaceOf>[0]) => content.forNamespace(namespaceOf(call));
  return {
    Info: unary(async (req, call) => ({ info: infoToProto(await storeOf(call).info(validateDigest(req.digest))) })),
    List: serverStream(async (_req, call) => {
      const all = await storeOf(call).list();
      for (let i = 0; i < all.length; i += 100) call.write({ info: all.slice(i, i + 100).map(infoToProto) });
    }),
    Delete: unary(async (req, call) => {
      const digest = validateDigest(req.digest);
      const ns = namespaceOf(call);
      await content.forNamespace(ns).delete(digest);
      events?.publish(ns, 'contentDelete', { digest });
      gc.schedule();
      return {};
    }),
    Read: serverStream(async (req, call) => {
      const offset = Number(req.offset || 0);
      const limit = Number(req.size || 0);
      const stream = await storeOf(call).reader(validateDigest(req.digest), { offset });
      let position = offset;
      let sent = 0;
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        for (let i = 0; i < chunk.length; i += READ_CHUNK) {
          let piece = chunk.subarray(i, i + READ_CHUNK);
          if (limit > 0 && sent + piece.length > limit) piece = piece.subarray(0, limit - sent);
          if (piece.length === 0) break;
          call.write({ offset: String(position), data: piece });
          position += piece.length;
          sent += piece.length;
        }
        if (limit > 0 && sent >= limit) {
          (stream as { destroy?: () => void }).destroy?.();
          break;
        }
      }
    }),
    // Under a GC hold: a label set while a collection runs (a gc.root between its mark and its
    // sweep) would be reported set on a blob the sweep then removes. Held, the update lands
    // before the collection marks, or after it swept (then NotFound), as with containerd's lock.
    Update: unary(async (req, call) =>
      gc.withHold(async () => {
        if (!req.info) throw invalidArgument('content update needs info');
        const digest = validateDigest(req.info.digest);
        const store = storeOf(call);
        const current = await store.info(digest);
        const labels = mergeLabels(current.labels, req.info.labels ?? {}, req.update_mask?.paths ?? []);
        return { info: infoToProto(await store.update(digest, labels)) };
      }),
    ),
    Status: unary(async (req, call) => ({ status: statusToProto(await storeOf(call).status(req.ref)) })),
    ListStatuses: unary(async (req, call) => {
      const match = refFilter(req.filters);
      return { statuses: (await storeOf(call).listStatuses()).filter((s) => match(s.ref)).map(statusToProto) };
    }),
    Write: contentWriteHandler(content, leases, gc),
    Abort: unary(async (req, call) => {
      await storeOf(call).abort(req.ref);
      return {};
    }),
  };
}

/**
 * containerd's update mask for content: no paths replaces all labels;
 * `labels` replaces them too; `labels.<key>` sets or (empty value) removes one.
 */
export function mergeLabels(current: Record<string, string>, incoming: Record<string, string>, paths: string[]): Record<string, string> {
  if (paths.length === 0 || paths.includes('labels')) return { ...incoming };
  const next = { ...current };
  for (const path of paths) {
    if (!path.startsWith('labels.')) throw invalidArgument(`cannot update content field "${path}" (only labels)`);
    const key = path.slice('labels.'.length);
    const value = incoming[key];
    if (value === undefined || value === '') delete next[key];
    else next[key] = value;
  }
  return next;
}

/** `ref==X` and `ref~=REGEX` filters (any may match); no filter (ctr sends one empty string) matches everything. */
function refFilter(filters: string[]): (ref: string) => boolean {
  const tests = filters.filter((f) => f.trim() !== '').map((f) => {
    const m = /^ref(==|~=)"?(.*?)"?$/.exec(f.trim());
    if (!m) throw invalidArgument(`unsupported ingest filter "${f}" (ref==X or ref~=REGEX)`);
    if (m[1] === '==') return (ref: string) => ref === m[2];
    const re = new RegExp(m[2] as string);
    return (ref: string) => re.test(ref);
  });
  return (ref) => tests.length === 0 || tests.some((t) => t(ref));
}

function statusToProto(s: Status): Init<ContentStatus> {
  return {
    ref: s.ref,
    offset: String(s.offset),
    total: String(s.total ?? 0),
    expected: s.expected ?? '',
    started_at: toTimestamp(s.startedAt),
    updated_at: toTimestamp(s.updatedAt),
  };
}

function infoToProto(i: Info): Init<ContentInfo> {
  return { digest: i.digest, size: String(i.size), created_at: toTimestamp(i.createdAt), updated_at: toTimestamp(i.updatedAt), labels: i.labels };
}
