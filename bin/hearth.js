#!/usr/bin/env -S node --max-semi-space-size=4
// The flag keeps a long-running gateway's resident memory flat: a small young generation lets V8
// return the memory a burst of turns used. `npm start` passes it too.
import('../dist/src/cli/main.js').then((cli) => cli.main(process.argv)).catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/src/cli')) {
    console.error('Hearth is not built yet. Run `npm ci` (or `npm run build`) in the project folder first.');
  } else {
    console.error(error);
  }
  process.exit(1);
});
