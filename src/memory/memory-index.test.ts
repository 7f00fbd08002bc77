import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ftsQuery, openMemoryIndex } from './memory-index.js';
import type { MemorySourceFile } from './memory-sources.js';

const file = (path: string, text: string): MemorySourceFile => ({ path, absolutePath: `/ws/${path}`, text, sha256: `hash-of-${text.length}-${text.slice(0, 12)}`, mtimeMs: 1 });

function withIndex(run: (index: ReturnType<typeof openMemoryIndex>, path: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-memory-index-'));
  const path = join(dir, 'main.sqlite');
  const index = openMemoryIndex(path, { chunking: { maxTokens: 20, overlapTokens: 0 } });
  try {
    run(index, path);
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

test('keyword search ranks the chunks with the query words, with lines and a citation', () => {
  withIndex((index) => {
    assert.deepEqual(index.sync(notes), { indexed: 3, unchanged: 0, removed: 0, chunks: index.stats().chunks, skippedChunks: 0 });
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

test('a changed file is re-chunked, an unchanged one left alone, a vanished one removed', () => {
  withIndex((index) => {
    index.sync(notes);
    const edited = [file('MEMORY.md', '# About\nAda now prefers matcha.\n'), notes[1]!];
    assert.deepEqual(index.sync(edited), { indexed: 1, unchanged: 1, removed: 1, chunks: 1, skippedChunks: 0 });
    assert.deepEqual(index.searchKeyword('Lisbon'), [], 'the old text is gone');
    assert.equal(index.searchKeyword('matcha')[0]?.path, 'MEMORY.md');
    assert.deepEqual(index.searchKeyword('gateway upgrade'), [], 'the removed file is gone');
    assert.equal(index.stats().files, 2);
  });
});

test('the index is derived state: reopened it keeps its chunks, and an older layout is rebuilt', () => {
  withIndex((index, path) => {
    index.sync(notes);
    const again = openMemoryIndex(path);
    try {
      assert.equal(again.stats().files, 3);
      assert.equal(again.searchKeyword('Lisbon')[0]?.path, 'MEMORY.md');
    } finally {
      again.close();
    }
  });
});

test('FTS5 syntax in a query is searched as text, never as an error', () => {
  assert.equal(ftsQuery('NEAR(a b) OR "x" AND -y*'), '"near" OR "a" OR "b" OR "or" OR "x" OR "and" OR "y"');
  assert.equal(ftsQuery('?? !!'), null);
  withIndex((index) => {
    index.sync(notes);
    assert.doesNotThrow(() => index.searchKeyword('tea" OR chunks_fts MATCH "x'));
    assert.equal(index.searchKeyword('tea" OR (')[0]?.path, 'MEMORY.md');
  });
});

test('a word in half the chunks or more is not matched when a rarer word is in the query; alone, it still is', () => {
  withIndex((index) => {
    const daily = Array.from({ length: 10 }, (_, day) => file(`memory/2026-11-${String(day + 10)}.md`, `Standup with the team on day ${day}.\n`));
    index.sync([...daily, file('MEMORY.md', 'The boat is moored at the pier.\n')]);
    assert.deepEqual(index.searchKeyword('the boat', { maxResults: 20 }).map((hit) => hit.path), ['MEMORY.md'], 'chunks with only "the" are not candidates');
    assert.equal(index.searchKeyword('the', { maxResults: 20 }).length, 11);
    assert.equal(index.searchKeyword('the team', { maxResults: 20 }).length, 11, 'every word common: the query stays whole');
    assert.deepEqual(index.searchKeyword('the unknownword boat', { maxResults: 20 }).map((hit) => hit.path), ['MEMORY.md']);
  });
});
