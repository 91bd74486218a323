import { readFile } from 'node:fs/promises';
import { parse as parseToml } from 'smol-toml';
import { invalidArgument } from '../errors.js';
import { registryFromToml } from './config-registry.js';
import { DEFAULT_REGISTRY_CONFIG, type RegistryConfig } from './images/registry-config.js';

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
  /** Group owning the socket (mode 0660); root when unset. */
  socketGroup?: number;
  /** Registries: credentials file, CAs, insecure hosts, mirrors (`[registry]`, see config-registry.ts). */
  registry: RegistryConfig;
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
  registry: DEFAULT_REGISTRY_CONFIG,
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
      default:
        throw invalidArgument(`config ${file}: unknown key "${key}"`);
    }
  }
  return cfg;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
