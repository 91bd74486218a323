/** The container a standby shim is handed: one JSON line on its stdin. */
export interface ShimAssignment {
  namespace: string;
  id: string;
  /** Absolute path of the bundle (config.json, rootfs); the shim's working directory. */
  bundle: string;
  /** OCI runtime binary: runc or crun. */
  runtime: string;
  /** The runtime's --root (its state directory for this namespace). */
  runtimeRoot: string;
  systemdCgroup: boolean;
  /**
   * Set for a shim that serves a group of containers: its log and working
   * directory are the group's directory instead of the first bundle, which
   * goes when the first container does.
   */
  group?: { name: string; dir: string };
}

/** Parses and checks an assignment line; throws with what is wrong. */
export function parseAssignment(line: string): ShimAssignment {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw new Error(`assignment is not JSON: ${line.slice(0, 200)}`);
  }
  const o = raw as Partial<Record<keyof ShimAssignment, unknown>>;
  const str = (k: 'namespace' | 'id' | 'bundle' | 'runtime' | 'runtimeRoot'): string => {
    const v = o?.[k];
    if (typeof v !== 'string' || v === '') throw new Error(`assignment lacks ${k}`);
    return v;
  };
  const a: ShimAssignment = {
    namespace: str('namespace'), id: str('id'), bundle: str('bundle'),
    runtime: str('runtime'), runtimeRoot: str('runtimeRoot'),
    systemdCgroup: o.systemdCgroup !== false,
  };
  if (o.group !== undefined) {
    const g = o.group as { name?: unknown; dir?: unknown } | null;
    if (typeof g?.name !== 'string' || typeof g.dir !== 'string' || !g.dir.startsWith('/')) throw new Error('assignment group needs a name and an absolute dir');
    a.group = { name: g.name, dir: g.dir };
  }
  if (!a.bundle.startsWith('/') || !a.runtimeRoot.startsWith('/')) throw new Error('assignment paths must be absolute');
  return a;
}
