/**
 * Unpacking while the layers download (the pull's unpacker). Each layer is
 * extracted into its own parentless staging snapshot, so layers extract in
 * parallel and each can be fed straight from its download; overlay layers
 * do not need their parents' contents to be written (whiteouts are char
 * devices and opaque xattrs in the layer's own directory). Once a layer is
 * fully applied, its diffID matches the config and every layer below it is
 * committed, its directory moves into an extract snapshot on the right
 * parent, which is committed as `<keyPrefix><chainID>` as unpack.ts does.
 *
 * Per layer: begin() -> (the caller writes the blob's bytes as they arrive)
 * -> complete(streamed): when the bytes were not one verified stream from
 * byte 0 (a resumed or restarted download, a joined download, a blob already
 * in the store), the staged extraction is thrown away and the layer is
 * applied again from the verified blob, so nothing is ever applied twice or
 * from unverified bytes that differ from the blob. Extraction threads are a
 * bounded pool (apply-pool.ts): when none is free at begin(), the layer just
 * downloads and complete() applies it from the store once a thread is free.
 * Any failure: cleanup() removes every snapshot this unpack made.
 */
import { randomUUID } from 'node:crypto';
import { rename, rmdir } from 'node:fs/promises';
import { failedPrecondition, invalidArgument, isRuntimeError } from '../errors.js';
import type { Descriptor } from '../oci/image-types.js';
import { startLayerApply, type ApplyResult, type LayerApply } from './apply.js';
import { defaultExtractorPool, type ExtractorPool } from './apply-pool.js';
import { chainIds } from './chain-id.js';
import type { Provider } from './content.js';
import { validateDigest, type Digest } from './digest.js';
import { writableDir } from './mounts.js';
import type { Snapshotter } from './snapshotter.js';

/** Label containerd puts on extract snapshots, naming the chain ID they become. */
const SNAPSHOT_REF_LABEL = 'containerd.io/snapshot.ref';

/** What a streaming unpack needs. */
export interface StreamingUnpackOptions {
  content: Provider;
  snapshotter: Snapshotter;
  layers: Descriptor[];
  /** The config's rootfs.diff_ids (validated here against the layer count). */
  diffIds: string[];
  /** Prepended to every snapshot key, e.g. `<namespace>/`. */
  keyPrefix: string;
  /** Extraction threads (default: the process-wide pool). */
  pool?: ExtractorPool;
}

/** A staging snapshot: its key and the directory extraction writes into. */
interface StagedSnapshot {
  stageKey: string;
  dir: string;
}

/** Where one layer position is. */
type LayerState =
  | { kind: 'present' }
  | { kind: 'staged'; stageKey: string; dir: string; apply: LayerApply }
  | { kind: 'applied'; stageKey: string; dir: string }
  | { kind: 'committed' };

/** The unpack of one image's layers; see the file comment for the protocol. */
export class StreamingUnpack {
  private readonly states: Array<LayerState | undefined>;
  private readonly chain: Digest[];
  private readonly diffIds: Digest[];
  private readonly stagingKeys = new Set<string>();
  private readonly committedHere: string[] = [];
  /** Settles when layer i is applied and checked (complete() done) or the unpack stopped. */
  private readonly ready: Array<{ promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void }>;
  /** Settles when layer i (and so every layer below it) is committed. */
  private readonly committed: Array<Promise<void>>;
  private failed = false;
  private readonly pool: ExtractorPool;

  constructor(private readonly options: StreamingUnpackOptions) {
    this.pool = options.pool ?? defaultExtractorPool();
    const { layers, diffIds } = options;
    if (layers.length === 0) throw invalidArgument('image manifest has no layers');
    if (diffIds.length !== layers.length) throw invalidArgument(`image config lists ${diffIds.length} diff_ids for ${layers.length} layers`);
    this.diffIds = diffIds.map((d) => validateDigest(d));
    this.chain = chainIds(this.diffIds);
    this.states = layers.map(() => undefined);
    this.ready = layers.map(() => {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      promise.catch(() => undefined);
      return { promise, resolve, reject };
    });
    // Commits happen strictly in layer order, whatever order the layers finish in.
    let below: Promise<void> = Promise.resolve();
    this.committed = layers.map((_, i) => {
      below = below.then(() => (this.ready[i] as { promise: Promise<void> }).promise).then(() => this.commitInOrder(i));
      below.catch(() => undefined);
      return below;
    });
  }

