// Compiles proto/ into dist/proto-api.json (the containerd API and ImageResolve)
// and dist/proto-ext.json (our import and pull services) so the CLI and daemon
// skip parsing the .proto files at every start (see src/proto.ts, src/proto-ext.ts).
import { writeCompiledProtos } from '../dist/src/proto.js';
import { writeCompiledExtensions } from '../dist/src/proto-ext.js';
writeCompiledProtos();
writeCompiledExtensions();
