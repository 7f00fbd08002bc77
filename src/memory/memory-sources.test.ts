import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readMemorySources } from './memory-sources.js';

function workspace() {
  const root = mkdtempSync(join(tmpdir(), 'hearth-memory-sources-'));
  const dir = join(root, 'ws');
  mkdirSync(join(dir, 'memory', 'projects'), { recursive: true });
  return { root, dir, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

test('reads MEMORY.md, USER.md and memory/**/*.md; other files and dot-folders are not memory', () => {
  const { dir, cleanup } = workspace();
  try {
    writeFileSync(join(dir, 'MEMORY.md'), '# Long-term\n');
    writeFileSync(join(dir, 'USER.md'), 'The user is Ada.\n');
    writeFileSync(join(dir, 'AGENTS.md'), 'not memory\n');
    writeFileSync(join(dir, 'memory', '2026-12-04.md'), 'dated note\n');
    writeFileSync(join(dir, 'memory', 'projects', 'hearth.md'), 'project note\n');
    writeFileSync(join(dir, 'memory', 'image.png'), 'png');
    mkdirSync(join(dir, 'memory', '.git'));
    writeFileSync(join(dir, 'memory', '.git', 'x.md'), 'hidden\n');
    const { files, skipped } = readMemorySources(dir);
    assert.deepEqual(
      files.map((file) => file.path),
      ['MEMORY.md', 'USER.md', 'memory/2026-12-04.md', 'memory/projects/hearth.md'],
    );
    assert.deepEqual(skipped, []);
    assert.equal(files[1]!.text, 'The user is Ada.\n');
    assert.match(files[1]!.sha256, /^[0-9a-f]{64}$/u);
  } finally {
    cleanup();
  }
});

test('hostile files are skipped with a reason, never read into memory', () => {
  const { root, dir, cleanup } = workspace();
  try {
    writeFileSync(join(dir, 'memory', 'binary.md'), Buffer.from([0x23, 0x20, 0x00, 0x01, 0x02]));
    writeFileSync(join(dir, 'memory', 'latin1.md'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    writeFileSync(join(dir, 'memory', 'huge.md'), 'x'.repeat(3 * 1024 * 1024));
    writeFileSync(join(root, 'secret.md'), 'outside the workspace\n');
    symlinkSync(join(root, 'secret.md'), join(dir, 'memory', 'escape.md'));
    symlinkSync(join(root, 'nowhere.md'), join(dir, 'memory', 'dangling.md'));
    writeFileSync(join(dir, 'memory', 'fine.md'), 'kept\n');
    symlinkSync(join(dir, 'memory', 'fine.md'), join(dir, 'memory', 'alias.md'));
    const { files, skipped } = readMemorySources(dir);
    assert.deepEqual(
      files.map((file) => file.path),
      ['memory/fine.md'],
      'the alias inside the workspace is the same file, listed once',
    );
    const reasons = Object.fromEntries(skipped.map((entry) => [entry.path, entry.reason]));
    assert.deepEqual(reasons, {
      'memory/binary.md': 'binary (it contains NUL bytes)',
      'memory/dangling.md': 'a symbolic link to nothing',
      'memory/escape.md': 'a symbolic link out of .',
      'memory/huge.md': 'larger than 2.0 MiB (3.0 MiB)',
      'memory/latin1.md': 'not valid UTF-8 text',
    });
  } finally {
    cleanup();
  }
});

test('extra paths outside the workspace are read, and their own links may not leave them', () => {
  const { root, dir, cleanup } = workspace();
  try {
    const notes = join(root, 'notes');
    mkdirSync(notes);
    writeFileSync(join(notes, 'a.md'), 'extra\n');
    writeFileSync(join(root, 'other.md'), 'elsewhere\n');
    symlinkSync(join(root, 'other.md'), join(notes, 'link.md'));
    const { files, skipped } = readMemorySources(dir, { extraPaths: [notes, 'missing/'], maxFiles: 10 });
    assert.deepEqual(files.map((file) => file.path), [join(notes, 'a.md')]);
    assert.deepEqual(skipped, [{ path: join(notes, 'link.md'), reason: `a symbolic link out of ${notes}` }]);
  } finally {
    cleanup();
  }
});
