/**
 * zstd decompression through the `zstd` program (Debian package zstd), since
 * Node 20 has no zstd decoder. The output ends only after zstd exited with
 * status 0, so a corrupt or truncated frame is an error, never a silently
 * short layer. The child is killed when the consumer stops reading.
 */
import { spawn } from 'node:child_process';
import { PassThrough, pipeline, Readable } from 'node:stream';
import { invalidArgument, unimplemented } from '../errors.js';

/** The zstd program; `CONTAINERD_TS_ZSTD` overrides it (tests, other installs). */
const zstdProgram = () => process.env.CONTAINERD_TS_ZSTD ?? 'zstd';

/** The decompressed bytes of the zstd stream `source`; `label` names it in errors. */
export function zstdDecompress(source: AsyncIterable<Buffer>, label: string): Readable {
  const out = new PassThrough();
  const input = Readable.from(source, { objectMode: false });
  const child = spawn(zstdProgram(), ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString('utf8');
  });
  child.stdout.pipe(out, { end: false });
  // EPIPE when zstd quits early (bad data) is reported by its exit status below.
  pipeline(input, child.stdin, () => undefined);
  child.on('error', (err: NodeJS.ErrnoException) => {
    out.destroy(
      err.code === 'ENOENT'
        ? unimplemented(`zstd layers need the zstd program (apt install zstd); ${zstdProgram()} was not found (${label})`, { cause: err })
        : err,
    );
  });
  child.on('close', (code, signal) => {
    if (out.destroyed) return;
    if (code === 0) out.end();
    else out.destroy(invalidArgument(`${label} is not valid zstd data: ${stderr.trim() || `zstd exited with ${code ?? signal}`}`, { fields: { what: label } }));
  });
  out.on('close', () => {
    input.destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return out;
}
