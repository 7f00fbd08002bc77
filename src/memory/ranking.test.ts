import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { MemoryHit } from './memory-index.js';
import { openMemoryIndex } from './memory-index.js';
import { diversify, recencyFactor } from './ranking.js';

const NOW = Date.UTC(2026, 11, 4, 12);

test('a dated note loses half its weight every 30 days; undated files never decay', () => {
  assert.equal(recencyFactor('memory/2026-12-04.md', Date.UTC(2026, 11, 4)), 1);
  assert.ok(Math.abs(recencyFactor('memory/2026-11-04.md', Date.UTC(2026, 11, 4)) - 0.5) < 0.001);
  assert.ok(Math.abs(recencyFactor('memory/2026-10-05.md', Date.UTC(2026, 11, 4)) - 0.25) < 0.001);
  assert.equal(recencyFactor('MEMORY.md', NOW), 1);
  assert.equal(recencyFactor('memory/projects/hearth.md', NOW), 1);
  assert.equal(recencyFactor('memory/2026-11-04.md', NOW, 0), 1, 'decay off');
  assert.equal(recencyFactor('memory/2027-01-01.md', NOW), 1, 'a note dated ahead counts as new');
});

const hit = (path: string, score: number, snippet: string): MemoryHit => ({ path, score, snippet, startLine: 1, endLine: 1, citation: `${path}#L1-L1`, provenance: 'owner' });

test('MMR keeps the best hit and prefers a different one over a near copy', () => {
  const hits = [
    hit('a.md', 0.9, 'the deploy key lives in the vault under ops'),
    hit('b.md', 0.88, 'the deploy key lives in the vault under ops team'),
    hit('c.md', 0.7, 'rotate credentials every ninety days'),
  ];
  assert.deepEqual(diversify(hits, 2).map((entry) => entry.path), ['a.md', 'c.md']);
  assert.deepEqual(diversify(hits, 2, 1).map((entry) => entry.path), ['a.md', 'b.md'], 'lambda 1 is plain ranking');
  assert.deepEqual(diversify(hits, 5).length, 3);
});

test('search: the newer of two equally matching dated notes ranks first, and results are diverse', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-memory-ranking-'));
  const index = openMemoryIndex(join(dir, 'main.sqlite'), { now: () => NOW });
  try {
    const file = (path: string, text: string) => ({ path, absolutePath: `/ws/${path}`, text, sha256: `${path}:${text}`, mtimeMs: 1 });
    await index.sync([
      file('memory/2026-09-01.md', 'Standup moved to ten.\n'),
      file('memory/2026-12-03.md', 'Standup moved to nine.\n'),
      file('MEMORY.md', 'Standup is daily.\n'),
    ]);
    const { hits, mode } = await index.search('standup moved', null, { maxResults: 3 });
    assert.equal(mode, 'keyword');
    assert.deepEqual(
      hits.map((entry) => entry.path),
      ['memory/2026-12-03.md', 'MEMORY.md', 'memory/2026-09-01.md'],
    );
    const undecayed = await index.search('standup moved', null, { maxResults: 3, halfLifeDays: 0, mmrLambda: 1 });
    assert.equal(undecayed.hits.at(-1)?.path, 'MEMORY.md', 'without decay the one-word match is last');
  } finally {
    index.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
