// Bundles the compiled CLI and gateway (dist/src) into one CommonJS file, dist/bundle/cli/main.cjs,
// which `bin/hearth.js` runs through `bin/load-bundle.cjs` with V8's code cache: one file instead of
// ~130 modules and zod's 95, compiled once and then read back from the cache (bench/README.md,
// "Start-up against the floor"). Modules the source imports lazily (`await import(…)`) stay lazy:
// their code is in the file but runs only when first imported. Packages with native code, worker
// files or their own lazy loading stay outside and load from node_modules as before; pino and
// json5, which every start needs, are inside, so the code cache holds them too (pino's transports,
// the part that would need its worker files, are not used).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

// Earlier builds' files (and their code caches) go first.
rmSync('dist/bundle', { recursive: true, force: true });

await build({
  entryPoints: ['dist/src/cli/main.js'],
  // Three folders deep like dist/src/<folder>/, so `new URL('../../../…', import.meta.url)` still
  // reaches the package root (package.json, src/ui/).
  outfile: 'dist/bundle/cli/main.cjs',
  bundle: true,
  format: 'cjs',
  // `await import(…)` of a package becomes `require` (Node 20.19 and later require ES modules
  // too): code V8 read back from its code cache cannot `import()`.
  supported: { 'dynamic-import': false },
  // The file is CommonJS's module wrapper, a function load-bundle.cjs compiles as it is (gluing
  // the wrapper on would keep a second copy of 2 MB of source). The sources are ES modules:
  // `import.meta.url` is the bundle's own URL.
  banner: { js: '(function (exports, require, module, __filename, __dirname) {"use strict";\nconst __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  footer: { js: '})' },
  define: { 'import.meta.url': '__bundleUrl' },
  platform: 'node',
  target: 'node20',
  minify: true,
  sourcemap: 'linked',
  packages: 'bundle',
  external: [
    'better-sqlite3',
    'sqlite-vec',
    'ws',
    'commander',
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

// V8 keeps the bundle's source in memory: with one character outside ASCII it would take two
// bytes a character (4 MB instead of 2). esbuild escapes strings, not regular expressions.
const text = readFileSync('dist/bundle/cli/main.cjs', 'latin1');
const wide = /[^\x00-\x7f]/u.exec(text);
if (wide) throw new Error(`dist/bundle/cli/main.cjs has a character outside ASCII near "${text.slice(Math.max(0, wide.index - 60), wide.index + 20)}": write it as \\u…`);
if (/\bimport\s*\(\s*["'`]/u.test(text)) throw new Error('dist/bundle/cli/main.cjs still has an import(): it would fail once read back from the code cache');

// The code caches (bin/load-bundle.cjs), for the flags of bin/hearth.js and `npm start` and for
// plain `node bin/hearth.js`: the other commands' from `hearth --version`, the gateway's from a
// gateway started in a scratch home with one model configured and stopped once it is ready.
const GATEWAY_FLAGS = ['--max-semi-space-size=4'];
for (const flags of [GATEWAY_FLAGS, []]) {
  const warmed = spawnSync(process.execPath, [...flags, 'bin/hearth.js', '--version'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (warmed.status !== 0) throw new Error(`the bundle did not run (exit ${warmed.status}): see above`);
  await warmGateway(flags);
}
const caches = readdirSync('dist/bundle/cli').filter((name) => name.endsWith('.cache'));
for (const role of ['cli', 'gateway']) {
  if (caches.filter((name) => name.startsWith(`main.cjs.${role}-`)).length !== 2) throw new Error(`expected two ${role} code caches in dist/bundle/cli, found: ${caches.join(', ')}`);
}

/** Starts `hearth gateway` on a free loopback port in a scratch home, and stops it once ready. */
async function warmGateway(flags) {
  const home = mkdtempSync(join(tmpdir(), 'hearth-build-'));
  try {
    writeFileSync(
      join(home, 'hearth.json5'),
      JSON.stringify({ models: { providers: { local: { api: 'openai-chat', baseUrl: 'http://127.0.0.1:9/v1' } } }, agents: { defaults: { model: 'local/model' } }, logging: { level: 'warn' } }),
    );
    const gateway = spawn(process.execPath, [...flags, 'bin/hearth.js', 'gateway', '--port', '0', '--bind', 'loopback'], {
      env: { ...process.env, HEARTH_HOME: home, HEARTH_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => gateway.once('exit', (code, signal) => resolve(code ?? signal)));
    const ready = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), 60_000);
      let output = '';
      gateway.stdout.on('data', (chunk) => {
        output += chunk;
        if (output.includes('Hearth is running at')) resolve(true);
      });
      gateway.once('exit', () => resolve(false));
      exited.then(() => clearTimeout(timer));
    });
    gateway.kill(ready ? 'SIGTERM' : 'SIGKILL');
    const code = await exited;
    if (!ready || code !== 0) throw new Error(`a gateway started to warm its code cache did not become ready and stop cleanly (exit ${code}): see above`);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
