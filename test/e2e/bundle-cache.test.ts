import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { GATEWAY_NODE_FLAGS, HEARTH_BIN, REPO_ROOT } from '../support/gateway-harness.js';

const LOADER = join(REPO_ROOT, 'bin', 'load-bundle.cjs');
const BUNDLE_DIR = join(REPO_ROOT, 'dist', 'bundle', 'cli');

/** The code caches next to the bundle, with when each was last written. */
function caches(dir: string): Map<string, number> {
  return new Map(readdirSync(dir).filter((name) => name.endsWith('.cache')).map((name) => [name, statSync(join(dir, name)).mtimeMs]));
}

test('the built bundle starts from the code cache npm run build made: V8 takes it, nothing is compiled and saved again', () => {
  const before = caches(BUNDLE_DIR);
  assert.ok(before.size > 0, 'npm run build leaves a code cache next to dist/bundle/cli/main.cjs');
  for (const flags of [GATEWAY_NODE_FLAGS, []]) {
    const run = spawnSync(process.execPath, [...flags, HEARTH_BIN, '--version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^\d+\.\d+\.\d+/u);
  }
  const after = caches(BUNDLE_DIR);
  for (const [name, written] of before) assert.equal(after.get(name), written, `${name} was written again: V8 refused it`);
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
