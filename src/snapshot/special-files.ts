/**
 * The two filesystem calls Node lacks: mknod (device nodes, fifos, overlay
 * whiteouts) and lsetxattr (PAX xattrs, overlay opaque dirs). Preferred
 * backend: one python3 coprocess per applied layer (`os.mknod`,
 * `os.setxattr(follow_symlinks=False)`), fed one JSON line per call, so a layer
 * with many whiteouts costs one process start (~15 ms), not one per entry.
 * Without python3 the coreutils `mknod` and attr's `setfattr -h` run once per
 * call (Debian: `setfattr` is in the `attr` package, not installed by default).
 */
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ResultPromise } from 'execa';
import { internal, RuntimeError, unimplemented } from '../errors.js';

/** execa, loaded on the first helper call: each applier thread would otherwise pay its ~200 ms load, most layers for nothing. */
async function loadExeca(): Promise<typeof import('execa').execa> {
  return (await import('execa')).execa;
}

/** What a node is: character or block device, or fifo. */
export type NodeKind = 'char' | 'block' | 'fifo';

/** mknod and lsetxattr for the applier; paths are absolute and their parents already verified. */
export interface SpecialFiles {
  /** Creates a device node or fifo with exactly `perm` (no umask). */
  mknod(path: string, kind: NodeKind, perm: number, major: number, minor: number): Promise<void>;
  /** Sets an extended attribute without following a symlink at `path`. */
  setxattr(path: string, name: string, value: Uint8Array): Promise<void>;
  /** Ends the helper process, if one was started. */
  close(): Promise<void>;
}

/**
 * Runs in the coprocess. It refuses any path whose parent resolves elsewhere
 * (i.e. contains a symlink), as a second line of defence behind the applier.
 */
const PYTHON_HELPER = String.raw`
import json, os, stat, sys
os.umask(0)
KINDS = {'char': stat.S_IFCHR, 'block': stat.S_IFBLK, 'fifo': stat.S_IFIFO}
for line in sys.stdin:
    try:
        c = json.loads(line)
        p = c['path']
        d = os.path.dirname(p)
        if os.path.realpath(d) != d:
            raise OSError(40, 'parent directory resolves through a symlink: ' + d)
        if c['op'] == 'mknod':
            os.mknod(p, KINDS[c['kind']] | c['perm'], os.makedev(c['major'], c['minor']))
        elif c['op'] == 'setxattr':
            os.setxattr(p, c['name'], bytes.fromhex(c['value']), follow_symlinks=False)
        else:
            raise ValueError('unknown op')
        sys.stdout.write('{"ok":true}\n')
    except Exception as e:
        sys.stdout.write(json.dumps({'ok': False, 'error': str(e), 'errno': getattr(e, 'errno', None)}) + '\n')
    sys.stdout.flush()
`;

/** Finds an executable by absolute candidates first, then on PATH. */
async function findExecutable(name: string, preferred: string[] = []): Promise<string | undefined> {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const candidate of [...preferred, ...dirs.map((d) => join(d, name))]) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Picks the backend (python3 coprocess, else per-call tools). Nothing is started until the first call. */
export async function openSpecialFiles(): Promise<SpecialFiles> {
  const python = await findExecutable('python3', ['/usr/bin/python3']);
  if (python !== undefined) return new PythonSpecialFiles(python);
  return new ToolSpecialFiles(await findExecutable('mknod'), await findExecutable('setfattr'));
}

/**
 * SpecialFiles whose backend is picked on the first call: nothing is looked
 * up or started for a layer that needs neither call, and the caller can
 * start reading its input without awaiting anything first.
 */
export function lazySpecialFiles(): SpecialFiles {
  let backend: Promise<SpecialFiles> | undefined;
  const get = () => (backend ??= openSpecialFiles());
  return {
    mknod: async (path, kind, perm, major, minor) => (await get()).mknod(path, kind, perm, major, minor),
    setxattr: async (path, name, value) => (await get()).setxattr(path, name, value),
    close: async () => {
      if (backend !== undefined) await (await backend).close();
    },
  };
}

interface HelperReply {
  ok: boolean;
  error?: string;
  errno?: number | null;
}

class PythonSpecialFiles implements SpecialFiles {
  private proc: ResultPromise<{ stdin: 'pipe'; stdout: 'pipe'; stderr: 'pipe'; buffer: false }> | undefined;
  private lines: AsyncIterator<string> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly python: string) {}

  mknod(path: string, kind: NodeKind, perm: number, major: number, minor: number): Promise<void> {
    return this.call({ op: 'mknod', path, kind, perm: perm & 0o7777, major, minor });
  }

  setxattr(path: string, name: string, value: Uint8Array): Promise<void> {
    return this.call({ op: 'setxattr', path, name, value: Buffer.from(value).toString('hex') });
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    const proc = this.proc;
    if (proc === undefined) return;
    this.proc = undefined;
    proc.stdin.end();
    await proc.catch(() => undefined);
  }

  private call(request: Record<string, unknown>): Promise<void> {
    const run = this.queue.then(() => this.roundTrip(request));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async roundTrip(request: Record<string, unknown>): Promise<void> {
    const lines = await this.start();
    this.proc?.stdin.write(`${JSON.stringify(request)}\n`);
    const next = await lines.next();
    if (next.done) throw internal(`python3 helper for ${String(request.op)} exited unexpectedly`);
    const reply = JSON.parse(next.value) as HelperReply;
    if (!reply.ok) {
      throw new RuntimeError('InvalidArgument', `${String(request.op)} ${String(request.path)}: ${reply.error ?? 'failed'}`, {
        fields: { errno: reply.errno ?? undefined },
      });
    }
  }

  private async start(): Promise<AsyncIterator<string>> {
    if (this.lines !== undefined && this.proc !== undefined) return this.lines;
    const execa = await loadExeca();
    const proc = execa(this.python, ['-c', PYTHON_HELPER], { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', buffer: false });
    proc.catch(() => undefined);
    this.proc = proc;
    this.lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
    return this.lines;
  }
}

class ToolSpecialFiles implements SpecialFiles {
  constructor(
    private readonly mknodBin: string | undefined,
    private readonly setfattrBin: string | undefined,
  ) {}

  async mknod(path: string, kind: NodeKind, perm: number, major: number, minor: number): Promise<void> {
    if (this.mknodBin === undefined) throw unimplemented('creating device nodes needs python3 or coreutils mknod');
    const mode = (perm & 0o7777).toString(8);
    const args = kind === 'fifo' ? ['-m', mode, path, 'p'] : ['-m', mode, path, kind === 'char' ? 'c' : 'b', String(major), String(minor)];
    await run(this.mknodBin, args);
  }

  async setxattr(path: string, name: string, value: Uint8Array): Promise<void> {
    if (this.setfattrBin === undefined) {
      throw unimplemented(`setting xattr ${name} needs python3 or setfattr (Debian package "attr")`);
    }
    await run(this.setfattrBin, ['-h', '-n', name, '-v', `0x${Buffer.from(value).toString('hex')}`, path]);
  }

  async close(): Promise<void> {}
}

async function run(file: string, args: string[]): Promise<void> {
  const execa = await loadExeca();
  const result = await execa(file, args, { reject: false, stdin: 'ignore' });
  if (result.exitCode !== 0) {
    throw new RuntimeError('InvalidArgument', `${file} ${args.join(' ')} failed: ${String(result.stderr).trim()}`);
  }
}
