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
describe('the ctr-ts bundle (dist/ctr-ts.mjs)', () => {
  const bundle = readFileSync(path.join(REPO, 'dist/ctr-ts.mjs'), 'utf8');
  const staticImports = [...bundle.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]!);

  it('exists and exports main (bin/ctr-ts imports it)', () => {
    expect(bundle).to.match(/^export \{[^}]*\bmain\b/m);
  });

  it('imports only Node built-ins at load time', () => {
    expect(staticImports.length).to.be.greaterThan(0);
    expect(staticImports.filter((m) => !m.startsWith('node:'))).to.deep.equal([]);
  });
});
