/**
 * Pushes images to a registry with the distribution API (monolithic blob
 * uploads, manifests by digest, then the tag), so tests need neither skopeo
 * nor a network: an OCI image layout (as make-busybox-image.sh writes it)
 * or in-memory documents.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';

export interface PushTarget {
  /** Base URL, e.g. http://127.0.0.1:5000 */
  base: string;
  repo: string;
  /** Basic credentials, when the registry wants them. */
  auth?: { username: string; password: string };
  dispatcher?: Agent;
}

export interface PushedDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function headers(t: PushTarget, extra: Record<string, string> = {}): Record<string, string> {
  return { ...extra, ...(t.auth ? { authorization: `Basic ${Buffer.from(`${t.auth.username}:${t.auth.password}`).toString('base64')}` } : {}) };
}

/** Uploads one blob (skipped when the registry has it). */
export async function pushBlob(t: PushTarget, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const head = await request(`${t.base}/v2/${t.repo}/blobs/${digest}`, { method: 'HEAD', headers: headers(t), ...(t.dispatcher ? { dispatcher: t.dispatcher } : {}) });
  await head.body.dump();
  if (head.statusCode === 200) return digest;
  const start = await request(`${t.base}/v2/${t.repo}/blobs/uploads/`, { method: 'POST', headers: headers(t), ...(t.dispatcher ? { dispatcher: t.dispatcher } : {}) });
  await start.body.dump();
  if (start.statusCode !== 202) throw new Error(`blob upload start for ${t.repo}: ${start.statusCode}`);
  const location = new URL(String(start.headers.location), t.base);
  location.searchParams.set('digest', digest);
  const put = await request(location, {
    method: 'PUT',
    headers: headers(t, { 'content-type': 'application/octet-stream', 'content-length': String(data.length) }),
    body: data,
    ...(t.dispatcher ? { dispatcher: t.dispatcher } : {}),
  });
  const text = await put.body.text();
  if (put.statusCode !== 201) throw new Error(`blob upload of ${digest} to ${t.repo}: ${put.statusCode} ${text}`);
  return digest;
}

/** Puts a manifest or index under `reference` (a tag or its digest). */
export async function pushManifest(t: PushTarget, data: Buffer, mediaType: string, reference: string = sha256(data)): Promise<PushedDescriptor> {
  const res = await request(`${t.base}/v2/${t.repo}/manifests/${reference}`, {
    method: 'PUT',
    headers: headers(t, { 'content-type': mediaType }),
    body: data,
    ...(t.dispatcher ? { dispatcher: t.dispatcher } : {}),
  });
  const text = await res.body.text();
  if (res.statusCode !== 201) throw new Error(`manifest put ${t.repo}:${reference}: ${res.statusCode} ${text}`);
  return { mediaType, digest: sha256(data), size: data.length };
}

/**
 * Pushes every image of an OCI layout's index.json: blobs, then each
 * manifest by digest; the first manifest also under `tag`. Returns the
 * manifests pushed (with their platforms).
 */
export async function pushLayout(t: PushTarget, layoutDir: string, tag: string): Promise<PushedDescriptor[]> {
  const blob = (d: string) => readFile(join(layoutDir, 'blobs', 'sha256', d.replace(/^sha256:/, '')));
  const index = JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8')) as { manifests: Array<PushedDescriptor> };
  const pushed: PushedDescriptor[] = [];
  for (const m of index.manifests) {
    const data = await blob(m.digest);
    const manifest = JSON.parse(data.toString()) as { config: { digest: string }; layers: Array<{ digest: string }> };
    for (const d of [manifest.config, ...manifest.layers]) await pushBlob(t, await blob(d.digest));
    await pushManifest(t, data, m.mediaType);
    pushed.push({ mediaType: m.mediaType, digest: m.digest, size: m.size, ...(m.platform ? { platform: m.platform } : {}) });
  }
  const first = index.manifests[0];
  if (first) await pushManifest(t, await blob(first.digest), first.mediaType, tag);
  return pushed;
}

/** Pushes an OCI index over already-pushed manifests, under `tag`. */
export async function pushIndex(t: PushTarget, manifests: PushedDescriptor[], tag: string): Promise<PushedDescriptor> {
  const doc = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests };
  return pushManifest(t, Buffer.from(JSON.stringify(doc)), doc.mediaType, tag);
}

/**
 * Pushes a small image for another platform (one tiny layer): enough for
 * an index to offer a choice. Returns its manifest descriptor.
 */
export async function pushForeignImage(t: PushTarget, platform: { os: string; architecture: string; variant?: string }, layerTarGz: Buffer, diffId: string): Promise<PushedDescriptor> {
  const config = Buffer.from(JSON.stringify({ architecture: platform.architecture, os: platform.os, ...(platform.variant ? { variant: platform.variant } : {}), rootfs: { type: 'layers', diff_ids: [diffId] } }));
  await pushBlob(t, config);
  await pushBlob(t, layerTarGz);
  const manifest = ociManifest(config, [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layerTarGz), size: layerTarGz.length }]);
  const d = await pushManifest(t, manifest, 'application/vnd.oci.image.manifest.v1+json');
  return { ...d, platform };
}

/** A pushed layer as test/support/layers.ts's layerOf() makes it. */
export interface PushedLayer {
  gz: Buffer;
  diffId: string;
  desc: { mediaType: string; digest: string; size: number };
}

/** Pushes an OCI image of `layers` with `config` (its rootfs replaced) as `tag`; returns its digests. */
export async function pushImage(t: PushTarget, tag: string, layers: PushedLayer[], config: Record<string, unknown>) {
  for (const l of layers) await pushBlob(t, l.gz);
  const configData = Buffer.from(JSON.stringify({ ...config, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } }));
  await pushBlob(t, configData);
  const manifest = ociManifest(configData, layers.map((l) => l.desc));
  await pushManifest(t, manifest, 'application/vnd.oci.image.manifest.v1+json', tag);
  return { manifest: sha256(manifest), config: sha256(configData), layers: layers.map((l) => l.desc.digest), chainBase: layers[0]!.diffId };
}

/** An OCI image manifest document for `config` and `layers`. */
function ociManifest(config: Buffer, layers: Array<{ mediaType: string; digest: string; size: number }>): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers,
    }),
  );
}
