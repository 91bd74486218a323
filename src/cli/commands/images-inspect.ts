import { alreadyExists, invalidArgument, isRuntimeError } from '../../errors.js';
import { isIndex, isIndexMediaType, parseJsonBlob, type Descriptor, type Index } from '../../oci/image-types.js';
import { formatPlatform, onlyPlatform, parsePlatform } from '../../oci/platform.js';
import { fromTimestamp } from '../../timestamp.js';
import { providerSource, readConfig, resolveManifest } from '../../snapshot/image-resolve.js';
import type { OptionSpec, Parsed } from '../args.js';
import type { DaemonClient } from '../client.js';
import { normalizeImageRef } from '../image-ref.js';
import { remoteContent } from '../remote-content.js';
import { humanSize } from './images.js';

export const tagOptions: Record<string, OptionSpec> = {
  force: { type: 'boolean', short: 'f', description: 'replace DST if it already names another image' },
};

/** `ctr-ts images tag [--force] SRC DST...`: more names for the same target (Images.Get, then Create or Update). */
export async function imagesTag(client: DaemonClient, args: Parsed): Promise<number> {
  const [src, ...dsts] = args.positionals;
  if (!src || dsts.length === 0) throw invalidArgument('usage: ctr-ts images tag [--force] SRC DST [DST...]');
  const { image } = await client.call('images', 'Get', { name: normalizeImageRef(src) });
  if (!image?.target) throw invalidArgument(`image ${src} has no target`);
  for (const dst of dsts) {
    const name = normalizeImageRef(dst);
    const record = { name, labels: image.labels ?? {}, target: image.target };
    try {
      await client.call('images', 'Create', { image: record });
    } catch (err) {
      if (!isRuntimeError(err, 'AlreadyExists')) throw err;
      if (args.options.force !== true) throw alreadyExists(`image ${name} already exists; pass --force to point it at ${src}`);
      await client.call('images', 'Update', { image: record, update_mask: { paths: ['target', 'labels'] } });
    }
    process.stdout.write(`${name}\n`);
  }
  return 0;
}

export const inspectOptions: Record<string, OptionSpec> = {
  platform: { type: 'string', description: "platform to show from a multi-platform image, os/arch[/variant] (default: this machine's)", placeholder: 'PLATFORM' },
  json: { type: 'boolean', description: 'print JSON instead of a summary' },
};

/** What `images inspect` reports about one image. */
export interface ImageInspection {
  name: string;
  target: Descriptor;
  createdAt: string;
  labels: Record<string, string>;
  /** The platforms of a multi-platform image (absent for a single manifest). */
  platforms?: Array<{ platform: string; digest: string; size: number }>;
  manifest: Descriptor;
  platform: string;
  config: {
    digest: string;
    created?: string;
    author?: string;
    user?: string;
    env: string[];
    entrypoint: string[];
    cmd: string[];
    workingDir?: string;
    labels: Record<string, string>;
    exposedPorts: string[];
    stopSignal?: string;
  };
  layers: Array<{ digest: string; mediaType: string; size: number; diffId: string }>;
  /** Bytes of manifest, config and layers (what a pull of this platform downloads). */
  size: number;
}

/** `ctr-ts images inspect [--platform P] [--json] REF`: manifest, config, layers, platform and size, read over Content.Read. */
export async function imagesInspect(client: DaemonClient, args: Parsed): Promise<number> {
  const ref = args.positionals[0];
  if (!ref || args.positionals.length > 1) throw invalidArgument('usage: ctr-ts images inspect [--platform P] [--json] REF');
  const { image } = await client.call('images', 'Get', { name: normalizeImageRef(ref) });
  if (!image?.target) throw invalidArgument(`image ${ref} has no target`);
  const target: Descriptor = { mediaType: image.target.media_type, digest: image.target.digest, size: Number(image.target.size) };
  const source = providerSource(remoteContent(client));
  const matcher = typeof args.options.platform === 'string' ? onlyPlatform(parsePlatform(args.options.platform)) : onlyPlatform();
  let platforms: ImageInspection['platforms'];
  if (isIndexMediaType(target.mediaType)) {
    const index = parseJsonBlob<Index>(await source(target), `index ${target.digest}`, isIndex);
    platforms = index.manifests.map((m) => ({ platform: m.platform ? formatPlatform(m.platform) : 'unknown', digest: m.digest, size: m.size }));
  }
  const { descriptor, manifest } = await resolveManifest(source, target, matcher);
  const config = await readConfig(source, manifest);
  const rc = config.config ?? {};
  const inspection: ImageInspection = {
    name: image.name,
    target,
    createdAt: fromTimestamp(image.created_at).toISOString(),
    labels: image.labels ?? {},
    ...(platforms ? { platforms } : {}),
    manifest: { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size },
    platform: formatPlatform({ os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) }),
    config: {
      digest: manifest.config.digest,
      ...(config.created ? { created: config.created } : {}),
      ...(config.author ? { author: config.author } : {}),
      ...(rc.User ? { user: rc.User } : {}),
      env: rc.Env ?? [],
      entrypoint: rc.Entrypoint ?? [],
      cmd: rc.Cmd ?? [],
      ...(rc.WorkingDir ? { workingDir: rc.WorkingDir } : {}),
      labels: rc.Labels ?? {},
      exposedPorts: Object.keys(rc.ExposedPorts ?? {}),
      ...(rc.StopSignal ? { stopSignal: rc.StopSignal } : {}),
    },
    layers: manifest.layers.map((l, i) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size, diffId: config.rootfs.diff_ids[i] ?? '' })),
    size: descriptor.size + manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0),
  };
  process.stdout.write(args.options.json === true ? `${JSON.stringify(inspection, null, 2)}\n` : summary(inspection));
  return 0;
}

/** The readable form: one field a line, layers indented. */
function summary(i: ImageInspection): string {
  const words = (a: string[]) => a.map((w) => (/\s/.test(w) ? JSON.stringify(w) : w)).join(' ');
  const lines: Array<[string, string]> = [
    ['Name', i.name],
    ['Target', `${i.target.digest} (${i.target.mediaType}, ${i.target.size} bytes)`],
    ['Created', i.config.created ?? ''],
    ['Platform', i.platform],
  ];
  if (i.platforms) lines.push(['Platforms', i.platforms.map((p) => p.platform).join(', ')]);
  lines.push(
    ['Manifest', `${i.manifest.digest} (${i.manifest.mediaType})`],
    ['Config', i.config.digest],
    ['Entrypoint', words(i.config.entrypoint)],
    ['Cmd', words(i.config.cmd)],
    ['WorkingDir', i.config.workingDir ?? ''],
    ['User', i.config.user ?? ''],
    ['Env', i.config.env.join('\n' + ' '.repeat(12))],
  );
  if (i.config.exposedPorts.length > 0) lines.push(['Ports', i.config.exposedPorts.join(', ')]);
  for (const [k, v] of Object.entries(i.config.labels)) lines.push(['Label', `${k}=${v}`]);
  lines.push(['Size', `${humanSize(i.size)} (${i.size} bytes, compressed)`], ['Layers', String(i.layers.length)]);
  const head = lines.map(([k, v]) => `${`${k}:`.padEnd(12)}${v}`.trimEnd()).join('\n');
  const layers = i.layers.map((l) => `  ${l.digest}  ${humanSize(l.size).padStart(10)}  ${l.mediaType}`).join('\n');
  return `${head}\n${layers}\n`;
}
