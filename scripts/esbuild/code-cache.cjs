// Writes V8's code cache for the CLI bundle (`node code-cache.cjs dist/ctr-ts.cjs`
// -> dist/ctr-ts.cjs.cache), compiled eagerly so every command's functions
// are in it, not only those one run happened to call. bin/ctr-ts hands it to
// V8, which checks it against the source and its own version and flags and
// compiles afresh when it does not fit (another Node, say).
'use strict';
const fs = require('node:fs');
const vm = require('node:vm');
const v8 = require('node:v8');
const { wrap } = require('node:module');

const bundle = process.argv[2];
if (!bundle) throw new Error('usage: code-cache.cjs BUNDLE');
v8.setFlagsFromString('--no-lazy');
const script = new vm.Script(wrap(fs.readFileSync(bundle, 'utf8')), { filename: bundle });
// Back to the default before the cache is made: V8 rejects a cache made under other flags.
v8.setFlagsFromString('--lazy');
fs.writeFileSync(`${bundle}.cache`, script.createCachedData());
