import { formatReference, parseReference } from '../oci/distribution/reference.js';

/**
 * Normalises a short image name the way docker and ctr users expect:
 * "busybox" -> "docker.io/library/busybox:latest", with the same parser
 * the registry client uses, so names match the stored records.
 */
export function normalizeImageRef(ref: string): string {
  return formatReference(parseReference(ref));
}
