// Injected into the CommonJS CLI bundle (see package.json build:cli): the
// modules use import.meta.url to find the package; in CommonJS the bundle's
// own file gives the same answer.
export const importMetaUrl = require('node:url').pathToFileURL(__filename).href;
