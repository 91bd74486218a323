/**
 * Platform matching (containerd's platforms package, reduced to what a Linux
 * daemon needs): normalize Node's names to OCI's, pick the best manifest of
 * an index for the host.
 */
import { invalidArgument } from '../errors.js';
import type { Descriptor, Platform } from './image-types.js';

/** Node's `process.arch` to the OCI/GOARCH name. */
const NODE_TO_OCI_ARCH: Record<string, string> = {
  x64: 'amd64',
  ia32: '386',
  arm64: 'arm64',
  arm: 'arm',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
};

/** Common spellings of architectures, mapped to the OCI name (as containerd's normalizeArch). */
const ARCH_ALIASES: Record<string, { architecture: string; variant?: string }> = {
  x86_64: { architecture: 'amd64' },
  x86: { architecture: '386' },
  i386: { architecture: '386' },
  aarch64: { architecture: 'arm64' },
  armhf: { architecture: 'arm', variant: 'v7' },
  armel: { architecture: 'arm', variant: 'v6' },
};

/** Canonical form of a platform, so comparisons are exact (containerd's platforms.Normalize). */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase();
  const alias = ARCH_ALIASES[architecture];
  if (alias) {
    architecture = alias.architecture;
    variant = variant ?? alias.variant;
  }
  if (architecture === 'arm64' && (variant === 'v8' || variant === '8')) variant = undefined;
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** The host platform (linux/amd64 on the target machines). */
export function hostPlatform(): Platform {
  const architecture = NODE_TO_OCI_ARCH[process.arch] ?? process.arch;
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  return normalizePlatform({ os, architecture });
}

/** Formats a platform as `os/arch[/variant]` for messages. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Parses `os/arch[/variant]` (the `--platform` flag form). */
export function parsePlatform(spec: string): Platform {
  const [os, architecture, variant] = spec.split('/');
  if (!os || !architecture) throw invalidArgument(`invalid platform ${JSON.stringify(spec)}: expected os/arch[/variant]`);
  return normalizePlatform({ os, architecture, ...(variant ? { variant } : {}) });
}

/** Decides whether manifests are runnable here and which one is best. */
export interface PlatformMatcher {
  /** What is wanted, for messages (e.g. `linux/amd64`). */
  readonly description: string;
  match(p: Platform): boolean;
  /** Negative when `a` is preferred over `b`. */
  compare(a: Platform, b: Platform): number;
}

/**
 * Matches one wanted platform exactly on os and architecture. A variant on the
 * wanted side must match; a manifest without variant is accepted but ranks
 * below an exact variant match.
 */
export function onlyPlatform(wanted: Platform = hostPlatform()): PlatformMatcher {
  const w = normalizePlatform(wanted);
  const score = (p: Platform): number => {
    const n = normalizePlatform(p);
    if (n.os !== w.os || n.architecture !== w.architecture) return -1;
    if (w.variant === undefined) return n.variant === undefined ? 2 : 1;
    if (n.variant === w.variant) return 2;
    return n.variant === undefined ? 1 : -1;
  };
  return {
    description: formatPlatform(w),
    match: (p) => score(p) >= 0,
    compare: (a, b) => score(b) - score(a),
  };
}

/**
 * Picks the best descriptor of an index's manifests for the matcher, or
 * undefined when none fits. Entries without a platform are skipped (they are
 * attestations or other artifacts in practice).
 */
export function selectManifest(manifests: Descriptor[], matcher: PlatformMatcher = onlyPlatform()): Descriptor | undefined {
  const candidates = manifests.filter((m) => m.platform !== undefined && matcher.match(m.platform));
  candidates.sort((a, b) => matcher.compare(a.platform as Platform, b.platform as Platform));
  return candidates[0];
}
