import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BUNDLE = path.join(REPO, 'dist/containerd-ts-shim.cjs');

/**
 * Every fresh shim loads its program: the build bundles it into one
 * CommonJS file (tsc's ES modules cost ~25 ms more CPU per shim), which the
 * daemon starts; it must stand alone and still run as the shim.
 */
describe('the shim bundle (dist/containerd-ts-shim.cjs)', () => {
  it('requires only Node built-ins, and no dynamic import()', () => {
    const bundle = readFileSync(BUNDLE, 'utf8');
    const required = [...bundle.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]!);
    expect(required.length).to.be.greaterThan(0);
    expect(required.filter((m) => !m.startsWith('node:'))).to.deep.equal([]);
    expect(bundle).not.to.match(/\bimport\(/);
  });

  it('runs as a standby shim: says "standby", and exits quietly when its stdin closes', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shim-bundle-'));
    try {
      const log = path.join(dir, 'standby.log');
      const child = spawn(process.execPath, [BUNDLE, '--log', log], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await new Promise<void>((resolve) => child.stdout.on('data', () => out.includes('standby\n') && resolve()));
      child.stdin.end();
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(out).to.equal('standby\n');
      expect(code).to.equal(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
