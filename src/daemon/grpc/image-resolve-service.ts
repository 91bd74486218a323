import type { ImageResolveHandlers } from '../../proto-types.js';
import { providerSource, readConfigBytes, resolveManifest } from '../../snapshot/image-resolve.js';
import type { ContentNamespaces } from '../metadata/content.js';
import type { ImageStore } from '../metadata/images.js';
import { imageToProto } from './convert.js';
import { namespaceOf, unary } from './handlers.js';

/**
 * ImageResolve.Resolve (our extension): the image record and its config
 * for the daemon's platform in one call, read from the caller's namespace
 * as Images.Get and Content.Read would read them. `ctr-ts run` needs both
 * before it can write a spec; three round trips of a cold CLI were ~14 ms.
 */
export function imageResolveService(images: ImageStore, content: ContentNamespaces): ImageResolveHandlers {
  return {
    Resolve: unary(async (req, call) => {
      const ns = namespaceOf(call);
      const record = images.get(ns, req.name);
      const source = providerSource(content.forNamespace(ns));
      const { manifest } = await resolveManifest(source, record.target);
      return { image: imageToProto(record), config: await readConfigBytes(source, manifest) };
    }),
  };
}
