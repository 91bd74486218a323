/**
 * A pass-through stream that hashes and counts what flows through it, so a
 * layer's diffID (sha256 of the uncompressed tar) or a blob's digest is
 * computed in the same pass that consumes the data.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { digestFromHash, newDigester, type Digest } from './digest.js';

/** Hashes (sha256) and counts every byte passed through. */
export class HashTap extends Transform {
  private readonly hash = newDigester();
  private count = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.count += chunk.length;
    callback(null, chunk);
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.count;
  }

  /** Digest of the bytes seen so far (callable any number of times). */
  digest(): Digest {
    return digestFromHash(this.hash.copy());
  }
}
