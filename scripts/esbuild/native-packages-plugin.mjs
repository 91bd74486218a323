// Puts the JavaScript of lmdb and of msgpackr's optional msgpackr-extract
// into the daemon's bundle (and so into its code cache) while their native
// bindings still load from node_modules: their files loaded one by one by
// Node were ~15 ms of every daemon start.
// - lmdb's CommonJS build, not its ES modules (those find the binding
//   through import.meta.url, which the bundle has only for itself);
// - both find their binding's directory from __filename or __dirname, here
//   made their real place in node_modules (nativePackageFile, injected:
//   native-package-file.js).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

/** Per package: its entry file, what it finds its files from, how often, and what stands in for it. */
const NATIVE = [
  { name: 'lmdb', find: '__filename', uses: 3, by: (file) => file },
  { name: 'msgpackr-extract', find: '__dirname', uses: 1, by: (file) => `require("node:path").dirname(${file})`, optional: true },
].flatMap((p) => {
  let entry;
  try {
    entry = require.resolve(p.name);
  } catch (err) {
    // msgpackr-extract is optional (prebuilt for some platforms only): msgpackr does without it.
    if (p.optional) return [];
    throw err;
  }
  const file = `nativePackageFile(${JSON.stringify(path.relative(root, entry))}, ${JSON.stringify(p.name)})`;
  return [{ ...p, entry, by: p.by(file) }];
});

/** Optional native packages not installed here: left to their users' try/catch at run time. */
export const missingNativePackages = ['msgpackr-extract'].filter((name) => !NATIVE.some((p) => p.name === name));

export const nativePackagesPlugin = {
  name: 'native-packages',
  setup(build) {
    for (const p of NATIVE) {
      build.onResolve({ filter: new RegExp(`^${p.name}$`) }, () => ({ path: p.entry }));
      build.onLoad({ filter: new RegExp(`^${p.entry.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`) }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        const uses = source.split(p.find).length - 1;
        // Fail the build, not the daemon, if a new version finds its files another way.
        if (uses !== p.uses) throw new Error(`native-packages plugin: ${args.path} uses ${p.find} ${uses} times, not ${p.uses}: check how it finds its binding`);
        return { contents: source.replaceAll(p.find, p.by), loader: 'js' };
      });
    }
  },
};
