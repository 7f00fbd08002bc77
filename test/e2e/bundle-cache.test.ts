import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { GATEWAY_NODE_FLAGS, HEARTH_BIN, REPO_ROOT, removeHome, startTestGateway } from '../support/gateway-harness.js';

const LOADER = join(REPO_ROOT, 'bin', 'load-bundle.cjs');
const BUNDLE_DIR = join(REPO_ROOT, 'dist', 'bundle', 'cli');

/** The code caches next to the bundle, with when each was last written. */
function caches(dir: string): Map<string, number> {
  return new Map(readdirSync(dir).filter((name) => name.endsWith('.cache')).map((name) => [name, statSync(join(dir, name)).mtimeMs]));
}

/** Ready, answered, stopped: a gateway started with `bin` in a fresh home. */
async function startAndStop(bin: string): Promise<void> {
  const gateway = await startTestGateway({ bin, config: { models: { providers: { local: { api: 'openai-chat', baseUrl: 'http://127.0.0.1:9/v1' } } } } });
  try {
    const ready = await fetch(`${gateway.url}/readyz`);
    assert.equal(ready.status, 200, gateway.output());
    assert.equal(await gateway.stop(), 0, gateway.output());
  } finally {
    await gateway.kill();
    removeHome(gateway.home);
  }
}

test('the built bundle starts from the code caches npm run build made: V8 takes them, nothing is compiled and saved again', async () => {
  const before = caches(BUNDLE_DIR);
  for (const role of ['cli', 'gateway']) {
    assert.equal([...before.keys()].filter((name) => name.startsWith(`main.cjs.${role}-`)).length, 2, `npm run build leaves two ${role} code caches: ${[...before.keys()].join(', ')}`);
  }
  for (const flags of [GATEWAY_NODE_FLAGS, []]) {
    const run = spawnSync(process.execPath, [...flags, HEARTH_BIN, '--version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^\d+\.\d+\.\d+/u);
  }
  await startAndStop(HEARTH_BIN);
  const after = caches(BUNDLE_DIR);
  for (const [name, written] of before) assert.equal(after.get(name), written, `${name} was written again: V8 refused it`);
});

test('without a gateway code cache, the first gateway start saves one once ready, and the next start takes it', async (t) => {
  // A copy of the built package (bin/ and the bundle), so the real caches stay as they are.
  const root = mkdtempSync(join(tmpdir(), 'hearth-package-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'bin'));
  for (const name of ['hearth.js', 'load-bundle.cjs', 'package.json']) copyFileSync(join(REPO_ROOT, 'bin', name), join(root, 'bin', name));
  const bundleDir = join(root, 'dist', 'bundle', 'cli');
  mkdirSync(bundleDir, { recursive: true });
  copyFileSync(join(BUNDLE_DIR, 'main.cjs'), join(bundleDir, 'main.cjs'));
  copyFileSync(join(REPO_ROOT, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
  const bin = join(root, 'bin', 'hearth.js');

  await startAndStop(bin);
  const saved = caches(bundleDir);
  const gatewayCaches = [...saved.keys()].filter((name) => name.startsWith('main.cjs.gateway-'));
  assert.equal(gatewayCaches.length, 1, `the ready gateway saved its cache: ${[...saved.keys()].join(', ')}`);
  // Everything a start ran until ready is in it, not only the bundle's top level (about 0.6 MB).
  assert.ok(statSync(join(bundleDir, gatewayCaches[0]!)).size > 900_000, 'the cache holds the functions a start ran');

  await startAndStop(bin);
  assert.deepEqual(caches(bundleDir), saved, 'the second start took the cache: nothing was written again');
});

test('a damaged or stale code cache is replaced, and the bundle still runs', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-bundle-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bundle = join(dir, 'main.cjs');
  writeFileSync(bundle, '(function (exports, require, module, __filename, __dirname) {"use strict";\nexports.answer = () => 6 * 7;\nrequire("node:fs").writeFileSync(__filename + ".ran", String(exports.answer()));\n})');
  const load = () => spawnSync(process.execPath, [LOADER, bundle], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });

  assert.equal(load().status, 0);
  assert.equal(readFileSync(`${bundle}.ran`, 'utf8'), '42');
  const [cache] = [...caches(dir).keys()];
  assert.ok(cache, 'the first run saves a cache');
  const good = readFileSync(join(dir, cache));

  writeFileSync(join(dir, cache), Buffer.from('not a code cache at all'));
  rmSync(`${bundle}.ran`);
  const again = load();
  assert.equal(again.status, 0, again.stderr);
  assert.equal(readFileSync(`${bundle}.ran`, 'utf8'), '42', 'the bundle ran despite the damaged cache');
  assert.equal(readFileSync(join(dir, cache)).length, good.length, 'the damaged cache was replaced by a good one');
  assert.deepEqual([...caches(dir).keys()], [cache], 'no temporary file is left behind');
});
