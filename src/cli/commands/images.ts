import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type * as grpc from '@grpc/grpc-js';
import { fromServiceError } from '../../grpc-codes.js';
import { invalidArgument } from '../../errors.js';
import type { ImportResponse } from '../../proto-ext.js';
import { table, type Parsed } from '../args.js';
import type { DaemonClient } from '../client.js';
import { extensionClients } from '../extensions.js';
import { normalizeImageRef } from '../image-ref.js';
import { SNAPSHOTTER } from './run.js';

/** `ctr-ts images import [--platform P | --all-platforms] FILE|-`: streams the archive (OCI layout or docker save) to the daemon, which verifies, stores and unpacks it. */
export async function imagesImport(client: DaemonClient, args: Parsed): Promise<number> {
  const file = args.positionals[0];
  if (!file) throw invalidArgument('usage: ctr-ts images import FILE (or - for stdin)');
  const input: Readable = file === '-' ? process.stdin : createReadStream(file);
  const { importClient } = await extensionClients();
  const stub = importClient(client.address);
  const result = await new Promise<ImportResponse>((resolve, reject) => {
    const call = stub.Import(client.callMetadata(), (err: grpc.ServiceError | null, res: ImportResponse) =>
      err ? reject(fromServiceError(err)) : resolve(res),
    );
    call.write({
      options: {
        snapshotter: SNAPSHOTTER,
        skip_unpack: false,
        ...(typeof args.options.platform === 'string' ? { platform: args.options.platform } : {}),
        all_platforms: args.options['all-platforms'] === true,
      },
    });
    input.on('data', (chunk: Buffer) => {
      if (!call.write({ chunk })) {
        input.pause();
        call.once('drain', () => input.resume());
      }
    });
    input.on('end', () => call.end());
    input.on('error', (err) => {
      call.cancel();
      reject(invalidArgument(`cannot read ${file}: ${err.message}`));
    });
  });
  stub.close();
  for (const img of result.images) process.stdout.write(`${img.name}\t${img.target?.digest ?? ''}\n`);
  return 0;
}

/** `ctr-ts images ls`: name, type, digest, size as ctr prints them. */
export async function imagesList(client: DaemonClient): Promise<number> {
  const { images } = await client.call('images', 'List', { filters: [] });
  const rows = images.map((i) => [i.name, i.target?.media_type ?? '', i.target?.digest ?? '', humanSize(Number(i.target?.size ?? 0))]);
  process.stdout.write(table(['REF', 'TYPE', 'DIGEST', 'SIZE'], rows));
  return 0;
}

/** `ctr-ts images rm NAME...`: removes the records; exits 1 if any was missing. */
export async function imagesRemove(client: DaemonClient, args: Parsed): Promise<number> {
  if (args.positionals.length === 0) throw invalidArgument('usage: ctr-ts images rm NAME [NAME...]');
  let status = 0;
  for (const name of args.positionals) {
    try {
      await client.call('images', 'Delete', { name: normalizeImageRef(name), sync: true });
      process.stdout.write(`${normalizeImageRef(name)}\n`);
    } catch (err) {
      process.stderr.write(`ctr-ts: ${(err as Error).message}\n`);
      status = 1;
    }
  }
  return status;
}

export function humanSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}
