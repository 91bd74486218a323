import { readFile } from 'node:fs/promises';
import { parse as parseToml } from 'smol-toml';
import { invalidArgument, isRuntimeError } from '../errors.js';
import { registryFromToml } from './config-registry.js';
import { DEFAULT_REGISTRY_CONFIG, type RegistryConfig } from './images/registry-config.js';
import { DEFAULT_LOG_ROTATION, validateLogRotation, type LogRotation } from '../shim/rotating-log.js';

/** The daemon's configuration; every default lives in DEFAULT_CONFIG. */
export interface DaemonConfig {
  /** gRPC unix socket. */
  address: string;
  /** Persistent state: LMDB, content, snapshots. */
  root: string;
  /** Volatile state: bundles, shim sockets, runc state. */
  state: string;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  runtime: { name: string; binary: string };
  /** Slice the container scopes go into (runc cgroupsPath `<slice>:containerd:<id>`). */
  slice: string;
  /** Register each container with systemd-machined. */
  registerMachines: boolean;
  /** Hand a deleted container's shim the next container (docs/shim.md); false: one fresh shim process per container. */
  recycleShims: boolean;
  /** Group owning the socket (mode 0660); root when unset. */
  socketGroup?: number;
  /** Registries: credentials file, CAs, insecure hosts, mirrors (`[registry]`, see config-registry.ts). */
  registry: RegistryConfig;
  /** Size-based rotation of detached containers' log files (`[logs] max_size`, `max_files`). */
  logs: LogRotation;
}

export const DEFAULT_CONFIG_PATH = '/etc/containerd-ts/config.toml';

export const DEFAULT_CONFIG: DaemonConfig = {
  address: process.env.CONTAINERD_TS_ADDRESS ?? '/run/containerd-ts/containerd-ts.sock',
  root: '/var/lib/containerd-ts',
  state: '/run/containerd-ts',
  logLevel: 'info',
  runtime: { name: 'io.containerd.runc.v2', binary: 'runc' },
  slice: 'system.slice',
  registerMachines: true,
  recycleShims: true,
  registry: DEFAULT_REGISTRY_CONFIG,
  logs: DEFAULT_LOG_ROTATION,
};

/**
 * Loads the TOML file (missing file = defaults) and validates it once:
 * unknown keys and wrong types are errors, so a typo never silently
 * becomes a default.
 */
export async function loadConfig(file: string = DEFAULT_CONFIG_PATH, overrides: Partial<DaemonConfig> = {}): Promise<DaemonConfig> {
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || file !== DEFAULT_CONFIG_PATH) {
      throw invalidArgument(`cannot read config ${file}: ${(err as Error).message}`);
    }
  }
  let raw: Record<string, unknown>;
  try {
    raw = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw invalidArgument(`config ${file} is not valid TOML: ${(err as Error).message}`);
  }
  const { registry, ...rest } = raw;
  const cfg = fromToml(rest, file);
  if (registry !== undefined) cfg.registry = await registryFromToml(registry, file);
  return { ...cfg, ...stripUndefined(overrides) };
}

function fromToml(raw: Record<string, unknown>, file: string): DaemonConfig {
  const cfg: DaemonConfig = structuredClone(DEFAULT_CONFIG);
  const str = (k: string, v: unknown) => {
    if (typeof v !== 'string' || v === '') throw invalidArgument(`config ${file}: "${k}" must be a non-empty string`);
    return v;
  };
  for (const [key, value] of Object.entries(raw)) {
    switch (key) {
      case 'address': cfg.address = str(key, value); break;
      case 'root': cfg.root = str(key, value); break;
      case 'state': cfg.state = str(key, value); break;
      case 'slice': {
        const s = str(key, value);
        if (!/^[A-Za-z0-9_.-]+\.slice$/.test(s)) throw invalidArgument(`config ${file}: slice "${s}" must be a unit name ending in .slice`);
        cfg.slice = s;
        break;
      }
      case 'log_level': {
        const l = str(key, value);
        if (!['error', 'warn', 'info', 'debug'].includes(l)) throw invalidArgument(`config ${file}: log_level must be error, warn, info or debug`);
        cfg.logLevel = l as DaemonConfig['logLevel'];
        break;
      }
      case 'register_machines':
        if (typeof value !== 'boolean') throw invalidArgument(`config ${file}: register_machines must be true or false`);
        cfg.registerMachines = value;
        break;
      case 'recycle_shims':
        if (typeof value !== 'boolean') throw invalidArgument(`config ${file}: recycle_shims must be true or false`);
        cfg.recycleShims = value;
        break;
      case 'socket_group':
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw invalidArgument(`config ${file}: socket_group must be a gid`);
        cfg.socketGroup = value;
        break;
      case 'runtime': {
        const r = value as Record<string, unknown>;
        if (typeof r !== 'object' || r === null) throw invalidArgument(`config ${file}: [runtime] must be a table`);
        for (const [rk, rv] of Object.entries(r)) {
          if (rk === 'binary') cfg.runtime.binary = str('runtime.binary', rv);
          else throw invalidArgument(`config ${file}: unknown key runtime.${rk}`);
        }
        break;
      }
      case 'logs':
        cfg.logs = logsFromToml(value, file);
        break;
      default:
        throw invalidArgument(`config ${file}: unknown key "${key}"`);
    }
  }
  return cfg;
}

/** `[logs] max_size = "10M"` (or a byte count) and `max_files = 3` (rotated files kept beside the live one). */
function logsFromToml(value: unknown, file: string): LogRotation {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidArgument(`config ${file}: [logs] must be a table`);
  const logs = { ...DEFAULT_LOG_ROTATION };
  for (const [k, v] of Object.entries(value)) {
    if (k === 'max_size') logs.maxBytes = parseSize(v, file);
    else if (k === 'max_files') {
      if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidArgument(`config ${file}: logs.max_files must be an integer`);
      logs.keep = v;
    } else throw invalidArgument(`config ${file}: unknown key logs.${k}`);
  }
  try {
    return validateLogRotation(logs);
  } catch (err) {
    if (isRuntimeError(err)) throw invalidArgument(`config ${file}: ${err.message}`);
    throw err;
  }
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

function parseSize(v: unknown, file: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(v) : null;
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw invalidArgument(`config ${file}: logs.max_size must be a byte count or a size like "10M", not ${JSON.stringify(v)}`);
  return Math.floor(Number(m[1]) * unit);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
