// Bundles the CLI (dist/ctr-ts.cjs), its grpc-js extension clients
// (dist/ctr-ts-ext.cjs), the shim (dist/containerd-ts-shim.cjs) and the daemon
// (dist/containerd-ts.cjs) from tsc's output, as CommonJS: Node's ES module
// loader alone cost more than a call to the daemon. package.json's build:cli
// then writes the V8 code caches bin/load-bundle.cjs runs them with. The CLI
// bundle carries the compiled containerd API descriptor (dist/proto-api.json,
// written just before by build-proto-json.mjs) as CTR_TS_PROTO_API, so no
// command reads it or checks proto/ for staleness at run time (see
// src/wire/schema.ts); the daemon's carries it and dist/proto-ext.json the
// same way.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';
import { missingNativePackages, nativePackagesPlugin } from './native-packages-plugin.mjs';

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  packages: 'external',
  logLevel: 'warning',
  // ASCII only (non-ASCII escaped): bin/load-bundle.cjs reads the bundles as latin1.
  charset: 'ascii',
  define: { 'import.meta.url': 'importMetaUrl' },
  inject: ['scripts/esbuild/import-meta-url.js'],
};

const protoApi = readFileSync('dist/proto-api.json', 'utf8');
JSON.parse(protoApi); // fail the build here, not every command, if it is not JSON
const protoExt = readFileSync('dist/proto-ext.json', 'utf8');
JSON.parse(protoExt);

await build({ ...common, entryPoints: ['dist/src/cli/main.js'], outfile: 'dist/ctr-ts.cjs', define: { ...common.define, CTR_TS_PROTO_API: JSON.stringify(protoApi) } });
await build({ ...common, entryPoints: ['dist/src/proto-ext.js'], outfile: 'dist/ctr-ts-ext.cjs' });
// The shim too: every fresh shim process loads it, and one CommonJS file instead of
// tsc's ES modules cut a shim's start from ~88 to ~64 ms of CPU here.
await build({ ...common, entryPoints: ['dist/src/shim/main.js'], outfile: 'dist/containerd-ts-shim.cjs' });
// And the daemon, with the packages it loads at start: resolving and compiling tsc's ~200 ES
// modules and those packages' files one by one took ~150 ms of CPU at every start, i.e. on
// every restart's path; one file has one code cache. Native bindings still load from
// node_modules (lmdb's and msgpackr-extract's: see native-packages-plugin.mjs; our native/
// addon by its path). Left out: the optional packages dbus-next tries in a try/catch and
// never has here (x11, usocket), and what loads on first use through createRequire (undici,
// tar-stream), which esbuild does not follow.
await build({
  ...common,
  packages: undefined,
  external: ['x11', 'usocket', ...missingNativePackages],
  plugins: [nativePackagesPlugin],
  inject: [...common.inject, 'scripts/esbuild/native-package-file.js'],
  // The descriptors, as the CLI's: no file to read or check against proto/ at start (src/proto.ts, src/proto-ext.ts).
  define: { ...common.define, CONTAINERD_TS_PROTO_API: JSON.stringify(protoApi), CONTAINERD_TS_PROTO_EXT: JSON.stringify(protoExt) },
  entryPoints: ['dist/src/daemon/main.js'],
  outfile: 'dist/containerd-ts.cjs',
});
