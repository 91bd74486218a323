import { createHash } from 'node:crypto';

/**
 * The OCI image-spec ChainID of a layer stack: chain(L0) = diffID(L0),
 * chain(Ln) = sha256(chain(Ln-1) + " " + diffID(Ln)). Committed layer
 * snapshots are named by it, so equal stacks share snapshots.
 */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? diffId : `sha256:${createHash('sha256').update(`${prev} ${diffId}`).digest('hex')}`);
  }
  return out;
}

/** The ChainID of the whole stack (the top layer's); undefined for an image without layers. */
export function chainId(diffIds: string[]): string | undefined {
  return chainIds(diffIds).at(-1);
}
