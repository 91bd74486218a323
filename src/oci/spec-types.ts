import type { SeccompProfile } from './seccomp.js';

/** The parts of the OCI runtime-spec (config.json) that containerd-ts writes and reads. */
export interface RuntimeSpec {
  ociVersion: string;
  process: SpecProcess;
  root: { path: string; readonly?: boolean };
  hostname?: string;
  mounts: SpecMount[];
  annotations?: Record<string, string>;
  linux: SpecLinux;
}

export interface SpecProcess {
  terminal?: boolean;
  /** Initial size of the process's terminal (runc sets it when it creates the pty). */
  consoleSize?: { height: number; width: number };
  user: { uid: number; gid: number; additionalGids?: number[]; umask?: number };
  args: string[];
  env: string[];
  cwd: string;
  capabilities?: { bounding: string[]; effective: string[]; permitted: string[]; inheritable?: string[]; ambient?: string[] };
  rlimits?: Array<{ type: string; hard: number; soft: number }>;
  noNewPrivileges?: boolean;
}

export interface SpecMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface SpecResources {
  devices?: Array<{ allow: boolean; type?: string; major?: number; minor?: number; access?: string }>;
  memory?: { limit?: number; swap?: number };
  cpu?: { quota?: number; period?: number; shares?: number; cpus?: string };
  pids?: { limit: number };
}

export interface SpecLinux {
  namespaces: Array<{ type: string; path?: string }>;
  cgroupsPath?: string;
  resources?: SpecResources;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  seccomp?: SeccompProfile;
}
