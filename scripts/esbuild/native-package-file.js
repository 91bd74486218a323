// Injected into the daemon bundle (see native-packages-plugin.mjs): the file
// of a package left in node_modules, for the package code in the bundle that
// finds its native binding from its own file. Where the build found it
// (relative to the package root, which holds dist/) when it is still there,
// else by Node's resolution (~1.5 ms each: it reads package.json exports).
export function nativePackageFile(relative, name) {
  const file = require('node:path').resolve(__dirname, '..', relative);
  return require('node:fs').existsSync(file) ? file : require.resolve(name);
}
