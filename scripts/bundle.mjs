// Bundles the compiled CLI and gateway (dist/src) into dist/bundle/cli/, the code `bin/hearth.js`
// runs. One file per lazily loaded part instead of ~100 modules, and zod's 95, cuts start-up by
// about a third (bench/README.md, "Start-up against the floor"). Packages with native code, worker
// files or their own lazy loading stay outside and load from node_modules as before.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/src/cli/main.js'],
  // Three folders deep like dist/src/<folder>/, so `new URL('../../../…', import.meta.url)` still
  // reaches the package root (package.json, src/ui/).
  outdir: 'dist/bundle/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  keepNames: true,
  sourcemap: 'linked',
  packages: 'bundle',
  external: [
    'better-sqlite3',
    'pino',
    'ws',
    'commander',
    'json5',
    'prom-client',
    'grammy',
    'discord.js',
    '@slack/*',
    'irc-framework',
    '@anthropic-ai/sdk',
    'openai',
  ],
  logLevel: 'warning',
});
