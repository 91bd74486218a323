/**
 * Layer chain IDs (image-spec config.md "Layer ChainID"): the identity of a
 * stack of layers, used as the committed snapshot name so identical stacks
 * are unpacked once. chainID(L0) = diffID(L0);
 * chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)).
 */
import { digestOf, type Digest } from './digest.js';

/** Chain IDs of every prefix of `diffIds` (index i covers layers 0..i). */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const diffId of diffIds) {
    const previous = out[out.length - 1];
    out.push(previous === undefined ? diffId : digestOf(`${previous} ${diffId}`));
  }
  return out;
}

/** Chain ID of the whole stack; the snapshot a container's rootfs is prepared from. */
export function chainId(diffIds: readonly Digest[]): Digest {
  const ids = chainIds(diffIds);
  const top = ids[ids.length - 1];
  if (top === undefined) throw new RangeError('chainId of an empty layer list');
  return top;
}
