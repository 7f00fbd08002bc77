import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createStarterWorkspace, STARTER_FILES } from './starter-workspace.js';
import { createWorkspaceContext, WORKSPACE_CONTEXT_FILES } from './workspace-context.js';

describe('starter workspace', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-starter-'));
  });
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a new workspace gets commented AGENTS.md, SOUL.md and USER.md that add nothing to the prompt', async () => {
    const workspace = join(dir, 'workspaces', 'main');
    assert.equal(createStarterWorkspace(workspace), true);
    assert.deepEqual(readdirSync(workspace).sort(), [...WORKSPACE_CONTEXT_FILES].sort());
    for (const name of WORKSPACE_CONTEXT_FILES) {
      const text = readFileSync(join(workspace, name), 'utf8');
      assert.equal(text, STARTER_FILES[name]);
      assert.match(text, /^<!--\n/);
      assert.match(text, /never sent to the model/);
    }
    assert.equal(await createWorkspaceContext().load(workspace), '');
  });

  it('an existing workspace is left alone, even an empty one', () => {
    const workspace = join(dir, 'mine');
    mkdirSync(workspace);
    writeFileSync(join(workspace, 'AGENTS.md'), 'my own rules\n');
    assert.equal(createStarterWorkspace(workspace), false);
    assert.deepEqual(readdirSync(workspace), ['AGENTS.md']);
    assert.equal(readFileSync(join(workspace, 'AGENTS.md'), 'utf8'), 'my own rules\n');
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    assert.equal(createStarterWorkspace(empty), false);
    assert.deepEqual(readdirSync(empty), []);
  });

  it('the prompt keeps what the user wrote outside the comments', async () => {
    const workspace = join(dir, 'main');
    createStarterWorkspace(workspace);
    writeFileSync(join(workspace, 'USER.md'), `${STARTER_FILES['USER.md']}\nMy name is Ada.\n<!-- unfinished note`);
    assert.equal(await createWorkspaceContext().load(workspace), '## USER.md\n\nMy name is Ada.');
  });
});
