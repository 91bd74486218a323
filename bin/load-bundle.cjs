// Loads one of the build's CommonJS bundles (dist/NAME) with a V8 code cache
// for it, which saves compiling the bundle at every start. The build makes
// dist/NAME.cache (scripts/esbuild/code-cache.cjs). A long-running program
// can also keep a cache that one of its own runs made (saveTrainedCache): it
// holds what that run compiled after loading too (its start-up, its first
// requests), which the build cannot run. V8 checks a cache against its own
// version and flags and the source's length, and compiles afresh when it
// does not fit: slower, still correct. It does not compare the source
// itself: a trained cache is named after the bundle and build cache it was
// made for.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { wrap } = require('node:module');

/**
 * The bundle's exports. `cacheRejected`: V8 compiled it afresh although a
 * cache was there. `saveTrainedCache()`: writes what V8 has compiled of it so
 * far as the trained cache in `options.trainedDir` (atomically, replacing
 * any other of this bundle) and returns its path; undefined when there is no
 * such directory, the cache this run loaded was already a fitting trained one,
 * or V8 has dropped some of the build's (then the build's cache is better).
 */
function loadBundle(name, options = {}) {
  const bundle = path.join(__dirname, '..', 'dist', name);
  const built = `${bundle}.cache`;
  const trained = options.trainedDir ? trainedCachePath(options.trainedDir, name, bundle, built) : undefined;
  let cached = trained && readOrUndefined(trained);
  const loadedTrained = cached !== undefined;
  cached ??= readOrUndefined(built);
  // No dynamic import() in a bundle: under a code cache it would find no loader.
  // latin1: the build writes ASCII only (esbuild's charset), read as one-byte text without UTF-8 decoding (~2 ms of 2 MB).
  const script = new vm.Script(wrap(fs.readFileSync(bundle, 'latin1')), { filename: bundle, cachedData: cached });
  const cacheRejected = cached !== undefined && script.cachedDataRejected === true;
  const mod = { exports: {} };
  // The bundle's require is this file's: packages left out of it resolve from the package root.
  script.runInThisContext()(mod.exports, require, mod, bundle, path.dirname(bundle));
  const saveTrainedCache = () => {
    if (!trained || (loadedTrained && !cacheRejected)) return undefined;
    const data = script.createCachedData();
    // It holds what the build's cache held, and more: clearly smaller (its size varies by some bytes), V8 has
    // dropped code unused since (bytecode flushing), which the next start would compile again.
    if (!loadedTrained && cached !== undefined && !cacheRejected && data.length < cached.length * 0.95) return undefined;
    const tmp = `${trained}.${process.pid}.tmp`;
    fs.mkdirSync(path.dirname(trained), { recursive: true, mode: 0o755 });
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, trained);
    for (const f of fs.readdirSync(path.dirname(trained))) {
      if (f.startsWith(`${name}-`) && path.join(path.dirname(trained), f) !== trained) fs.rmSync(path.join(path.dirname(trained), f), { force: true });
    }
    return trained;
  };
  return { exports: mod.exports, cacheRejected, saveTrainedCache };
}

/** `<dir>/<name>-<node version>-<bundle size.mtime>-<build cache size.mtime>.cache`: a rebuild or another Node makes another name. */
function trainedCachePath(dir, name, bundle, built) {
  const id = (file) => {
    try {
      const st = fs.statSync(file);
      return `${st.size}.${Math.trunc(st.mtimeMs)}`;
    } catch {
      return 'none';
    }
  };
  return path.join(dir, `${name}-${process.version}-${id(bundle)}-${id(built)}.cache`);
}

function readOrUndefined(file) {
  try {
    return fs.readFileSync(file);
  } catch {
    return undefined;
  }
}

module.exports = { loadBundle };
