#!/usr/bin/env -S node --max-semi-space-size=4
// The flag keeps a long-running gateway's resident memory flat: a small young generation lets V8
// return the memory a burst of turns used. `npm start` passes it too.
// `npm run build` compiles to dist/src/ and bundles that into dist/bundle/ (fewer, larger files
// start faster); the bundle runs unless dist/src/ was compiled after it (a bare `tsc`).
import { statSync } from 'node:fs';

const modified = (path) => {
  try {
    return statSync(new URL(path, import.meta.url)).mtimeMs;
  } catch {
    return -1;
  }
};
const bundled = modified('../dist/bundle/cli/main.js');
const entry = bundled >= 0 && bundled >= modified('../dist/src/cli/main.js') ? '../dist/bundle/cli/main.js' : '../dist/src/cli/main.js';
import(entry).then((cli) => cli.main(process.argv)).catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/src/cli')) {
    console.error('Hearth is not built yet. Run `npm ci` (or `npm run build`) in the project folder first.');
  } else {
    console.error(error);
  }
  process.exit(1);
});
