import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ToolContext } from '../contracts/tool.js';
import { createEditTool } from './edit-tool.js';
import { createReadTool } from './read-tool.js';
import { createWriteTool } from './write-tool.js';

function contextFor(workspaceDir: string, signal = new AbortController().signal): ToolContext {
  return { workspaceDir, agentId: 'main', sessionKey: 'agent:main:main', runId: 'run-1', signal, now: () => new Date(0) };
}

describe('read, write and edit tools', () => {
  const read = createReadTool();
  const write = createWriteTool();
  const edit = createEditTool();
  let base = '';
  let workspace = '';
  let outside = '';
  let context: ToolContext;

  before(async () => {
    base = await realpath(await mkdtemp(path.join(tmpdir(), 'hearth-tools-')));
    workspace = path.join(base, 'workspace');
    outside = path.join(base, 'outside');
    await mkdir(path.join(workspace, 'notes'), { recursive: true });
    await mkdir(outside);
    await writeFile(path.join(outside, 'secret.txt'), 'secret');
    await symlink(path.join(outside, 'secret.txt'), path.join(workspace, 'secret-link.txt'));
    await symlink(outside, path.join(workspace, 'escape'));
    context = contextFor(workspace);
  });

  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  describe('read', () => {
    it('returns a whole file', async () => {
      await writeFile(path.join(workspace, 'notes', 'a.md'), 'one\ntwo\nthree\n');
      assert.deepEqual(await read.execute({ path: 'notes/a.md' }, context), { content: 'one\ntwo\nthree\n' });
    });

    it('returns a window of lines with offset and limit, saying where to continue', async () => {
      await writeFile(path.join(workspace, 'notes', 'lines.md'), 'l1\nl2\nl3\nl4\nl5\n');
      const result = await read.execute({ path: 'notes/lines.md', offset: 2, limit: 2 }, context);
      assert.equal(result.isError, undefined);
      assert.equal(result.content, 'l2\nl3\n\n[Lines 2-3 of 5 in notes/lines.md. To read more, call `read` with offset 4.]');
      const tail = await read.execute({ path: 'notes/lines.md', offset: 5 }, context);
      assert.equal(tail.content, 'l5\n\n[Lines 5-5 of 5 in notes/lines.md.]');
      const past = await read.execute({ path: 'notes/lines.md', offset: 9 }, context);
      assert.equal(past.isError, true);
      assert.match(past.content, /past the end .* 5 lines/);
    });

    it('reads files over 256 KiB partially and says how to read the rest', async () => {
      const line = 'x'.repeat(99);
      const text = Array.from({ length: 4000 }, (_, index) => `${index + 1} ${line}`).join('\n');
      await writeFile(path.join(workspace, 'big.txt'), text);
      const first = await read.execute({ path: 'big.txt' }, context);
      assert.equal(first.isError, undefined);
      assert.ok(first.content.length <= 256 * 1024 + 500);
      const next = /"offset": (\d+)/.exec(first.content);
      assert.ok(next, first.content.slice(-300));
      const offset = Number(next[1]);
      assert.ok(offset > 1000 && offset < 4000);
      const rest = await read.execute({ path: 'big.txt', offset }, context);
      assert.ok(rest.content.startsWith(`${offset} x`));
      assert.match(rest.content, /Showing lines \d+-4000\. That is the end of the file\.\]$/);
      const window = await read.execute({ path: 'big.txt', offset: 3000, limit: 2 }, context);
      assert.ok(window.content.startsWith(`3000 ${line}\n3001 ${line}\n\n[big.txt is`));
    });

    it('refuses binary files', async () => {
      await writeFile(path.join(workspace, 'image.bin'), Buffer.from([0x89, 0x50, 0x00, 0x01]));
      const result = await read.execute({ path: 'image.bin' }, context);
      assert.equal(result.isError, true);
      assert.match(result.content, /binary file/);
    });

    it('says a missing file does not exist and a folder is a folder', async () => {
      assert.deepEqual(await read.execute({ path: 'notes/x.md' }, context), {
        content: 'File notes/x.md does not exist. Use `list` to see what is there.',
        isError: true,
      });
      const folder = await read.execute({ path: 'notes' }, context);
      assert.match(folder.content, /notes is a folder/);
    });

    it('refuses .. escapes, absolute paths outside and symlinks pointing outside', async () => {
      for (const requested of ['../outside/secret.txt', path.join(outside, 'secret.txt'), 'secret-link.txt', 'escape/secret.txt']) {
        const result = await read.execute({ path: requested }, context);
        assert.equal(result.isError, true, requested);
        assert.doesNotMatch(result.content, /^secret$/);
        assert.match(result.content, /outside the workspace/, requested);
      }
    });
  });

  describe('write', () => {
    it('writes a file atomically and reports the size', async () => {
      const result = await write.execute({ path: 'notes/new.md', content: 'héllo' }, context);
      assert.match(result.content, /^Wrote 6 bytes to notes\/new\.md \(sha256 [0-9a-f]{64}\)$/);
      assert.equal(await readFile(path.join(workspace, 'notes', 'new.md'), 'utf8'), 'héllo');
      const overwrite = await write.execute({ path: 'notes/new.md', content: 'bye' }, context);
      assert.match(overwrite.content, /^Wrote 3 bytes to notes\/new\.md \(sha256 /);
      assert.deepEqual((await readdir(path.join(workspace, 'notes'))).filter((name) => name.endsWith('.tmp')), []);
    });

    it('creates missing parent folders', async () => {
      const result = await write.execute({ path: 'projects/2024/plan.md', content: '# Plan\n' }, context);
      assert.match(result.content, /^Wrote 7 bytes to projects\/2024\/plan\.md /);
      assert.equal(await readFile(path.join(workspace, 'projects', '2024', 'plan.md'), 'utf8'), '# Plan\n');
    });

    it('refuses paths outside, including through symlinks, and leaves the outside untouched', async () => {
      for (const requested of ['../outside/new.txt', path.join(outside, 'new.txt'), 'secret-link.txt', 'escape/new/x.txt']) {
        const result = await write.execute({ path: requested, content: 'pwned' }, context);
        assert.equal(result.isError, true, requested);
        assert.match(result.content, /outside the workspace/, requested);
      }
      assert.equal(await readFile(path.join(outside, 'secret.txt'), 'utf8'), 'secret');
      assert.deepEqual((await readdir(outside)).sort(), ['secret.txt']);
    });

    it('refuses content over 1 MiB and writing over a folder', async () => {
      const big = await write.execute({ path: 'big.md', content: 'x'.repeat(1024 * 1024 + 1) }, context);
      assert.equal(big.isError, true);
      assert.match(big.content, /more than the 1048576 bytes/);
      const folder = await write.execute({ path: 'notes', content: 'x' }, context);
      assert.equal(folder.isError, true);
      assert.match(folder.content, /notes is a folder/);
    });
  });

  describe('edit', () => {
    const file = 'notes/edit.md';

    it('replaces one exact occurrence, keeping $ patterns literal', async () => {
      await writeFile(path.join(workspace, file), 'alpha\nbeta\ngamma\n');
      const result = await edit.execute({ path: file, oldText: 'beta', newText: 'b$&ta' }, context);
      assert.match(result.content, /^Replaced 1 occurrence in notes\/edit\.md \(sha256 [0-9a-f]{64}\)\.$/);
      assert.equal(await readFile(path.join(workspace, file), 'utf8'), 'alpha\nb$&ta\ngamma\n');
    });

    it('fails when oldText is not found', async () => {
      await writeFile(path.join(workspace, file), 'alpha\n');
      const result = await edit.execute({ path: file, oldText: 'omega', newText: 'x' }, context);
      assert.equal(result.isError, true);
      assert.match(result.content, /oldText was not found in notes\/edit\.md/);
    });

    it('fails on ambiguous oldText and says how many times it appears', async () => {
      await writeFile(path.join(workspace, file), 'todo\ntodo\ntodo\n');
      const result = await edit.execute({ path: file, oldText: 'todo', newText: 'done' }, context);
      assert.equal(result.isError, true);
      assert.match(result.content, /appears 3 times/);
      assert.equal(await readFile(path.join(workspace, file), 'utf8'), 'todo\ntodo\ntodo\n');
    });

    it('replaces every occurrence with replaceAll', async () => {
      await writeFile(path.join(workspace, file), 'todo\ntodo\ntodo\n');
      const result = await edit.execute({ path: file, oldText: 'todo', newText: 'done', replaceAll: true }, context);
      assert.match(result.content, /^Replaced 3 occurrences in notes\/edit\.md /);
      assert.equal(await readFile(path.join(workspace, file), 'utf8'), 'done\ndone\ndone\n');
    });

    it('reports missing files and refuses symlinks pointing outside', async () => {
      const missing = await edit.execute({ path: 'notes/none.md', oldText: 'a', newText: 'b' }, context);
      assert.equal(missing.content, 'File notes/none.md does not exist. Use `list` to see what is there.');
      const escaped = await edit.execute({ path: 'secret-link.txt', oldText: 'secret', newText: 'x' }, context);
      assert.equal(escaped.isError, true);
      assert.equal(await readFile(path.join(outside, 'secret.txt'), 'utf8'), 'secret');
    });
  });

  describe('bad arguments', () => {
    it('returns isError naming the field instead of throwing', async () => {
      const missing = await read.execute({}, context);
      assert.equal(missing.isError, true);
      assert.match(missing.content, /Invalid arguments for `read`:\n- path: missing \(a required string\)/);
      assert.match(missing.content, /Usage: read /);

      const wrongType = await write.execute({ path: 'a.md', content: 42 }, context);
      assert.match(wrongType.content, /- content: /);

      const badOffset = await read.execute({ path: 'a.md', offset: 0 }, context);
      assert.match(badOffset.content, /- offset: /);

      const extra = await edit.execute({ path: 'a.md', oldText: 'a', newText: 'b', file: 'x' }, context);
      assert.match(extra.content, /unexpected field "file"/);

      const emptyOld = await edit.execute({ path: 'a.md', oldText: '', newText: 'b' }, context);
      assert.match(emptyOld.content, /- oldText: must not be empty/);

      const notObject = await read.execute(['a.md'], context);
      assert.match(notObject.content, /- \(arguments\): /);

      const notJson = await read.execute('{path: a.md', context);
      assert.match(notJson.content, /not valid JSON/);

      const emptyPath = await read.execute({ path: '' }, context);
      assert.match(emptyPath.content, /path is empty/);
    });

    it('accepts the model\'s raw JSON text', async () => {
      await writeFile(path.join(workspace, 'json.md'), 'from json');
      const result = await read.execute('{"path": "json.md"}', context);
      assert.deepEqual(result, { content: 'from json' });
    });

    it('returns isError when the signal is already aborted', async () => {
      const controller = new AbortController();
      controller.abort();
      const result = await write.execute({ path: 'aborted.md', content: 'x' }, contextFor(workspace, controller.signal));
      assert.equal(result.isError, true);
      assert.match(result.content, /aborted/);
    });
  });
});
