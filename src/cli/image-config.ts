import type { ImageConfig } from '../oci/image-types.js';
import type { Image as WireImage } from '../proto-types.js';
import { parseConfig } from '../snapshot/image-resolve.js';
import type { DaemonClient } from './client.js';

/**
 * The image named `name` and its config for the daemon's platform, in one
 * call (ImageResolve, containerd-ts's extension; `ctr` makes three round
 * trips for the same: Images.Get and two Content.Read streams, which cost
 * a cold CLI ~14 ms). The daemon reads them with the resolver `images
 * import` and `pull` use (src/snapshot/image-resolve.ts).
 */
export async function resolveImage(client: DaemonClient, name: string): Promise<{ image: WireImage; config: ImageConfig }> {
  const { image, config } = await client.call('imageResolve', 'Resolve', { name });
  return { image: image!, config: parseConfig(Buffer.from(config), `of image ${name}`) };
}
