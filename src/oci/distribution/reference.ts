/**
 * Image references as docker and containerd users write them (the grammar of
 * distribution/reference): `[host[:port]/]path[:tag][@digest]`, normalised
 * the familiar way: no host means docker.io, a one-component docker.io path
 * gets `library/`, no tag and no digest means `:latest`.
 */
import { invalidArgument } from '../../errors.js';
import { isDigest, type Digest } from '../../snapshot/digest.js';

/** The default registry of short names, and the host its API really lives on. */
export const DOCKER_HUB = 'docker.io';
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** A parsed, normalised reference. `name` is `domain/path`; `toString()` the canonical form. */
export interface Reference {
  /** Registry host as written (normalised for docker.io), with port: `127.0.0.1:5000`, `docker.io`. */
  domain: string;
  /** Repository path inside the registry: `library/busybox`. */
  path: string;
  tag?: string;
  digest?: Digest;
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const MAX_NAME = 255;

/**
 * Parses and normalises `ref`. InvalidArgument names what is wrong: an empty
 * or upper-case path, a bad tag, a digest that is not canonical sha256.
 */
export function parseReference(ref: string): Reference {
  if (typeof ref !== 'string' || ref.length === 0) throw invalidArgument('image reference must not be empty');
  if (/\s/.test(ref)) throw invalidArgument(`invalid image reference ${JSON.stringify(ref)}: contains white space`);
  let rest = ref;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw invalidArgument(`invalid image reference ${JSON.stringify(ref)}: digest ${JSON.stringify(d)} is not sha256:<64 hex>`);
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalidArgument(`invalid image reference ${JSON.stringify(ref)}: bad tag ${JSON.stringify(tag)}`);
  }
  const { domain, path } = splitDomain(rest, ref);
  for (const component of path.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      const hint = /[A-Z]/.test(component) ? ' (repository names must be lower case)' : '';
      throw invalidArgument(`invalid image reference ${JSON.stringify(ref)}: bad repository path component ${JSON.stringify(component)}${hint}`);
    }
  }
  if (domain.length + 1 + path.length > MAX_NAME) throw invalidArgument(`invalid image reference ${JSON.stringify(ref)}: name longer than ${MAX_NAME} characters`);
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** Splits the registry host off, following docker's rule: the first component is a host if it has `.` or `:` or is `localhost`. */
function splitDomain(name: string, ref: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  const isHost = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase());
  let domain = DOCKER_HUB;
  let path = name;
  if (isHost) {
    domain = first;
    path = name.slice(slash + 1);
    validateDomain(domain, ref);
  }
  if (path === '') throw invalidArgument(`invalid image reference ${JSON.stringify(ref)}: no repository name`);
  if (DOCKER_HUB_ALIASES.has(domain.toLowerCase())) {
    domain = DOCKER_HUB;
    if (!path.includes('/')) path = `library/${path}`;
  }
  return { domain, path };
}

function validateDomain(domain: string, ref: string): void {
  let host = domain;
  let port: string | undefined;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end < 0) throw invalidArgument(`invalid image reference ${JSON.stringify(ref)}: bad IPv6 host`);
    port = host.slice(end + 1).replace(/^:/, '') || undefined;
    host = host.slice(1, end);
    if (!/^[0-9a-fA-F:.]+$/.test(host)) throw invalidArgument(`invalid image reference ${JSON.stringify(ref)}: bad IPv6 host`);
  } else {
    const c = host.lastIndexOf(':');
    if (c >= 0) {
      port = host.slice(c + 1);
      host = host.slice(0, c);
    }
    if (!host.split('.').every((p) => DOMAIN_COMPONENT.test(p))) throw invalidArgument(`invalid image reference ${JSON.stringify(ref)}: bad registry host ${JSON.stringify(domain)}`);
  }
  if (port !== undefined && (!/^\d{1,5}$/.test(port) || Number(port) > 65535 || Number(port) === 0)) {
    throw invalidArgument(`invalid image reference ${JSON.stringify(ref)}: bad port in ${JSON.stringify(domain)}`);
  }
}

/** `domain/path`: the repository's full name (what image records are named after, minus tag/digest). */
export function referenceName(r: Reference): string {
  return `${r.domain}/${r.path}`;
}

/** The canonical string: `docker.io/library/busybox:latest`, `host/repo@sha256:...`, `host/repo:tag@sha256:...`. */
export function formatReference(r: Reference): string {
  return `${referenceName(r)}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}

/** What to ask the registry's manifests endpoint for: the digest when pinned, else the tag. */
export function referenceObject(r: Reference): string {
  return r.digest ?? r.tag ?? 'latest';
}

/** The host[:port] to talk HTTP to: docker.io's API is on registry-1.docker.io. */
export function apiHost(domain: string): string {
  return domain === DOCKER_HUB ? DOCKER_HUB_API_HOST : domain;
}

/** The hostname without port or IPv6 brackets, for loopback checks and TLS names. */
export function hostname(domain: string): string {
  if (domain.startsWith('[')) return domain.slice(1, domain.indexOf(']'));
  const c = domain.lastIndexOf(':');
  return c >= 0 ? domain.slice(0, c) : domain;
}

/** True for localhost, 127.0.0.0/8 and ::1: the only hosts spoken to over plain HTTP without being named. */
export function isLoopback(domain: string): boolean {
  const h = hostname(domain).toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::1';
}
