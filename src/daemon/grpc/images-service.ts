import type { ImagesHandlers } from '../../proto-types.js';
import type { ImageStore } from '../metadata/images.js';
import type { NamespaceStore } from '../metadata/namespaces.js';
import type { EventExchange } from '../events/exchange.js';
import type { GarbageCollector } from '../gc/collector.js';
import { imageFromProto, imageToProto } from './convert.js';
import { namespaceOf, unary } from './handlers.js';

/** Images: name -> target descriptor records (the blobs live in the content store). */
export function imagesService(store: ImageStore, namespaces: NamespaceStore, events: EventExchange, gc?: GarbageCollector): ImagesHandlers {
  return {
    Get: unary((req, call) => ({ image: imageToProto(store.get(namespaceOf(call), req.name)) })),
    List: unary((req, call) => ({ images: store.list(namespaceOf(call)).filter((i) => matchesImageFilters(i.name, req.filters)).map(imageToProto) })),
    Create: unary((req, call) => {
      const ns = namespaceOf(call);
      namespaces.ensure(ns);
      const created = store.create(ns, imageFromProto(req.image));
      events.publish(ns, 'imageCreate', { name: created.name, labels: created.labels });
      return { image: imageToProto(created) };
    }),
    Update: unary((req, call) => {
      const ns = namespaceOf(call);
      const updated = store.update(ns, imageFromProto(req.image), req.update_mask?.paths ?? []);
      events.publish(ns, 'imageUpdate', { name: updated.name, labels: updated.labels });
      return { image: imageToProto(updated) };
    }),
    Delete: unary(async (req, call) => {
      const ns = namespaceOf(call);
      store.delete(ns, req.name);
      events.publish(ns, 'imageDelete', { name: req.name });
      // Its blobs and snapshots go unless something else refers to them; `sync` waits for that.
      if (req.sync) await gc?.collect();
      else gc?.schedule();
      return {};
    }),
  };
}

/** containerd's `name==X` and `name~=regex` filters, enough for `ctr images ls name==...`. */
function matchesImageFilters(name: string, filters: string[]): boolean {
  if (filters.length === 0) return true;
  return filters.some((f) => {
    const eq = /^name==(.*)$/.exec(f);
    if (eq) return name === eq[1]!.replace(/^"|"$/g, '');
    const re = /^name~=(.*)$/.exec(f);
    if (re) return new RegExp(re[1]!.replace(/^"|"$/g, '')).test(name);
    return true;
  });
}
