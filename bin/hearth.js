#!/usr/bin/env node
import('../dist/src/cli/main.js').then((cli) => cli.main(process.argv)).catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/src/cli')) {
    console.error('Hearth is not built yet. Run `npm ci` (or `npm run build`) in the project folder first.');
  } else {
    console.error(error);
  }
  process.exit(1);
});
