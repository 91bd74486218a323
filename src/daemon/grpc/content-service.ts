import { toTimestamp } from '../../proto.js';
import type { ContentHandlers, ContentInfo, Init } from '../../proto-types.js';
import type { ContentStore, Info } from '../../snapshot/content.js';
import { validateDigest } from '../../snapshot/digest.js';
import { notImplemented, serverStream, unary } from './handlers.js';

const READ_CHUNK = 1 << 20;

/** Content: read access to the digest-verified blob store (writes arrive with image import/pull). */
export function contentService(store: ContentStore): ContentHandlers {
  return {
    Info: unary(async (req) => ({ info: infoToProto(await store.info(validateDigest(req.digest))) })),
    List: serverStream(async (_req, call) => {
      const all = await store.list();
      for (let i = 0; i < all.length; i += 100) call.write({ info: all.slice(i, i + 100).map(infoToProto) });
    }),
    Delete: unary(async (req) => {
      await store.delete(validateDigest(req.digest));
      return {};
    }),
    Read: serverStream(async (req, call) => {
      const offset = Number(req.offset || 0);
      const limit = Number(req.size || 0);
      const stream = await store.reader(validateDigest(req.digest), { offset });
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
    Update: notImplemented('Content', 'Update'),
    Status: notImplemented('Content', 'Status'),
    ListStatuses: notImplemented('Content', 'ListStatuses'),
    Write: notImplemented('Content', 'Write'),
    Abort: notImplemented('Content', 'Abort'),
  };
}

function infoToProto(i: Info): Init<ContentInfo> {
  return { digest: i.digest, size: String(i.size), created_at: toTimestamp(i.createdAt), updated_at: toTimestamp(i.updatedAt), labels: i.labels };
}
