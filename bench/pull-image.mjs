// The pull case's material: a large multi-layer image generated on the spot
// (nothing can be downloaded) and Debian's docker-registry on loopback
// serving it. Layers are tar streams written here and gzipped by gzip(1);
// each file is half random bytes and half word-like text, so the layers
// compress about as well as real ones and gunzip has real work to do.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { must, poll, run } from './proc.mjs';

const MTIME = 1704067200;

/** A ustar header for a regular file ('0') or directory ('5'). */
function tarHeader(name, size, type) {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100);
  b.write(type === '5' ? '0000755\0' : '0000644\0', 100);
  b.write('0000000\0', 108);
  b.write('0000000\0', 116);
  b.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  b.write(`${MTIME.toString(8).padStart(11, '0')}\0`, 136);
  b.write('        ', 148);
  b.write(type, 156);
  b.write('ustar\0', 257);
  b.write('00', 263);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return b;
}

/** Word-like text: tokens drawn from a small random vocabulary. */
function textPool(bytes) {
  const words = Array.from({ length: 2048 }, () => randomBytes(4).toString('base64url').slice(0, 3 + (Math.random() * 6 | 0)));
  let s = '';
  while (s.length < bytes) s += `${words[Math.random() * words.length | 0]}${Math.random() < 0.1 ? '\n' : ' '}`;
  return Buffer.from(s.slice(0, bytes));
}

/**
 * Writes one gzipped layer of `files` files (`fileSize` bytes each, 100 per
 * directory) under `prefix`; resolves its blob digest, diff id and sizes.
 */
async function writeLayer(blobsDir, prefix, files, fileSize) {
  const tmp = path.join(blobsDir, `.${prefix}.tmp`);
  const gzip = spawn('gzip', ['-6', '-n', '-c'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const blobHash = createHash('sha256'), diffHash = createHash('sha256');
  let size = 0, rawSize = 0;
  const out = createWriteStream(tmp);
  gzip.stdout.on('data', (d) => { blobHash.update(d); size += d.length; });
  gzip.stdout.pipe(out);
  const closed = new Promise((resolve, reject) => { out.on('close', resolve); out.on('error', reject); gzip.on('error', reject); });
  const write = async (buf) => {
    diffHash.update(buf);
    rawSize += buf.length;
    if (!gzip.stdin.write(buf)) await new Promise((r) => gzip.stdin.once('drain', r));
  };
  const pool = textPool(1 << 20);
  const half = fileSize >> 1;
  await write(tarHeader(`${prefix}/`, 0, '5'));
  for (let i = 0; i < files; i++) {
    if (i % 100 === 0) await write(tarHeader(`${prefix}/d${i / 100}/`, 0, '5'));
    const at = Math.random() * (pool.length - half) | 0;
    const body = Buffer.concat([randomBytes(fileSize - half), pool.subarray(at, at + half)]);
    const pad = (512 - (fileSize % 512)) % 512;
    await write(Buffer.concat([tarHeader(`${prefix}/d${Math.floor(i / 100)}/f${i}`, fileSize, '0'), body, Buffer.alloc(pad)]));
  }
  await write(Buffer.alloc(1024));
  gzip.stdin.end();
  await closed;
  const digest = `sha256:${blobHash.digest('hex')}`;
  renameSync(tmp, path.join(blobsDir, digest.slice(7)));
  return { digest, diffId: `sha256:${diffHash.digest('hex')}`, size, rawSize };
}

/** Stores a JSON document as a blob; returns its descriptor. */
function jsonBlob(blobsDir, mediaType, doc) {
  const data = Buffer.from(JSON.stringify(doc));
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  writeFileSync(path.join(blobsDir, digest.slice(7)), data);
  return { mediaType, digest, size: data.length };
}

/**
 * Builds an OCI layout at dir: `layers` layers of filesPerLayer files each.
 * Returns what the report states about it and what the cases need.
 */
export async function buildImage(dir, { layers, filesPerLayer, fileSize }) {
  const blobsDir = path.join(dir, 'blobs/sha256');
  mkdirSync(blobsDir, { recursive: true });
  const made = await Promise.all(Array.from({ length: layers }, (_, i) => writeLayer(blobsDir, `layer${i}`, filesPerLayer, fileSize)));
  const config = jsonBlob(blobsDir, 'application/vnd.oci.image.config.v1+json', {
    architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z',
    config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: made.map((l) => l.diffId) },
  });
  const manifest = jsonBlob(blobsDir, 'application/vnd.oci.image.manifest.v1+json', {
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config,
    layers: made.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
  });
  writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }] }));
  return {
    layers: made,
    files: layers * (filesPerLayer + Math.ceil(filesPerLayer / 100) + 1),
    compressed: made.reduce((a, l) => a + l.size, 0),
    uncompressed: made.reduce((a, l) => a + l.rawSize, 0),
  };
}

async function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

/** Starts docker-registry on a free loopback port as a transient unit; returns host:port. */
export async function startRegistry(dir, unit) {
  const port = await freePort();
  mkdirSync(path.join(dir, 'storage'), { recursive: true });
  const config = path.join(dir, 'config.yml');
  writeFileSync(config, [
    'version: 0.1', 'log:', '  level: error', 'storage:', '  filesystem:', `    rootdirectory: ${dir}/storage`,
    '  delete:', '    enabled: true', 'http:', `  addr: 127.0.0.1:${port}`, '',
  ].join('\n'));
  await must(['systemd-run', '--quiet', `--unit=${unit}`, '/usr/bin/docker-registry', 'serve', config]);
  const host = `127.0.0.1:${port}`;
  const up = await poll(async () => (await run(['curl', '-sf', `http://${host}/v2/`])).code === 0, { timeoutMs: 15_000 });
  if (!up) throw new Error(`docker-registry did not answer on ${host}`);
  return host;
}

/** Pushes the OCI layout at dir to the registry as repo:latest. */
export async function pushImage(dir, host, repo) {
  await must(['skopeo', 'copy', '--quiet', '--dest-tls-verify=false', `oci:${dir}:latest`, `docker://${host}/${repo}:latest`], { timeoutMs: 600_000 });
}
