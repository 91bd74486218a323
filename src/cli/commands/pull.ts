import { readFile } from 'node:fs/promises';
import { fromServiceError } from '../../grpc-codes.js';
import { invalidArgument } from '../../errors.js';
import type { PullRequest, PullResponse } from '../../proto-ext.js';
import type { OptionSpec, Parsed } from '../args.js';
import type { DaemonClient } from '../client.js';
import { extensionClients } from '../extensions.js';
import { PullProgressRenderer } from './pull-progress.js';

export const pullOptions: Record<string, OptionSpec> = {
  platform: { type: 'string', description: 'platform to pull from a multi-platform image, os/arch[/variant] (default: this machine\'s)', placeholder: 'PLATFORM' },
  'plain-http': { type: 'boolean', description: 'talk plain HTTP (no TLS) to the image\'s registry' },
  'insecure-host': { type: 'string', multiple: true, description: 'another registry host[:port] to talk plain HTTP to', placeholder: 'HOST' },
  user: { type: 'string', short: 'u', description: 'registry credentials USER:PASSWORD (or USER with the password in $CTR_TS_REGISTRY_PASSWORD)', placeholder: 'USER' },
  tlscacert: { type: 'string', description: 'CA certificate (PEM file) to trust for the registry', placeholder: 'FILE' },
  'max-concurrent-downloads': { type: 'string', description: 'parallel layer downloads (default 3)', placeholder: 'N' },
  'skip-unpack': { type: 'boolean', description: 'fetch the image without unpacking it into snapshots' },
  'all-platforms': { type: 'boolean', description: 'fetch the content of every platform of a multi-platform image (only this one, or --platform, is unpacked)' },
};

/** `ctr-ts images pull REF`: the daemon pulls; this shows its progress and exits non-zero on failure. */
export async function imagesPull(client: DaemonClient, args: Parsed): Promise<number> {
  const ref = args.positionals[0];
  if (!ref || args.positionals.length > 1) throw invalidArgument('usage: ctr-ts images pull [OPTIONS] REF');
  const request = await buildRequest(ref, args.options);
  const { pullClient } = await extensionClients();
  const stub = pullClient(client.address);
  const renderer = new PullProgressRenderer(process.stdout, ref);
  try {
    const result = await new Promise<NonNullable<PullResponse['result']>>((resolve, reject) => {
      let final: PullResponse['result'];
      const call = stub.Pull(request, client.callMetadata());
      const cancel = () => call.cancel();
      process.once('SIGINT', cancel);
      call.on('data', (msg: PullResponse) => {
        if (msg.progress) {
          const p = msg.progress;
          renderer.update({ digest: p.digest, mediaType: p.media_type, offset: Number(p.offset), total: Number(p.total), status: p.status });
        }
        if (msg.result) final = msg.result;
      });
      call.on('error', (err) => {
        process.off('SIGINT', cancel);
        reject(fromServiceError(err));
      });
      call.on('end', () => {
        process.off('SIGINT', cancel);
        if (final) resolve(final);
        else reject(invalidArgument('the daemon ended the pull without a result'));
      });
    });
    renderer.finish(result.name, result.target?.digest ?? '');
    return 0;
  } catch (err) {
    renderer.stop();
    throw err;
  } finally {
    stub.close();
  }
}

async function buildRequest(ref: string, o: Parsed['options']): Promise<Partial<PullRequest>> {
  const req: Partial<PullRequest> = { ref, plain_http: o['plain-http'] === true, skip_unpack: o['skip-unpack'] === true, all_platforms: o['all-platforms'] === true };
  if (typeof o.platform === 'string') req.platform = o.platform;
  if (Array.isArray(o['insecure-host'])) req.insecure_hosts = o['insecure-host'];
  if (typeof o.user === 'string') {
    const colon = o.user.indexOf(':');
    const username = colon < 0 ? o.user : o.user.slice(0, colon);
    const secret = colon < 0 ? process.env.CTR_TS_REGISTRY_PASSWORD : o.user.slice(colon + 1);
    if (!username) throw invalidArgument('--user needs a user name: --user USER:PASSWORD');
    if (secret === undefined) throw invalidArgument('--user USER needs a password: --user USER:PASSWORD, or set CTR_TS_REGISTRY_PASSWORD');
    req.username = username;
    req.secret = secret;
  }
  if (typeof o.tlscacert === 'string') {
    const pem = await readFile(o.tlscacert, 'utf8').catch((err: Error) => {
      throw invalidArgument(`cannot read --tlscacert ${o.tlscacert}: ${err.message}`);
    });
    if (!pem.includes('BEGIN CERTIFICATE')) throw invalidArgument(`--tlscacert ${o.tlscacert} is not a PEM certificate`);
    req.tls_ca_pem = pem;
  }
  if (typeof o['max-concurrent-downloads'] === 'string') {
    const n = Number(o['max-concurrent-downloads']);
    if (!Number.isInteger(n) || n < 1 || n > 64) throw invalidArgument('--max-concurrent-downloads must be a whole number from 1 to 64');
    req.max_concurrent_downloads = n;
  }
  return req;
}
