/**
 * Unpacks an image's layers into committed snapshots named by chain ID
 * (containerd's unpacker): for each layer, reuse `<keyPrefix><chainID>` if it
 * is already committed, else prepare an extract snapshot on the previous
 * one, apply the layer into the directory its mounts say is writable (see
 * mounts.ts), check the diffID against the config and commit. A failure
 * removes everything this call created, including layers it committed.
 */
import { randomUUID } from 'node:crypto';
import { failedPrecondition, invalidArgument, isRuntimeError } from '../errors.js';
import type { Manifest } from '../oci/image-types.js';
import { applyLayer } from './apply.js';
import { chainIds } from './chain-id.js';
import type { Provider } from './content.js';
import { validateDigest, type Digest } from './digest.js';
import { providerSource, readConfig } from './image-resolve.js';
import { writableDir } from './mounts.js';
import type { Info, Snapshotter } from './snapshotter.js';

/** Inputs of an unpack: where blobs are, where snapshots go, what to unpack. */
export interface UnpackOptions {
  content: Provider;
  snapshotter: Snapshotter;
  /** A single-platform manifest (resolve indexes first, see image-resolve.ts). */
  manifest: Manifest;
  /** Prepended to every snapshot key, e.g. `<namespace>/`; committed names are `<keyPrefix><chainID>`. */
  keyPrefix: string;
}

/** The image's identity in snapshot terms. */
export interface UnpackResult {
  /** Chain ID of the top layer: the committed snapshot `<keyPrefix><chainId>` is the image rootfs parent. */
  chainId: Digest;
  diffIds: Digest[];
}

/** Label containerd puts on extract snapshots, naming the chain ID they become. */
const SNAPSHOT_REF_LABEL = 'containerd.io/snapshot.ref';

/** Unpacks every layer of `manifest`, reusing committed layers. */
export async function unpackImage(options: UnpackOptions): Promise<UnpackResult> {
  const { content, snapshotter, manifest, keyPrefix } = options;
  const diffIds = await configDiffIds(content, manifest);
  const chain = chainIds(diffIds);
  const created: string[] = [];
  let parent: string | undefined;
  try {
    for (const [i, layer] of manifest.layers.entries()) {
      const name = `${keyPrefix}${chain[i] as Digest}`;
      const existing = await statOrUndefined(snapshotter, name);
      if (existing !== undefined) {
        if (existing.kind !== 'committed') throw failedPrecondition(`snapshot ${name} exists but is not committed`, { fields: { key: name } });
        parent = name;
        continue;
      }
      const made = await unpackLayer(options, i, layer.digest, layer.mediaType, diffIds[i] as Digest, name, parent);
      if (made) created.push(name);
      parent = name;
    }
  } catch (err) {
    for (const name of created.reverse()) await snapshotter.remove(name).catch(() => undefined);
    throw err;
  }
  return { chainId: chain[chain.length - 1] as Digest, diffIds };
}

/** Applies one layer into a fresh extract snapshot and commits it as `name`; false if someone else committed it first. */
async function unpackLayer(
  { content, snapshotter, keyPrefix }: UnpackOptions,
  index: number,
  digest: string,
  mediaType: string,
  diffId: Digest,
  name: string,
  parent: string | undefined,
): Promise<boolean> {
  const chainId = name.slice(keyPrefix.length);
  const extractKey = `${keyPrefix}extract-${randomUUID()} ${chainId}`;
  const mounts = await snapshotter.prepare(extractKey, parent, { [SNAPSHOT_REF_LABEL]: chainId });
  try {
    const stream = await content.reader(validateDigest(digest));
    const applied = await applyLayer(stream, mediaType, writableDir(mounts));
    if (applied.diffId !== diffId) {
      throw invalidArgument(`layer ${index} (${digest}) has diffID ${applied.diffId}, but the image config says ${diffId}`, {
        fields: { layer: digest, expected: diffId, actual: applied.diffId },
      });
    }
    try {
      await snapshotter.commit(name, extractKey);
      return true;
    } catch (err) {
      if (!isRuntimeError(err, 'AlreadyExists')) throw err;
      await snapshotter.remove(extractKey);
      return false;
    }
  } catch (err) {
    await snapshotter.remove(extractKey).catch(() => undefined);
    throw err;
  }
}

/** The config's diff_ids, validated and matched one-to-one with the manifest's layers. */
async function configDiffIds(content: Provider, manifest: Manifest): Promise<Digest[]> {
  const config = await readConfig(providerSource(content), manifest);
  const diffIds = config.rootfs.diff_ids.map((d) => validateDigest(d));
  if (manifest.layers.length === 0) throw invalidArgument('image manifest has no layers');
  if (diffIds.length !== manifest.layers.length) {
    throw invalidArgument(`image config lists ${diffIds.length} diff_ids for ${manifest.layers.length} layers`);
  }
  return diffIds;
}

async function statOrUndefined(snapshotter: Snapshotter, key: string): Promise<Info | undefined> {
  try {
    return await snapshotter.stat(key);
  } catch (err) {
    if (isRuntimeError(err, 'NotFound')) return undefined;
    throw err;
  }
}
