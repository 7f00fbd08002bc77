import assert from 'node:assert/strict';
import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ToolContext } from '../contracts/tool.js';
import { sha256Hex } from './content-hash.js';
import { createEditTool } from './edit-tool.js';
import { createReadTool } from './read-tool.js';
import { createWriteTool } from './write-tool.js';

const contextFor = (workspaceDir: string, agentId: string): ToolContext => ({
  workspaceDir,
  agentId,
  sessionKey: `agent:${agentId}:main`,
  runId: `run-${agentId}`,
  signal: new AbortController().signal,
  now: () => new Date(0),
});

const hashIn = (content: string) => /sha256 of the whole of [^:]+: ([0-9a-f]{64})\]$/.exec(content)?.[1] ?? '';

describe('write and edit with expectSha256: a concurrent writer\'s change is reported, not overwritten', () => {
  const read = createReadTool();
  const write = createWriteTool();
  const edit = createEditTool();
  let workspace = '';
  before(async () => {
    workspace = await realpath(await mkdtemp(path.join(tmpdir(), 'hearth-hash-')));
  });
  after(() => rm(workspace, { recursive: true, force: true }));

  it('two agents read the same file; the second one to write is refused with both hashes, and the first one\'s change is kept', async () => {
    await writeFile(path.join(workspace, 'plan.md'), '# Plan\n- buy milk\n');
    const alice = contextFor(workspace, 'alice');
    const bob = contextFor(workspace, 'bob');
    const aliceRead = await read.execute({ path: 'plan.md', hash: true }, alice);
    const bobRead = await read.execute({ path: 'plan.md', hash: true }, bob);
    assert.match(aliceRead.content, /^# Plan\n- buy milk\n\n\n\[sha256 of the whole of plan\.md: [0-9a-f]{64}\]$/);
    const seen = hashIn(bobRead.content);
    assert.equal(seen, sha256Hex('# Plan\n- buy milk\n'));

    const first = await edit.execute({ path: 'plan.md', oldText: '- buy milk', newText: '- buy milk\n- call mum', expectSha256: hashIn(aliceRead.content) }, alice);
    assert.equal(first.isError, undefined, first.content);
    const current = sha256Hex('# Plan\n- buy milk\n- call mum\n');
    assert.match(first.content, new RegExp(`sha256 ${current}`));

    const second = await write.execute({ path: 'plan.md', content: '# Plan\n- buy bread\n', expectSha256: seen }, bob);
    assert.equal(second.isError, true);
    assert.match(second.content, /^plan\.md changed since you read it/);
    assert.ok(second.content.includes(`expected sha256 ${seen}`), second.content);
    assert.ok(second.content.includes(`now has sha256 ${current}`), second.content);
    assert.equal(await readFile(path.join(workspace, 'plan.md'), 'utf8'), '# Plan\n- buy milk\n- call mum\n', 'alice\'s change is kept');

    const staleEdit = await edit.execute({ path: 'plan.md', oldText: '- buy milk', newText: '- buy oat milk', expectSha256: seen.toUpperCase() }, bob);
    assert.equal(staleEdit.isError, true);
    assert.match(staleEdit.content, /changed since you read it/);

    const retried = await write.execute({ path: 'plan.md', content: '# Plan\n- buy milk\n- call mum\n- buy bread\n', expectSha256: current }, bob);
    assert.equal(retried.isError, undefined, retried.content);
  });

  it('a file deleted since it was read is reported too; without expectSha256 writes go ahead as before', async () => {
    const agent = contextFor(workspace, 'alice');
    const gone = await write.execute({ path: 'gone.md', content: 'x', expectSha256: sha256Hex('old') }, agent);
    assert.equal(gone.isError, true);
    assert.match(gone.content, /gone\.md changed since you read it .*the file no longer exists/);
    const bad = await write.execute({ path: 'gone.md', content: 'x', expectSha256: 'abc' }, agent);
    assert.match(bad.content, /expectSha256: must be the 64 hex digits/);
    assert.equal((await write.execute({ path: 'gone.md', content: 'x' }, agent)).isError, undefined);
  });
});
