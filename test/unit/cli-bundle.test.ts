import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * The CLI's start-up is most of a `ctr-ts run`: its bundle must load nothing
 * heavy up front. grpc-js, proto-loader and protobufjs (~130 ms) are for the
 * daemon; a command that needs one loads it when it runs (src/cli/extensions.ts).
 */
describe('the ctr-ts bundle (dist/ctr-ts.cjs)', () => {
  const bundle = readFileSync(path.join(REPO, 'dist/ctr-ts.cjs'), 'utf8');
  const required = [...bundle.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]!);

  it('exists and exports main (bin/ctr-ts loads it)', () => {
    expect(bundle).to.match(/^\s+main: \(\) => main,$/m);
    expect(bundle).to.contain('module.exports = __toCommonJS(');
  });

  it('requires only Node built-ins at load time', () => {
    expect(required.length).to.be.greaterThan(0);
    expect(required.filter((m) => !m.startsWith('node:'))).to.deep.equal([]);
  });

  it('has no dynamic import(): under V8\'s code cache it has no loader (extensions come by require)', () => {
    expect(bundle).not.to.match(/\bimport\(/);
  });

  it('has no import.meta left (CommonJS has none: the build injects the bundle file\'s URL)', () => {
    expect(bundle).not.to.match(/import\.meta/);
  });
});
