// Compiles proto/ into dist/proto-api.json so the CLI and daemon skip parsing
// the .proto files at every start (see src/proto.ts).
import { writeCompiledProtos } from '../dist/src/proto.js';
writeCompiledProtos();