  /** Chain ID of the top layer. */
  get chainId(): Digest {
    return this.chain[this.chain.length - 1] as Digest;
  }

  /**
   * Starts layer `i` if an extraction thread is free: an apply to write the
   * blob's bytes into, from byte 0. Undefined when its snapshot is already
   * committed (no extraction needed) or when every thread is busy: then the
   * download goes on alone and complete() applies the layer from the store,
   * rather than holding the download back.
   */
  async begin(i: number): Promise<LayerApply | undefined> {
    if (await this.isCommitted(this.name(i))) {
      this.states[i] = { kind: 'present' };
      return undefined;
    }
    const thread = this.pool.tryAcquire();
    if (thread === undefined) return undefined;
    let staged: StagedSnapshot;
    try {
      staged = await this.stageSnapshot(i);
    } catch (err) {
      this.pool.release(thread);
      throw err;
    }
    const apply = await startLayerApply((this.options.layers[i] as Descriptor).mediaType, staged.dir, { pool: this.pool, thread });
    this.states[i] = { kind: 'staged', ...staged, apply };
    return apply;
  }

  /**
   * Layer `i`'s blob is in the content store, verified. `streamed` says the
   * apply from begin() saw exactly the blob's bytes from 0 to the end; if not
   * (or begin was never called), the layer is applied from the store. Checks
   * the diffID, then queues the commit behind the layers below.
   */
  async complete(i: number, streamed: boolean): Promise<void> {
    const ready = this.ready[i] as { resolve: () => void; reject: (e: unknown) => void };
    try {
      await this.applyLayer(i, streamed);
      ready.resolve();
    } catch (err) {
      ready.reject(err);
      throw err;
    }
  }

  private async applyLayer(i: number, streamed: boolean): Promise<void> {
    const state = this.states[i];
    if (state === undefined && (await this.isCommitted(this.name(i)))) {
      this.states[i] = { kind: 'present' }; // never begun, and committed meanwhile (by another pull)
      return;
    }
    if (state !== undefined && state.kind !== 'staged') return;
    const result = state !== undefined && streamed ? await state.apply.finish() : await this.applyFromStore(i, state);
    const fresh = this.states[i] as LayerState & { kind: 'staged' };
    this.checkDiffId(i, result);
    this.states[i] = { kind: 'applied', stageKey: fresh.stageKey, dir: fresh.dir };
  }

  /** Waits for every layer's commit; the result names the top snapshot. */
  async finish(): Promise<{ chainId: Digest; diffIds: Digest[] }> {
    await this.committed[this.committed.length - 1];
    return { chainId: this.chainId, diffIds: this.diffIds };
  }

  /** Stops every running extraction (their writes and completions reject); cleanup() still has to run. */
  async stop(): Promise<void> {
    this.failed = true;
    const stopped = failedPrecondition('unpack was stopped');
    for (const r of this.ready) r.reject(stopped); // no-op for layers already applied
    await Promise.all(this.states.map((s) => (s?.kind === 'staged' ? s.apply.abort() : undefined)));
  }

  /** Stops every extraction and removes every snapshot this unpack created (staging and committed). */
  async cleanup(): Promise<void> {
    await this.stop();
    await Promise.all(this.committed.map((p) => p.catch(() => undefined)));
    for (const key of this.stagingKeys) await this.options.snapshotter.remove(key).catch(() => undefined);
    this.stagingKeys.clear();
    for (const name of this.committedHere.reverse()) await this.options.snapshotter.remove(name).catch(() => undefined);
    this.committedHere.length = 0;
  }

  private name(i: number): string {
    return `${this.options.keyPrefix}${this.chain[i] as Digest}`;
  }

