// Bundles the CLI (dist/ctr-ts.cjs), its grpc-js extension clients
// (dist/ctr-ts-ext.cjs), the shim (dist/containerd-ts-shim.cjs) and the daemon
// (dist/containerd-ts.cjs) from tsc's output, as CommonJS: Node's ES module
// loader alone cost more than a call to the daemon. The CLI bundle carries
// the compiled containerd API descriptor (dist/proto-api.json, written just
// before by build-proto-json.mjs) as CTR_TS_PROTO_API, so no command reads
// it or checks proto/ for staleness at run time (see src/wire/schema.ts).
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  packages: 'external',
  logLevel: 'warning',
  define: { 'import.meta.url': 'importMetaUrl' },
  inject: ['scripts/esbuild/import-meta-url.js'],
};

const protoApi = readFileSync('dist/proto-api.json', 'utf8');
JSON.parse(protoApi); // fail the build here, not every command, if it is not JSON

await build({ ...common, entryPoints: ['dist/src/cli/main.js'], outfile: 'dist/ctr-ts.cjs', define: { ...common.define, CTR_TS_PROTO_API: JSON.stringify(protoApi) } });
await build({ ...common, entryPoints: ['dist/src/proto-ext.js'], outfile: 'dist/ctr-ts-ext.cjs' });
// The shim too: every fresh shim process loads it, and one CommonJS file instead of
// tsc's ES modules cut a shim's start from ~88 to ~64 ms of CPU here.
await build({ ...common, entryPoints: ['dist/src/shim/main.js'], outfile: 'dist/containerd-ts-shim.cjs' });
// And the daemon (its dependencies stay in node_modules): tsc's ~200 ES modules took
// ~60 ms of compiling and resolving at every start, i.e. on every restart's path.
await build({ ...common, entryPoints: ['dist/src/daemon/main.js'], outfile: 'dist/containerd-ts.cjs' });
