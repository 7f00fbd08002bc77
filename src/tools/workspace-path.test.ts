import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveInWorkspace } from './workspace-path.js';

describe('resolveInWorkspace', () => {
  let base = '';
  let workspace = '';
  let outside = '';

  before(async () => {
    base = await realpath(await mkdtemp(path.join(tmpdir(), 'hearth-path-')));
    workspace = path.join(base, 'workspace');
    outside = path.join(base, 'outside');
    await mkdir(path.join(workspace, 'notes'), { recursive: true });
    await mkdir(outside);
    await writeFile(path.join(workspace, 'notes', 'todo.md'), 'todo');
    await writeFile(path.join(outside, 'secret.txt'), 'secret');
    await symlink(outside, path.join(workspace, 'escape'));
    await symlink(path.join(outside, 'secret.txt'), path.join(workspace, 'secret-link.txt'));
    await symlink(path.join(workspace, 'notes'), path.join(workspace, 'notes-link'));
    await symlink(path.join(base, 'nowhere'), path.join(workspace, 'dangling'));
  });

  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('resolves relative paths and normalises them', async () => {
    const result = await resolveInWorkspace(workspace, './notes/../notes/todo.md');
    assert.deepEqual(result, { ok: true, path: path.join(workspace, 'notes', 'todo.md'), relative: 'notes/todo.md' });
  });

  it('resolves "." to the root', async () => {
    assert.deepEqual(await resolveInWorkspace(workspace, '.'), { ok: true, path: workspace, relative: '.' });
  });

  it('accepts absolute paths inside the workspace', async () => {
    const result = await resolveInWorkspace(workspace, path.join(workspace, 'notes', 'todo.md'));
    assert.equal(result.ok && result.relative, 'notes/todo.md');
  });

  it('refuses .. escapes with a message the model can act on', async () => {
    const result = await resolveInWorkspace(workspace, '../etc/passwd');
    assert.deepEqual(result, {
      ok: false,
      message: 'Path "../etc/passwd" is outside the workspace. Use a path relative to the workspace root, like "notes/todo.md".',
    });
    assert.equal((await resolveInWorkspace(workspace, 'notes/../../x')).ok, false);
  });

  it('allows names that merely start with two dots', async () => {
    const result = await resolveInWorkspace(workspace, '..notes');
    assert.equal(result.ok && result.relative, '..notes');
  });

  it('refuses absolute paths outside the workspace', async () => {
    const result = await resolveInWorkspace(workspace, path.join(outside, 'secret.txt'));
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : result.message, /is outside the workspace/);
  });

  it('refuses empty paths and NUL bytes', async () => {
    const empty = await resolveInWorkspace(workspace, '  ');
    assert.match(empty.ok ? '' : empty.message, /path is empty/);
    const nul = await resolveInWorkspace(workspace, 'notes/a\0b');
    assert.match(nul.ok ? '' : nul.message, /NUL byte/);
  });

  it('refuses symlinks that lead outside, for files and through folders', async () => {
    for (const requested of ['secret-link.txt', 'escape/secret.txt', 'escape/new/file.txt', 'escape']) {
      const result = await resolveInWorkspace(workspace, requested);
      assert.equal(result.ok, false, requested);
      assert.match(result.ok ? '' : result.message, /symbolic link/, requested);
    }
  });

  it('follows symlinks that stay inside and returns the real path', async () => {
    const result = await resolveInWorkspace(workspace, 'notes-link/todo.md');
    assert.deepEqual(result, { ok: true, path: path.join(workspace, 'notes', 'todo.md'), relative: 'notes-link/todo.md' });
  });

  it('refuses dangling symlinks', async () => {
    const result = await resolveInWorkspace(workspace, 'dangling');
    assert.match(result.ok ? '' : result.message, /target does not exist/);
  });

  it('resolves paths that do not exist yet, unless mustExist is set', async () => {
    const result = await resolveInWorkspace(workspace, 'new/deep/file.md');
    assert.deepEqual(result, { ok: true, path: path.join(workspace, 'new', 'deep', 'file.md'), relative: 'new/deep/file.md' });
    const strict = await resolveInWorkspace(workspace, 'new/deep/file.md', { mustExist: true });
    assert.equal(strict.ok ? '' : strict.message, 'File new/deep/file.md does not exist. Use `list` to see what is there.');
  });

  it('works when the workspace itself is reached through a symlink', async () => {
    const alias = path.join(base, 'alias');
    await symlink(workspace, alias);
    const result = await resolveInWorkspace(alias, 'notes/todo.md');
    assert.deepEqual(result, { ok: true, path: path.join(workspace, 'notes', 'todo.md'), relative: 'notes/todo.md' });
    const absolute = await resolveInWorkspace(alias, path.join(workspace, 'notes'));
    assert.equal(absolute.ok && absolute.relative, 'notes');
  });
});
