// Writes V8's code cache for a bundle (`node code-cache.cjs dist/X.cjs MODE`
// -> dist/X.cjs.cache), which bin/load-bundle.cjs hands to V8; V8 checks it
// against the source and its own version and flags and compiles afresh when
// it does not fit (another Node, say). MODE says which functions it holds:
//   eager  every function, compiled up front (the CLI: each command is
//          another set of functions, and the bundle is small);
//   loaded what loading the bundle compiles: its modules' top-level code
//          run once, as at a start (the daemon: the packages in its bundle
//          make an eager cache 2.4 MB, slower to read than what it saves).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const v8 = require('node:v8');
const { wrap } = require('node:module');

const [file, mode] = process.argv.slice(2);
const bundle = file && path.resolve(file);
if (!bundle || (mode !== 'eager' && mode !== 'loaded')) throw new Error('usage: code-cache.cjs BUNDLE eager|loaded');
if (mode === 'eager') v8.setFlagsFromString('--no-lazy');
const script = new vm.Script(wrap(fs.readFileSync(bundle, 'utf8')), { filename: bundle });
// Back to the default before the cache is made: V8 rejects a cache made under other flags.
if (mode === 'eager') v8.setFlagsFromString('--lazy');
if (mode === 'loaded') {
  // Only module definitions and their dependencies' set-up run here: the bundle's entry is a function nobody calls.
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, require, mod, bundle, path.dirname(bundle));
}
fs.writeFileSync(`${bundle}.cache`, script.createCachedData());