  /** A parentless snapshot for layer `i`'s extraction. */
  private async stageSnapshot(i: number): Promise<StagedSnapshot> {
    if (this.failed) throw failedPrecondition('unpack was stopped');
    const { snapshotter, keyPrefix } = this.options;
    const stageKey = `${keyPrefix}extract-${randomUUID()} ${this.chain[i] as Digest}`;
    const mounts = await snapshotter.prepare(stageKey, undefined, { [SNAPSHOT_REF_LABEL]: this.chain[i] as Digest });
    this.stagingKeys.add(stageKey);
    return { stageKey, dir: writableDir(mounts) };
  }

  /**
   * Applies layer `i` from the verified blob into a fresh staging snapshot
   * (waiting for an extraction thread), after dropping a streamed extraction
   * that cannot be used (`previous`), if any.
   */
  private async applyFromStore(i: number, previous: (LayerState & { kind: 'staged' }) | undefined): Promise<ApplyResult> {
    if (previous !== undefined) {
      await previous.apply.abort();
      await this.dropStage(previous.stageKey);
    }
    const staged = await this.stageSnapshot(i);
    const layer = this.options.layers[i] as Descriptor;
    const apply = await startLayerApply(layer.mediaType, staged.dir, { pool: this.pool });
    this.states[i] = { kind: 'staged', ...staged, apply };
    if (this.failed) {
      // stop() ran while this waited for a thread
      await apply.abort();
      throw failedPrecondition('unpack was stopped');
    }
    const stream = await this.options.content.reader(validateDigest(layer.digest));
    try {
      for await (const chunk of stream) await apply.write(chunk as Uint8Array);
    } catch (err) {
      stream.destroy();
      await apply.abort();
      throw err;
    }
    return apply.finish();
  }

  private checkDiffId(i: number, applied: ApplyResult): void {
    const expected = this.diffIds[i] as Digest;
    if (applied.diffId === expected) return;
    const digest = (this.options.layers[i] as Descriptor).digest;
    throw invalidArgument(`layer ${i} (${digest}) has diffID ${applied.diffId}, but the image config says ${expected}`, {
      fields: { layer: digest, expected, actual: applied.diffId },
    });
  }

  /** Moves layer `i`'s staged directory into an extract snapshot on its parent and commits it as its chain ID. */
  private async commitInOrder(i: number): Promise<void> {
    if (this.failed) throw failedPrecondition('unpack was cancelled');
    const state = this.states[i] as LayerState;
    if (state.kind !== 'applied') return; // present already, or a duplicate position committed earlier
    const { snapshotter, keyPrefix } = this.options;
    const name = this.name(i);
    if (await this.isCommitted(name)) {
      // Another pull committed the same chain meanwhile (or an earlier duplicate position did).
      await this.dropStage(state.stageKey);
      this.states[i] = { kind: 'committed' };
      return;
    }
    const parent = i === 0 ? undefined : this.name(i - 1);
    const extractKey = `${keyPrefix}extract-${randomUUID()} ${this.chain[i] as Digest}`;
    const mounts = await snapshotter.prepare(extractKey, parent, { [SNAPSHOT_REF_LABEL]: this.chain[i] as Digest });
    try {
      const upper = writableDir(mounts);
      await rmdir(upper); // fresh and empty: the staged directory takes its place
      await rename(state.dir, upper);
      await snapshotter.commit(name, extractKey);
      this.committedHere.push(name);
    } catch (err) {
      await snapshotter.remove(extractKey).catch(() => undefined);
      if (!isRuntimeError(err, 'AlreadyExists')) throw err;
    }
    await this.dropStage(state.stageKey);
    this.states[i] = { kind: 'committed' };
  }

  private async dropStage(key: string): Promise<void> {
    await this.options.snapshotter.remove(key);
    this.stagingKeys.delete(key);
  }

  private async isCommitted(name: string): Promise<boolean> {
    try {
      const info = await this.options.snapshotter.stat(name);
      if (info.kind !== 'committed') throw failedPrecondition(`snapshot ${name} exists but is not committed`, { fields: { key: name } });
      return true;
    } catch (err) {
      if (isRuntimeError(err, 'NotFound')) return false;
      throw err;
    }
  }
}
