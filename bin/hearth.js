#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=4
// The flag and the variable keep a long-running gateway's resident memory flat: a small young
// generation lets V8 return the memory a burst of turns used, and a fixed mmap threshold lets
// malloc return its large buffers (GATEWAY_PROCESS_ENV in src/service/gateway-process.ts).
// `npm start` and `hearth service` pass both too.
// `npm run build` compiles to dist/src/ and bundles that into dist/bundle/cli/main.cjs (one file,
// read back from V8's code cache by load-bundle.cjs, starts faster); the bundle runs unless
// dist/src/ was compiled after it (a bare `tsc`). This folder is CommonJS (bin/package.json):
// Node starts a CommonJS file without setting up its ES module loader.
'use strict';
const { statSync } = require('node:fs');
const { join } = require('node:path');

const modified = (path) => {
  try {
    return statSync(join(__dirname, '..', path)).mtimeMs;
  } catch {
    return -1;
  }
};
const bundled = modified('dist/bundle/cli/main.cjs');
/**
 * The CLI module, and `started`, which main() calls once a gateway is ready: the gateway's code
 * cache is saved then, so it holds everything a start runs. Other commands save theirs at exit.
 */
const loadCli = async () => {
  if (bundled < 0 || bundled < modified('dist/src/cli/main.js')) return { cli: await import('../dist/src/cli/main.js'), started: () => {} };
  const role = process.argv[2] === 'gateway' ? 'gateway' : 'cli';
  const bundle = require('./load-bundle.cjs').loadBundle(join(__dirname, '..', 'dist', 'bundle', 'cli', 'main.cjs'), role);
  if (role === 'cli') process.once('exit', bundle.saveCodeCache);
  return { cli: bundle.exports, started: bundle.saveCodeCache };
};
loadCli()
  .then(({ cli, started }) => cli.main(process.argv, { started }))
  .catch((error) => {
    if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/src/cli')) {
      console.error('Hearth is not built yet. Run `npm ci` (or `npm run build`) in the project folder first.');
    } else {
      console.error(error);
    }
    process.exit(1);
  });
