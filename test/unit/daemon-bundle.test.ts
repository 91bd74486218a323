import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BUNDLE = path.join(REPO, 'dist/containerd-ts.cjs');

/**
 * Every daemon (re)start loads its program: the build bundles src/daemon
 * and the packages it loads at start into one CommonJS file, run with the
 * V8 code cache the build makes for it (bin/load-bundle.cjs). Native
 * bindings stay in node_modules.
 */
describe('the daemon bundle (dist/containerd-ts.cjs)', () => {
  const bundle = readFileSync(BUNDLE, 'utf8');
  const required = [...bundle.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]!);

  it('carries its packages: at load it requires Node built-ins, and from node_modules only native code', () => {
    const packages = [...new Set(required.filter((m) => !m.startsWith('node:') && !builtinModules.includes(m)))].sort();
    // x11, usocket: dbus-next's optional packages (in a try/catch), never installed.
    expect(packages).to.deep.equal(['usocket', 'x11']);
    for (const p of ['grpc-js', 'protobufjs', 'dbus-next', 'lmdb', 'msgpackr', 'smol-toml']) expect(bundle, p).to.contain(`node_modules/${p === 'grpc-js' ? '@grpc/grpc-js' : p}/`);
    // Loaded with the first registry request or export, not at start.
    expect(bundle).not.to.contain('node_modules/undici/');
    expect(bundle).not.to.contain('node_modules/tar-stream/');
  });

  it('is ASCII, as the CLI\'s is (bin/load-bundle.cjs reads them as latin1)', () => {
    for (const file of [BUNDLE, path.join(REPO, 'dist/ctr-ts.cjs')]) expect(/[^\x00-\x7f]/.test(readFileSync(file, 'latin1')), file).to.equal(false);
  });

  it('has no dynamic import() and no import.meta: under a code cache neither has a loader', () => {
    expect(bundle).not.to.match(/\bimport\(/);
    expect(bundle).not.to.match(/import\.meta/);
  });

  it('finds lmdb\'s and msgpackr-extract\'s native bindings from their own directories in node_modules', () => {
    expect(bundle).not.to.match(/\bvar dirName = [^;]*importMetaUrl/);
    expect(bundle.split('nativePackageFile("node_modules/lmdb/dist/index.cjs", "lmdb")').length - 1).to.equal(3);
    expect(bundle).to.contain('require_node_gyp_build_optional_packages()(require("node:path").dirname(nativePackageFile("node_modules/msgpackr-extract/index.js", "msgpackr-extract")))');
  });

  it('keeps a trained code cache per build: written once by a run, loaded by the next', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'daemon-cache-'));
    try {
      const probe = `const b = require(${JSON.stringify(path.join(REPO, 'bin/load-bundle.cjs'))}).loadBundle('containerd-ts.cjs', { trainedDir: ${JSON.stringify(dir)} });
        process.stdout.write(JSON.stringify({ rejected: b.cacheRejected, saved: b.saveTrainedCache() ?? null }));`;
      const run = async () => JSON.parse((await promisify(execFile)(process.execPath, ['-e', probe], { env: { PATH: process.env.PATH ?? '' } })).stdout) as { rejected: boolean; saved: string | null };
      const first = await run();
      expect(first.rejected).to.equal(false);
      expect(first.saved).to.be.a('string');
      expect(readdirSync(dir)).to.deep.equal([path.basename(first.saved!)]);
      expect(path.basename(first.saved!)).to.match(new RegExp(`^containerd-ts\\.cjs-${process.version.replace(/\./g, '\\.')}-\\d+\\.\\d+-\\d+\\.\\d+\\.cache$`));
      // The next run loads it (V8 accepts it) and has nothing to write.
      expect(await run()).to.deep.equal({ rejected: false, saved: null });
      // One V8 does not accept (here: not a cache at all) is compiled around and replaced.
      writeFileSync(first.saved!, Buffer.alloc(1024, 1));
      const third = await run();
      expect(third).to.deep.equal({ rejected: true, saved: first.saved });
      expect(await run()).to.deep.equal({ rejected: false, saved: null });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loads with the code cache the build made, and runs (--version)', async () => {
    const probe = `const b = require(${JSON.stringify(path.join(REPO, 'bin/load-bundle.cjs'))}).loadBundle('containerd-ts.cjs');
      process.stdout.write(JSON.stringify({ exports: Object.keys(b.exports), rejected: b.cacheRejected }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', probe], { env: { PATH: process.env.PATH ?? '' } });
    expect(JSON.parse(stdout)).to.deep.equal({ exports: ['runDaemon'], rejected: false });
    const version = await promisify(execFile)(process.execPath, [path.join(REPO, 'bin/containerd-ts'), '--version'], { env: { PATH: process.env.PATH ?? '' } });
    expect(version.stdout).to.match(/^containerd-ts \d+\.\d+\.\d+ /);
  });
});
