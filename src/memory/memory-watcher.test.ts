import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { watchMemory } from './memory-watcher.js';

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within 2 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('one watch per folder, not per file; a change deep down, a new folder and a removed one are all seen', async () => {
  const workspace = mkdtempSync(join(tmpdir(), 'hearth-memory-watcher-'));
  const deep = join(workspace, 'memory', 'projects', 'garden');
  mkdirSync(deep, { recursive: true });
  mkdirSync(join(workspace, 'memory', '.trash'));
  for (let n = 0; n < 40; n++) writeFileSync(join(deep, `note-${n}.md`), `note ${n}\n`);
  let changes = 0;
  const errors: unknown[] = [];
  const watcher = watchMemory({ workspace, paths: ['MEMORY.md', 'memory/'], debounceMs: 10, onChange: () => changes++, onError: (error) => errors.push(error) });
  try {
    const watched = () => watcher.watching().map((path) => path.slice(workspace.length) || '/').sort();
    assert.deepEqual(watched(), ['/', '/memory', '/memory/projects', '/memory/projects/garden'], 'the workspace and each folder, no file, no dot-folder');
    writeFileSync(join(deep, 'note-3.md'), 'note 3, edited\n');
    await until(() => changes === 1, 'the edit deep down');
    mkdirSync(join(workspace, 'memory', 'travel'));
    await until(() => watched().includes('/memory/travel'), 'the new folder watched');
    const before = changes;
    writeFileSync(join(workspace, 'memory', 'travel', 'kyoto.md'), 'Kyoto in April\n');
    await until(() => changes > before, 'a note in the new folder');
    rmSync(join(workspace, 'memory', 'projects'), { recursive: true });
    await until(() => !watched().some((path) => path.startsWith('/memory/projects')), 'the removed folders let go');
    rmSync(join(workspace, 'memory'), { recursive: true });
    await until(() => !watched().includes('/memory'), 'memory/ itself let go');
    mkdirSync(join(workspace, 'memory'));
    await until(() => watched().includes('/memory'), 'memory/ watched again when it is back');
    assert.deepEqual(errors, []);
  } finally {
    watcher.close();
    rmSync(workspace, { recursive: true, force: true });
  }
  assert.deepEqual(watcher.watching(), []);
});
