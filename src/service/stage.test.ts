import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stageVersion } from './stage.js';
import { versionPaths } from './versions.js';

// Staging's dependency step with real npm, offline: the only dependency the versions below have
// is a folder inside the package (`file:`), which `npm ci` installs without a registry.

const LOCAL_DEPENDENCY = { 'local-dep': 'file:vendor/local-dep' };

function lockfileFor(version: string, dependencies: Record<string, string>): string {
  const packages: Record<string, unknown> = { '': { name: 'hearth', version, dependencies } };
  if (dependencies['local-dep']) {
    packages['node_modules/local-dep'] = { resolved: 'vendor/local-dep', link: true };
    packages['vendor/local-dep'] = { version: '1.0.0' };
  }
  return JSON.stringify({ name: 'hearth', version, lockfileVersion: 3, requires: true, packages }, null, 2);
}

/** A built package folder (bin/, dist/) with `dependencies`, and a lockfile unless `lockfile` is null. */
function makePackage(dir: string, version: string, dependencies: Record<string, string>, lockfile: string | null = lockfileFor(version, dependencies)): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'dist', 'src', 'cli'), { recursive: true });
  writeFileSync(join(dir, 'bin', 'hearth.js'), '');
  writeFileSync(join(dir, 'dist', 'src', 'cli', 'main.js'), '');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'hearth', version, dependencies }));
  if (lockfile !== null) writeFileSync(join(dir, 'package-lock.json'), lockfile);
  mkdirSync(join(dir, 'vendor', 'local-dep'), { recursive: true });
  writeFileSync(join(dir, 'vendor', 'local-dep', 'package.json'), JSON.stringify({ name: 'local-dep', version: '1.0.0', main: 'index.js' }));
  writeFileSync(join(dir, 'vendor', 'local-dep', 'index.js'), 'module.exports = 42;\n');
  return dir;
}

function setUp() {
  const root = mkdtempSync(join(tmpdir(), 'hearth-stage-'));
  const running = makePackage(join(root, 'running'), '1.0.0', {});
  mkdirSync(join(running, 'node_modules', 'only-in-running'), { recursive: true });
  return { root, running, versions: versionPaths(join(root, 'home')), lines: [] as string[] };
}

test('a version whose lockfile differs from the running one is installed with npm ci in its own folder, the running one untouched', (t) => {
  const setup = setUp();
  t.after(() => rmSync(setup.root, { recursive: true, force: true }));
  const source = makePackage(join(setup.root, 'source'), '2.0.0', LOCAL_DEPENDENCY);
  const staged = stageVersion(source, setup.versions, setup.running, (line) => setup.lines.push(line));
  assert.equal(staged.dependencies, 'installed with npm ci');
  assert.equal(staged.dir, join(setup.versions.root, '2.0.0'));
  assert.match(setup.lines.join('\n'), /installing its dependencies \(npm ci --omit=dev\)/u);
  assert.equal(readFileSync(join(staged.dir, 'node_modules', 'local-dep', 'index.js'), 'utf8'), 'module.exports = 42;\n', 'its dependency is installed there');
  assert.equal(existsSync(join(staged.dir, 'node_modules', 'only-in-running')), false, 'nothing is taken from the running version');
  assert.deepEqual(readdirSync(join(setup.running, 'node_modules')), ['only-in-running'], 'the running version is as it was');
  assert.deepEqual(readdirSync(setup.versions.root), ['2.0.0'], 'no staging folder is left');
});

test('npm ci failing fails the staging with npm\'s own words, and leaves no half-staged version', (t) => {
  const setup = setUp();
  t.after(() => rmSync(setup.root, { recursive: true, force: true }));
  // A lockfile that does not match its package.json: npm ci refuses it before it fetches anything.
  const source = makePackage(join(setup.root, 'source'), '3.0.0', LOCAL_DEPENDENCY, lockfileFor('3.0.0', { 'other-dep': '^1.0.0' }));
  assert.throws(
    () => stageVersion(source, setup.versions, setup.running, (line) => setup.lines.push(line)),
    (error: Error) => {
      assert.match(error.message, /^npm ci of its dependencies failed: code EUSAGE `npm ci` can only install packages when your package\.json and package-lock\.json .*are in sync/u);
      assert.match(error.message, /Missing: local-dep@\S* from lock file$/u, 'what npm says is missing, not its usage text');
      return true;
    },
  );
  assert.deepEqual(readdirSync(setup.versions.root), [], 'neither versions/3.0.0 nor a staging folder');
});

test('a version with a lockfile and the same dependencies as a running version staged from a tarball (no lockfile) is linked, not installed', (t) => {
  const setup = setUp();
  t.after(() => rmSync(setup.root, { recursive: true, force: true }));
  rmSync(join(setup.running, 'package-lock.json'));
  const source = makePackage(join(setup.root, 'source'), '4.0.0', {});
  const staged = stageVersion(source, setup.versions, setup.running, (line) => setup.lines.push(line));
  assert.equal(staged.dependencies, 'linked from the running version (same dependencies)');
  assert.ok(existsSync(join(staged.dir, 'node_modules', 'only-in-running')));
  assert.deepEqual(setup.lines, [], 'npm did not run');
});
