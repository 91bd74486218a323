import { invalidArgument } from '../errors.js';

/**
 * Normalises a short image name the way docker and ctr users expect:
 * "busybox" -> "docker.io/library/busybox:latest". Full references and
 * digests are kept as they are.
 */
export function normalizeImageRef(ref: string): string {
  if (!ref || /\s/.test(ref)) throw invalidArgument(`invalid image reference "${ref}"`);
  if (ref.includes('@')) return ref;
  const slash = ref.indexOf('/');
  const first = slash < 0 ? '' : ref.slice(0, slash);
  const hasDomain = first.includes('.') || first.includes(':') || first === 'localhost';
  let named = hasDomain ? ref : `docker.io/${slash < 0 ? 'library/' : ''}${ref}`;
  const lastSegment = named.slice(named.lastIndexOf('/') + 1);
  if (!lastSegment.includes(':')) named += ':latest';
  return named;
}
