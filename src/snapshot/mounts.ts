/**
 * Where to write a layer, read off a snapshot's mounts (as containerd's
 * diff/apply/apply_linux.go does for overlay): the upperdir of an overlay
 * mount, or the source of a writable bind mount. This keeps the applier
 * working from mounts alone, so Diff.Apply over gRPC and local unpacking use
 * the same path and no temporary mount is needed.
 */
import { invalidArgument, unimplemented } from '../errors.js';
import type { Mount } from './snapshotter.js';

/** The directory a layer should be extracted into for these mounts. */
export function writableDir(mounts: Mount[]): string {
  if (mounts.length !== 1) {
    throw unimplemented(`applying a layer into ${mounts.length} mounts is not supported; expected one overlay or bind mount`);
  }
  const m = mounts[0] as Mount;
  if (m.type === 'overlay') {
    const upper = optionValue(m.options, 'upperdir');
    if (upper === undefined) throw invalidArgument('overlay mount has no upperdir: it is read-only');
    return upper;
  }
  if (m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind')) {
    if (m.options.includes('ro')) throw invalidArgument(`bind mount of ${m.source} is read-only`);
    return m.source;
  }
  throw unimplemented(`applying a layer into a ${m.type} mount is not supported`);
}

/** The value of `name=value` in mount options, or undefined. */
export function optionValue(options: string[], name: string): string | undefined {
  const prefix = `${name}=`;
  const found = options.find((o) => o.startsWith(prefix));
  return found === undefined ? undefined : found.slice(prefix.length);
}
