/**
 * Turns a stream of changes into a layer tar (containerd's archive
 * ChangeWriter, by behaviour): entries carry mode, owner, mtime (whole
 * seconds), link targets, device numbers and xattrs; a file seen again
 * under another name (same inode) becomes a hardlink to the first name;
 * deletions are empty `.wh.<name>` files and opaque directories get
 * `.wh..wh..opq`, both with mode 0 and mtime 0; sockets are left out (tar
 * cannot hold them). A file whose size changes while it is read fails the
 * layer rather than writing a tar whose header lies about its data.
 */
import type { BigIntStats } from 'node:fs';
import { open, readlink } from 'node:fs/promises';
import { failedPrecondition } from '../errors.js';
import type { Change } from './diff-changes.js';
import { encodeTarHeader, TAR_END, tarPadding, type TarEntryHeader, type TarEntryType } from './tar-writer.js';

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_WHITEOUT = '.wh..wh..opq';
const READ_CHUNK = 1 << 20;

/** The layer tar of `changes`, as chunks (the end-of-archive blocks included). */
export async function* layerTar(changes: AsyncIterable<Change>): AsyncGenerator<Buffer> {
  /** dev:ino -> the first name written for it, for hardlinks. */
  const firstName = new Map<string, string>();
  for await (const change of changes) {
    if (change.kind === 'delete') {
      yield marker(siblingPath(change.path, `${WHITEOUT_PREFIX}${baseName(change.path)}`));
      continue;
    }
    if (change.kind === 'opaque') {
      yield marker(`${change.path}/${OPAQUE_WHITEOUT}`);
      continue;
    }
    const { stat, source, path } = change;
    const type = typeOf(stat);
    if (type === undefined) continue; // a socket
    const header: TarEntryHeader = {
      name: type === 'directory' ? `${path}/` : path,
      type,
      mode: Number(stat.mode) & 0o7777,
      uid: Number(stat.uid),
      gid: Number(stat.gid),
      size: 0,
      mtime: Number(stat.mtimeNs / 1_000_000_000n),
      xattrs: change.xattrs,
    };
    if (type !== 'directory' && stat.nlink > 1n) {
      const id = `${stat.dev}:${stat.ino}`;
      const first = firstName.get(id);
      if (first !== undefined) {
        yield encodeTarHeader({ ...header, type: 'link', linkname: first, xattrs: [] });
        continue;
      }
      firstName.set(id, path);
    }
    if (type === 'symlink') header.linkname = await readlink(source);
    if (type === 'char' || type === 'block') {
      header.devmajor = major(stat.rdev);
      header.devminor = minor(stat.rdev);
    }
    if (type !== 'file') {
      yield encodeTarHeader(header);
      continue;
    }
    header.size = Number(stat.size);
    yield encodeTarHeader(header);
    yield* fileData(source, header.size);
    yield tarPadding(header.size);
  }
  yield TAR_END;
}

/** Exactly `size` bytes of the file, or FailedPrecondition if it is not that long any more. */
async function* fileData(path: string, size: number): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r');
  try {
    let done = 0;
    while (done < size) {
      const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, size - done));
      const { bytesRead } = await fh.read(buf, 0, buf.length, done);
      if (bytesRead === 0) throw failedPrecondition(`${path} shrank while the diff was written (was ${size} bytes); retry when nothing writes to it`, { fields: { path } });
      done += bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** An empty regular file with mode 0 and mtime 0: a whiteout or opaque marker. */
function marker(name: string): Buffer {
  return encodeTarHeader({ name, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: 0 });
}

function typeOf(st: BigIntStats): TarEntryType | undefined {
  if (st.isDirectory()) return 'directory';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return undefined;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function siblingPath(path: string, name: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? name : `${path.slice(0, slash + 1)}${name}`;
}

/** glibc's gnu_dev_major / gnu_dev_minor on a 64-bit dev_t. */
function major(dev: bigint): number {
  return Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
}

function minor(dev: bigint): number {
  return Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
}
