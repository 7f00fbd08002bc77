import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ToolContext } from '../contracts/tool.js';
import { createListTool } from './list-tool.js';

describe('list tool', () => {
  const list = createListTool();
  let base = '';
  let workspace = '';
  let context: ToolContext;

  before(async () => {
    base = await realpath(await mkdtemp(path.join(tmpdir(), 'hearth-list-')));
    workspace = path.join(base, 'workspace');
    const outside = path.join(base, 'outside');
    await mkdir(path.join(workspace, 'notes', 'deep'), { recursive: true });
    await mkdir(path.join(workspace, 'empty'));
    await mkdir(path.join(workspace, 'many'));
    await mkdir(outside);
    await writeFile(path.join(outside, 'secret.txt'), 'secret');
    await writeFile(path.join(workspace, 'b.md'), 'b');
    await writeFile(path.join(workspace, 'a.md'), 'a');
    await writeFile(path.join(workspace, 'notes', 'todo.md'), 'todo');
    await writeFile(path.join(workspace, 'notes', 'deep', 'x.md'), 'x');
    await symlink(outside, path.join(workspace, 'escape'));
    for (let index = 0; index < 30; index += 1) {
      await writeFile(path.join(workspace, 'many', `f${String(index).padStart(2, '0')}.txt`), '');
    }
    context = {
      workspaceDir: workspace,
      agentId: 'main',
      sessionKey: 'agent:main:main',
      runId: 'run-1',
      signal: new AbortController().signal,
      now: () => new Date(0),
    };
  });

  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('lists the root sorted, folders with a slash, symlinks with their target', async () => {
    const result = await list.execute({}, context);
    assert.equal(result.isError, undefined);
    assert.equal(result.content, ['a.md', 'b.md', 'empty/', `escape -> ${path.join(base, 'outside')}`, 'many/', 'notes/'].join('\n'));
  });

  it('lists recursively as paths from the root, without descending into symlinks', async () => {
    const result = await list.execute({ path: 'notes', recursive: true }, context);
    assert.equal(result.content, 'notes/deep/\nnotes/deep/x.md\nnotes/todo.md');
    const everything = await list.execute({ recursive: true, limit: 1000 }, context);
    assert.doesNotMatch(everything.content, /secret/);
    assert.match(everything.content, /^many\/f29\.txt$/m);
  });

  it('stops at the limit and says how many were left out', async () => {
    const result = await list.execute({ path: 'many', limit: 10 }, context);
    const lines = result.content.split('\n');
    assert.equal(lines.length, 11);
    assert.equal(lines[0], 'many/f00.txt');
    assert.equal(lines[9], 'many/f09.txt');
    assert.equal(lines[10], '[20 more entries not shown; raise limit (up to 1000) or list a subfolder.]');
  });

  it('reports empty folders, files and missing folders', async () => {
    assert.deepEqual(await list.execute({ path: 'empty' }, context), { content: 'Folder empty is empty.' });
    const file = await list.execute({ path: 'a.md' }, context);
    assert.equal(file.isError, true);
    assert.match(file.content, /a\.md is a file/);
    const missing = await list.execute({ path: 'nope' }, context);
    assert.equal(missing.content, 'Folder nope does not exist. Use `list` to see what is there.');
  });

  it('refuses folders outside the workspace and bad limits', async () => {
    const escaped = await list.execute({ path: 'escape' }, context);
    assert.equal(escaped.isError, true);
    assert.match(escaped.content, /outside the workspace/);
    const up = await list.execute({ path: '..' }, context);
    assert.match(up.content, /outside the workspace/);
    const tooMany = await list.execute({ limit: 5000 }, context);
    assert.equal(tooMany.isError, true);
    assert.match(tooMany.content, /- limit: /);
  });
});
