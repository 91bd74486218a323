import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { loadContainerdApi } from '../../src/proto.js';

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

  it('does not require node:http2 (src/wire has its own HTTP/2 client: http2 loads tls, crypto, http, assert)', () => {
    expect(required).not.to.include('node:http2');
    expect(required).not.to.include('node:tls');
    expect(required).not.to.include('node:http');
  });

  it('carries the API descriptor it was built with (no command reads dist/proto-api.json or checks proto/)', () => {
    expect(bundle).not.to.contain('CTR_TS_PROTO_API');
    expect(bundle).to.contain('"Tasks":{"methods"');
  });

  it('has no import.meta left (CommonJS has none: the build injects the bundle file\'s URL)', () => {
    expect(bundle).not.to.match(/import\.meta/);
  });
});

/** What a real `ctr-ts version` loads, from Node's own list of the built-in modules it loaded. */
describe('ctr-ts version at run time', () => {
  let dir: string;
  let server: grpc.Server;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cli-modules-'));
    server = new grpc.Server();
    server.addService(loadContainerdApi().services.version.service, {
      Version: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { version: '9.9.9', revision: 'r' }),
    });
    await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${dir}/d.sock`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
    writeFileSync(`${dir}/modules.cjs`, `process.on('exit', () => process.stderr.write('MODULES ' + process.moduleLoadList.join(',') + '\\n'));\n`);
  });

  after(() => {
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('talks to the daemon without loading node:http2, tls or http', async () => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--require', `${dir}/modules.cjs`, path.join(REPO, 'bin/ctr-ts'), '--address', `${dir}/d.sock`, 'version']);
    expect(stdout).to.contain('Version:  9.9.9');
    const loaded = /MODULES (.*)/.exec(stderr)![1]!.split(',').filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));
    expect(loaded).to.include('net');
    expect(loaded.filter((m) => /^(http2|internal\/http2\/.*|tls|_tls_wrap|http)$/.test(m))).to.deep.equal([]);
    // Commands' modules load when they run: version pays for no other command's built-ins.
    expect(loaded.filter((m) => /^(child_process|crypto|fs\/promises|os|readline)$/.test(m))).to.deep.equal([]);
  });
});
