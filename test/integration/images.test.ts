import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import tar from 'tar-stream';
import { BUSYBOX, BUSYBOX_ARCHIVE, closeBus, ctr, ctrTs, leftovers, systemdAvailable } from './helpers.js';

/**
 * `ctr-ts images export|import|tag|inspect` against the real daemon: an
 * export read back by skopeo (as oci-archive: and, through docker's
 * manifest.json, as docker-archive:), a docker-archive made by skopeo
 * imported and run, and bad archives refused with nothing recorded.
 */
const CONTENT = '/var/lib/containerd-ts/content';

/** Rewrites a tar: `change` returns the new bytes of a file, or null to drop it. */
async function rewriteTar(data: Buffer, change: (name: string, bytes: Buffer) => Buffer | null, extra: Array<{ name: string; content: Buffer }> = []): Promise<Buffer> {
  const extract = tar.extract();
  const pack = tar.pack();
  const out: Buffer[] = [];
  const collected = (async () => {
    for await (const c of pack) out.push(Buffer.from(c as Uint8Array));
  })();
  await new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, body, next) => {
      const parts: Buffer[] = [];
      body.on('data', (c: unknown) => parts.push(c as Buffer));
      body.on('end', () => {
        const bytes = header.type === 'file' ? change(header.name, Buffer.concat(parts)) : Buffer.alloc(0);
        if (bytes === null) return next();
        pack.entry({ ...header, size: bytes.length }, bytes, next);
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
    extract.end(data);
  });
  for (const e of extra) pack.entry({ name: e.name, size: e.content.length }, e.content);
  pack.finalize();
  await collected;
  return Buffer.concat(out);
}

const ingests = () => (existsSync(join(CONTENT, 'ingest')) ? readdirSync(join(CONTENT, 'ingest')) : []);

