import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ftsQuery, openMemoryIndex } from './memory-index.js';
import type { MemorySourceFile } from './memory-sources.js';

const file = (path: string, text: string): MemorySourceFile => ({ path, absolutePath: `/ws/${path}`, text, sha256: `hash-of-${text.length}-${text.slice(0, 12)}`, mtimeMs: 1 });

async function withIndex(run: (index: ReturnType<typeof openMemoryIndex>, path: string) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-memory-index-'));
  const path = join(dir, 'main.sqlite');
  const index = openMemoryIndex(path, { chunking: { maxTokens: 20, overlapTokens: 0 } });
  try {
    await run(index, path);
  } finally {
    index.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const notes = [
  file('MEMORY.md', '# About\nAda prefers tea over coffee.\nShe lives in Lisbon.\n'),
  file('memory/2026-12-01.md', 'Met Grace about the compiler project.\nCoffee with Grace on Friday.\n'),
  file('memory/2026-12-02.md', 'Nothing about drinks here.\nThe gateway upgrade went fine.\n'),
];

test('keyword search ranks the chunks with the query words, with lines and a citation', async () => {
  await withIndex(async (index) => {
    assert.deepEqual(await index.sync(notes), { indexed: 3, unchanged: 0, removed: 0, chunks: index.stats().chunks, skippedChunks: 0 });
    const hits = index.searchKeyword('where does Ada live?');
    assert.equal(hits[0]?.path, 'MEMORY.md');
    assert.match(hits[0]!.snippet, /Lisbon/u);
    assert.equal(hits[0]!.citation, `MEMORY.md#L${hits[0]!.startLine}-L${hits[0]!.endLine}`);
    assert.ok(hits[0]!.startLine >= 1 && hits[0]!.endLine <= 3);
    assert.equal(hits[0]!.provenance, 'owner');
    const coffee = index.searchKeyword('coffee grace');
    assert.equal(coffee[0]?.path, 'memory/2026-12-01.md', 'both words beat one');
    assert.ok(coffee.every((hit, at) => at === 0 || hit.score <= coffee[at - 1]!.score), 'best first');
    assert.ok(coffee.every((hit) => hit.score > 0 && hit.score < 1));
    assert.deepEqual(index.searchKeyword('zebra'), []);
    assert.equal(index.searchKeyword('coffee', { maxResults: 1 }).length, 1);
    assert.deepEqual(index.searchKeyword('coffee', { minScore: 0.9999 }), []);
  });
});

test('a changed file is re-chunked, an unchanged one left alone, a vanished one removed', async () => {
  await withIndex(async (index) => {
    await index.sync(notes);
    const edited = [file('MEMORY.md', '# About\nAda now prefers matcha.\n'), notes[1]!];
    assert.deepEqual(await index.sync(edited), { indexed: 1, unchanged: 1, removed: 1, chunks: 1, skippedChunks: 0 });
    assert.deepEqual(index.searchKeyword('Lisbon'), [], 'the old text is gone');
    assert.equal(index.searchKeyword('matcha')[0]?.path, 'MEMORY.md');
    assert.deepEqual(index.searchKeyword('gateway upgrade'), [], 'the removed file is gone');
    assert.equal(index.stats().files, 2);
  });
});

test('the index is derived state: reopened it keeps its chunks, and an older layout is rebuilt', async () => {
  await withIndex(async (index, path) => {
    await index.sync(notes);
    const again = openMemoryIndex(path);
    try {
      assert.equal(again.stats().files, 3);
      assert.equal(again.searchKeyword('Lisbon')[0]?.path, 'MEMORY.md');
    } finally {
      again.close();
    }
  });
});

test('FTS5 syntax in a query is searched as text, never as an error', async () => {
  assert.equal(ftsQuery('NEAR(a b) OR "x" AND -y*'), '"near" OR "a" OR "b" OR "or" OR "x" OR "and" OR "y"');
  assert.equal(ftsQuery('?? !!'), null);
  await withIndex(async (index) => {
    await index.sync(notes);
    assert.doesNotThrow(() => index.searchKeyword('tea" OR chunks_fts MATCH "x'));
    assert.equal(index.searchKeyword('tea" OR (')[0]?.path, 'MEMORY.md');
  });
});

test('a word in half the chunks or more is not matched when a rarer word is in the query; alone, it still is', async () => {
  await withIndex(async (index) => {
    const daily = Array.from({ length: 10 }, (_, day) => file(`memory/2026-11-${String(day + 10)}.md`, `Standup with the team on day ${day}.\n`));
    await index.sync([...daily, file('MEMORY.md', 'The boat is moored at the pier.\n')]);
    assert.deepEqual(index.searchKeyword('the boat', { maxResults: 20 }).map((hit) => hit.path), ['MEMORY.md'], 'chunks with only "the" are not candidates');
    assert.equal(index.searchKeyword('the', { maxResults: 20 }).length, 11);
    assert.equal(index.searchKeyword('the team', { maxResults: 20 }).length, 11, 'every word common: the query stays whole');
    assert.deepEqual(index.searchKeyword('the unknownword boat', { maxResults: 20 }).map((hit) => hit.path), ['MEMORY.md']);
  });
});

test('a sync gives the event loop a turn between files, and an aborted one stops at the next file; the next sync goes on from there', async () => {
  await withIndex(async (index) => {
    const files = Array.from({ length: 30 }, (_, n) => file(`memory/note-${n}.md`, `Note ${n} about apples.\n`));
    let done = false;
    const during: number[] = [];
    const tick = () => {
      if (done) return;
      during.push(index.stats().files);
      setImmediate(tick);
    };
    setImmediate(tick);
    const controller = new AbortController();
    const first = index.sync(files.slice(0, 20), undefined, { sliceMs: 0 });
    assert.equal((await first).indexed, 20);
    done = true;
    assert.ok(during.some((count) => count > 0 && count < 20), `other work ran while files were indexed (${during.join(', ')})`);
    const aborted = index.sync(files, undefined, { sliceMs: 0, signal: controller.signal });
    controller.abort();
    await assert.rejects(aborted, { name: 'AbortError' });
    const written = index.stats().files;
    assert.ok(written >= 20 && written < 30, `${written} files written before the abort`);
    assert.deepEqual(await index.sync(files), { indexed: 30 - written, unchanged: written, removed: 0, chunks: 30 - written, skippedChunks: 0 });
  });
});
