/**
 * The runtime spec of a task as runc gets it: the container record's spec,
 * checked, with its rootfs, its systemd scope and its user filled in. The
 * runtime binary a container asks for is read here too.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { invalidArgument } from '../../errors.js';
import { withSystemdScope, withUser } from '../../oci/spec.js';
import type { RuntimeSpec } from '../../oci/spec-types.js';
import { resolveUser, USER_ANNOTATION } from '../../oci/user.js';
import { decodeMessage, TYPE_URLS } from '../../proto.js';
import type { AnyRecord } from '../metadata/db.js';

/** The spec stored with a container, parsed; InvalidArgument when it is missing or has no process. */
export function parseSpec(value: Buffer | undefined, id: string): RuntimeSpec {
  if (!value || value.length === 0) throw invalidArgument(`container "${id}" has no runtime spec`);
  try {
    const spec = JSON.parse(value.toString('utf8')) as RuntimeSpec;
    if (!spec.process?.args?.length) throw new Error('process.args is empty');
    spec.linux ??= { namespaces: [] };
    return spec;
  } catch (err) {
    throw invalidArgument(`container "${id}" has an invalid runtime spec: ${(err as Error).message}`);
  }
}

/**
 * Writes `<bundle>/config.json`: root at `rootfs`, the cgroup path as our
 * scope (`<slice>:containerd:<id>`), and the user the image or `--user`
 * named, resolved in the rootfs's own passwd and group files.
 */
export async function writeBundleSpec(spec: RuntimeSpec, bundle: string, rootfs: string, id: string, slice: string): Promise<void> {
  spec.root = { ...spec.root, path: rootfs };
  // Every container is a systemd scope: a cgroupfs-style path (what `ctr run` sends
  // without --runc-systemd-cgroup, e.g. "/default/c1") becomes our slice:containerd:<id>.
  const asked = spec.linux.cgroupsPath;
  if (asked && !asked.includes(':')) spec.linux.cgroupsPath = undefined;
  withSystemdScope(slice, id)(spec);
  if (!/^[A-Za-z0-9_.-]+\.slice:containerd:/.test(spec.linux.cgroupsPath!) || !spec.linux.cgroupsPath!.endsWith(`:containerd:${id}`)) {
    throw invalidArgument(`cgroupsPath "${spec.linux.cgroupsPath}" must be "<slice>:containerd:${id}" (systemd cgroup driver)`);
  }
  const user = spec.annotations?.[USER_ANNOTATION];
  if (user) {
    const u = await resolveUser(rootfs, user);
    withUser(u.uid, u.gid, u.additionalGids)(spec);
  }
  writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec)); // tmpfs: see makeBundle
}

/** The OCI runtime binary a container asks for (containerd's runc options binary_name: runc or crun). */
export function runtimeBinary(options: AnyRecord | undefined, fallback: string): string {
  if (!options || options.typeUrl !== TYPE_URLS.runcV1Options || options.value.length === 0) return fallback;
  const name = decodeMessage(TYPE_URLS.runcV1Options, options.value).binary_name;
  if (!name) return fallback;
  if (!['runc', 'crun'].includes(path.basename(name))) throw invalidArgument(`runtime binary "${name}" is not supported: use runc or crun`);
  return name;
}