describe('image export, docker-archive import, tag and inspect (integration)', function () {
  this.timeout(180_000);
  let tmp = '';
  const made: string[] = [];

  before(async function () {
    if (!systemdAvailable()) this.skip();
    tmp = await mkdtemp(join(tmpdir(), 'ctrd-ts-images-'));
    const r = await ctrTs(['images', 'import', BUSYBOX_ARCHIVE]);
    expect(r.exitCode, r.stderr).to.equal(0);
  });
  after(async () => {
    for (const name of made) await ctrTs(['images', 'rm', name]);
    if (tmp) await rm(tmp, { recursive: true, force: true });
    closeBus();
  });

  const names = async () => (await ctrTs(['images', 'ls'])).stdout;

  it('exports busybox to an archive skopeo reads as oci-archive and as docker-archive; both imports run', async () => {
    const out = join(tmp, 'busybox.tar');
    const r = await ctrTs(['images', 'export', out, 'busybox']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(readdirSync(tmp).filter((f) => f.includes('.partial-'))).to.deep.equal([]);
    const oci = await execa('skopeo', ['inspect', `oci-archive:${out}:latest`]);
    expect(JSON.parse(oci.stdout)).to.include({ Architecture: 'amd64', Os: 'linux' });
    // docker load reads manifest.json; skopeo's docker-archive: reader does the same.
    const dockerView = JSON.parse((await execa('skopeo', ['inspect', `docker-archive:${out}`])).stdout) as { Architecture: string; Layers: string[] };
    expect(dockerView.Architecture).to.equal('amd64');
    expect(dockerView.Layers).to.have.length(1);

    // Round trip: a fresh name from our own archive, then a docker-archive made by skopeo from it.
    await ctrTs(['images', 'rm', BUSYBOX]);
    const again = await ctrTs(['images', 'import', out]);
    expect(again.exitCode, again.stderr).to.equal(0);
    expect(again.stdout).to.contain(BUSYBOX);
    const dockerTar = join(tmp, 'busybox.docker.tar');
    await execa('skopeo', ['copy', '--quiet', `oci-archive:${out}:latest`, `docker-archive:${dockerTar}:example.com/dock:1`]);
    const imp = await ctrTs(['images', 'import', dockerTar]);
    expect(imp.exitCode, imp.stderr).to.equal(0);
    made.push('example.com/dock:1');
    expect(imp.stdout).to.contain('example.com/dock:1');
    expect(await names()).to.match(/example\.com\/dock:1\s+application\/vnd\.docker\.distribution\.manifest\.v2\+json/);
    const run = await ctrTs(['run', '--rm', 'example.com/dock:1', 'dock-1', 'echo', 'from docker archive']);
    expect(run.exitCode, run.stderr).to.equal(0);
    expect(run.stdout).to.equal('from docker archive');
    expect(await leftovers('dock-1')).to.deep.equal([]);
  });

  it("writes what the real ctr images export writes (ctr reads our daemon over Content.Read); each imports back", async () => {
    const ours = join(tmp, 'ours.tar');
    const theirs = join(tmp, 'ctr.tar');
    expect((await ctrTs(['images', 'export', ours, BUSYBOX])).exitCode).to.equal(0);
    const c = await ctr(['images', 'export', theirs, BUSYBOX]);
    expect(c.exitCode, c.stderr).to.equal(0);
    const read = async (file: string, name: string) => JSON.parse((await execa('tar', ['-xOf', file, name])).stdout) as { manifests?: unknown[] };
    expect(await read(ours, 'manifest.json')).to.deep.equal(await read(theirs, 'manifest.json'));
    expect((await read(ours, 'index.json')).manifests).to.deep.equal((await read(theirs, 'index.json')).manifests);
    await ctrTs(['images', 'rm', BUSYBOX]);
    const imp = await ctrTs(['images', 'import', theirs]);
    expect(imp.exitCode, imp.stderr).to.equal(0);
    expect((await ctrTs(['run', '--rm', BUSYBOX, 'ctrexp-1', 'echo', 'ok'])).stdout).to.equal('ok');
    const unwritable = await ctrTs(['images', 'export', '/nonexistent/dir/x.tar', BUSYBOX]);
    expect(unwritable.exitCode).to.equal(1);
    expect(unwritable.stderr).to.match(/^ctr-ts: cannot write \/nonexistent\/dir\/x\.tar/);
    const missing = await ctrTs(['images', 'export', join(tmp, 'none.tar'), 'example.com/none:1']);
    expect(missing.stderr).to.contain('not found');
    expect(existsSync(join(tmp, 'none.tar'))).to.equal(false);
  });

  it('refuses bad archives with a clear error and records nothing', async () => {
    const dockerTar = join(tmp, 'good.docker.tar');
    await execa('skopeo', ['copy', '--quiet', `oci-archive:${BUSYBOX_ARCHIVE}`, `docker-archive:${dockerTar}:example.com/bad:1`]);
    const good = await readFile(dockerTar);
    const manifestJson = JSON.parse((await execa('tar', ['-xOf', dockerTar, 'manifest.json'])).stdout) as Array<{ Layers: string[] }>;
    const layer = manifestJson[0]!.Layers[0]!;
    const cases: Array<[string, Buffer, RegExp]> = [
      ['not a tar', Buffer.from('this is not an archive\n'.repeat(100)), /not a valid tar|truncated/],
      ['no manifest.json', await rewriteTar(good, (n, b) => (n === 'manifest.json' ? null : b)), /neither oci-layout and index\.json .* nor manifest\.json/],
      [
        'a layer that does not match its digest',
        await rewriteTar(good, (n, b) => {
          if (n !== layer) return b;
          const c = Buffer.from(b);
          c[2048] = c[2048]! ^ 0xff;
          return c;
        }),
        /does not match its name/,
      ],
      [
        'a layer path escaping the archive',
        await rewriteTar(good, (n, b) => (n === 'manifest.json' ? Buffer.from(JSON.stringify([{ ...manifestJson[0], Layers: ['../../../etc/passwd'] }])) : b)),
        /leaves the archive/,
      ],
    ];
    for (const [what, bytes, message] of cases) {
      const file = join(tmp, 'bad.tar');
      await writeFile(file, bytes);
      const r = await ctrTs(['images', 'import', file]);
      expect(r.exitCode, what).to.equal(1);
      expect(r.stderr, what).to.match(/^ctr-ts: /).and.match(message);
      expect(await names(), what).to.not.contain('example.com/bad:1');
      expect(ingests().filter((d) => d.startsWith('import-')), what).to.deep.equal([]);
    }
  });

  it('tags an image (refusing to move an existing name without --force) and inspects it', async () => {
    const t = await ctrTs(['images', 'tag', 'busybox', 'example.com/tagged:v1']);
    expect(t.exitCode, t.stderr).to.equal(0);
    made.push('example.com/tagged:v1');
    const lines = (await names()).split('\n');
    const digestOf = (name: string) => lines.find((l) => l.startsWith(`${name} `))?.split(/\s+/)[2];
    expect(digestOf('example.com/tagged:v1')).to.equal(digestOf(BUSYBOX));
    const dup = await ctrTs(['images', 'tag', 'busybox', 'example.com/tagged:v1']);
    expect(dup.exitCode).to.equal(1);
    expect(dup.stderr).to.contain('already exists').and.contain('--force');
    expect((await ctrTs(['images', 'tag', '--force', 'busybox', 'example.com/tagged:v1'])).exitCode).to.equal(0);
    const run = await ctrTs(['run', '--rm', 'example.com/tagged:v1', 'tag-1', 'echo', 'tagged']);
    expect(run.stdout).to.equal('tagged');

    const json = await ctrTs(['images', 'inspect', '--json', 'example.com/tagged:v1']);
    expect(json.exitCode, json.stderr).to.equal(0);
    const info = JSON.parse(json.stdout) as { name: string; platform: string; manifest: { digest: string }; layers: Array<{ size: number; diffId: string }>; size: number; config: { env: string[] } };
    expect(info.name).to.equal('example.com/tagged:v1');
    expect(info.platform).to.equal('linux/amd64');
    expect(info.manifest.digest).to.equal(digestOf(BUSYBOX));
    expect(info.layers).to.have.length(1);
    expect(info.layers[0]!.diffId).to.match(/^sha256:[0-9a-f]{64}$/);
    expect(info.size).to.be.greaterThan(info.layers[0]!.size);
    expect(info.config.env.some((e) => e.startsWith('PATH='))).to.equal(true);
    const text = await ctrTs(['images', 'inspect', 'example.com/tagged:v1']);
    expect(text.stdout).to.match(/^Platform:\s+linux\/amd64$/m).and.match(/^Layers:\s+1$/m);
    const missing = await ctrTs(['images', 'inspect', 'example.com/nothing:1']);
    expect(missing.exitCode).to.equal(1);
    expect(missing.stderr).to.contain('not found');
  });
});
