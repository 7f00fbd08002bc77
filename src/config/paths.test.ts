import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { ensureHearthDirs, resolveHearthPaths } from './paths.js';

describe('resolveHearthPaths', () => {
  it('defaults to ~/.hearth', () => {
    const paths = resolveHearthPaths({ HOME: '/home/ada' });
    assert.deepEqual(paths, {
      home: '/home/ada/.hearth',
      configPath: '/home/ada/.hearth/hearth.json5',
      stateDir: '/home/ada/.hearth/state',
      workspacesDir: '/home/ada/.hearth/workspaces',
      logsDir: '/home/ada/.hearth/logs',
      credentialsDir: '/home/ada/.hearth/credentials',
    });
  });

  it('honours HEARTH_HOME and HEARTH_CONFIG, expanding ~ and resolving relative paths', () => {
    const paths = resolveHearthPaths({ HOME: '/home/ada', HEARTH_HOME: '~/hearth-data', HEARTH_CONFIG: 'conf/h.json5' });
    assert.equal(paths.home, '/home/ada/hearth-data');
    assert.equal(paths.stateDir, '/home/ada/hearth-data/state');
    assert.equal(paths.configPath, resolve('conf/h.json5'));
  });

  it('treats empty variables as unset', () => {
    const paths = resolveHearthPaths({ HOME: '/home/ada', HEARTH_HOME: '', HEARTH_CONFIG: ' ' });
    assert.equal(paths.home, '/home/ada/.hearth');
    assert.equal(paths.configPath, '/home/ada/.hearth/hearth.json5');
  });
});

describe('ensureHearthDirs', () => {
  const root = mkdtempSync(join(tmpdir(), 'hearth-paths-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('creates every directory, with home and credentials private to the owner', { skip: process.platform === 'win32' }, () => {
    const paths = resolveHearthPaths({ HEARTH_HOME: join(root, 'home') });
    ensureHearthDirs(paths);
    ensureHearthDirs(paths); // idempotent
    for (const dir of [paths.home, paths.stateDir, paths.workspacesDir, paths.logsDir, paths.credentialsDir]) {
      assert.ok(statSync(dir).isDirectory(), dir);
    }
    assert.equal(statSync(paths.home).mode & 0o777, 0o700);
    assert.equal(statSync(paths.credentialsDir).mode & 0o777, 0o700);
  });
});
