/**
 * Registry mirrors (containerd's hosts.toml mirrors, docker's
 * registry-mirrors): the same repository path is asked of each mirror in
 * order, then of the registry itself. A mirror that fails (unreachable,
 * missing the content, refusing, serving bad bytes) is reported and skipped;
 * one that is unreachable is not asked again by the same client.
 */
import { isRuntimeError } from '../../errors.js';
import type { Reference } from './reference.js';

/** A mirror that was skipped, for the caller's log. */
export interface MirrorFailure {
  mirror: string;
  /** The registry the reference names. */
  registry: string;
  /** What was asked: `resolve busybox:latest`, `blob sha256:...`. */
  what: string;
  error: Error;
}

/** Which mirrors to try for a registry, and who hears about failures. */
export interface MirrorOptions {
  /** Mirrors (host[:port]) for a reference's registry (its domain as written, e.g. docker.io), in order. */
  mirrors?: (domain: string) => string[];
  onMirrorFailure?: (failure: MirrorFailure) => void;
}

/** Tries each mirror of one client in order, then the registry. */
export class MirrorChain {
  private readonly unreachable = new Set<string>();

  constructor(private readonly options: MirrorOptions) {}

  /** The references to try for `reference`: each usable mirror with the same path, then the reference itself. */
  endpoints(reference: Reference): Reference[] {
    const mirrors = (this.options.mirrors?.(reference.domain) ?? []).filter((m) => m !== reference.domain && !this.unreachable.has(m));
    return [...mirrors.map((domain) => ({ ...reference, domain })), reference];
  }

  /**
   * Runs `attempt` against each endpoint until one succeeds; the registry's
   * own error is the one thrown. A cancellation is never skipped over.
   */
  async run<T>(reference: Reference, what: string, attempt: (endpoint: Reference) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const endpoints = this.endpoints(reference);
    for (const endpoint of endpoints.slice(0, -1)) {
      try {
        return await attempt(endpoint);
      } catch (err) {
        if (signal?.aborted || isRuntimeError(err, 'Canceled') || !(err instanceof Error)) throw err;
        if (isRuntimeError(err, 'Unavailable')) this.unreachable.add(endpoint.domain);
        this.options.onMirrorFailure?.({ mirror: endpoint.domain, registry: reference.domain, what, error: err });
      }
    }
    return attempt(endpoints[endpoints.length - 1] as Reference);
  }
}
