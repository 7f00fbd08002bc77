// Bundles the compiled CLI and gateway (dist/src) into dist/bundle/cli/, the code `bin/hearth.js`
// runs. One file per lazily loaded part instead of ~100 modules, and zod's 95, cuts start-up by
// about a third (bench/README.md, "Start-up against the floor"). Packages with native code, worker
// files or their own lazy loading stay outside and load from node_modules as before.
import { build } from 'esbuild';

/**
 * zod re-exports every translation of its error messages as `z.locales` (~50 files, a third of
 * its code); Hearth uses only the English default, which zod imports on its own. The namespace
 * is bundled empty.
 */
const withoutZodLocales = {
  name: 'without-zod-locales',
  setup(builder) {
    builder.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /zod[\\/]v4[\\/](classic|mini|core)[\\/]/.test(args.importer) ? { path: 'zod-locales', namespace: 'empty' } : undefined,
    );
    builder.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

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
  minifyWhitespace: true,
  sourcemap: 'linked',
  packages: 'bundle',
  external: [
    'better-sqlite3',
    'sqlite-vec',
    'pino',
    'ws',
    'commander',
    'json5',
    'prom-client',
    'grammy',
    'discord.js',
    '@slack/*',
    '@larksuiteoapi/node-sdk',
    'irc-framework',
    'matrix-js-sdk',
    '@anthropic-ai/sdk',
    'openai',
    'marked',
    'marked-terminal',
    '@modelcontextprotocol/*',
    'tar',
    'yaml',
    '@babel/parser',
    'imapflow',
    'nodemailer',
    'mailparser',
    'html-to-text',
    'pg',
    '@aws-sdk/*',
    '@opentelemetry/*',
    'turndown',
  ],
  plugins: [withoutZodLocales],
  logLevel: 'warning',
});
