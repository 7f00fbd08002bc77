// What the start-up integrity check costs: fills a store with N turns through the real store,
// then times `PRAGMA quick_check` (what start-up runs) and `integrity_check` (what doctor runs)
// on a fresh connection. Usage: node dist/bench/store-check.js [turns]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { loadCommonJs } from '../src/runtime/load-commonjs.js';
import { createSqliteStore } from '../src/store/sqlite/sqlite-store.js';

const turns = Number(process.argv[2] ?? 10_000);
const dir = mkdtempSync(join(tmpdir(), 'hearth-check-bench-'));
const path = join(dir, 'hearth.sqlite');
const reply = 'A reply of ordinary length, about two hundred characters, the way an assistant answers a short question. '.repeat(2);

try {
  const store = createSqliteStore({ path });
  for (let i = 0; i < turns; i++) {
    const runId = `run-${i}`;
    const sessionKey = `agent:main:ws:direct:${i % 100}`;
    await store.acceptTurn({ runId, sessionKey, agentId: 'main', source: 'ws', text: `question ${i}`, idempotency: { scope: sessionKey, key: runId }, now: Date.now() });
    await store.startTurn(runId, { now: Date.now(), historyLimit: 0 });
    await store.completeTurn(runId, {
      status: 'ok',
      messages: [{ role: 'assistant', content: reply }],
      reply,
      toolCalls: [],
      usage: { inputTokens: 100, outputTokens: 50 },
      modelRef: 'fake/echo',
      deliverTo: null,
      steps: [{ kind: 'model', name: 'fake/echo', startedAt: Date.now(), durationMs: 0.5, output: { text: reply, toolCalls: [] } }],
      now: Date.now(),
    });
  }
  await store.close();
  const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
  const time = (pragma: string) => {
    const db = new Database(path, { readonly: true });
    const started = performance.now();
    const result = db.pragma(pragma, { simple: true });
    const ms = performance.now() - started;
    db.close();
    return { ms, result };
  };
  const size = statSync(path).size;
  const open = (checkMaxBytes: number) => {
    const started = performance.now();
    const opened = createSqliteStore({ path, checkMaxBytes });
    const ms = performance.now() - started;
    void opened.close();
    return ms;
  };
  for (let round = 0; round < 3; round++) {
    const quick = time('quick_check');
    const full = time('integrity_check');
    const checked = open(Number.MAX_SAFE_INTEGER);
    const unchecked = open(0);
    console.log(
      `${turns} turns, ${(size / 1048576).toFixed(1)} MiB: quick_check ${quick.ms.toFixed(1)} ms (${String(quick.result)}), integrity_check ${full.ms.toFixed(1)} ms; ` +
        `store open ${checked.toFixed(1)} ms with the check, ${unchecked.toFixed(1)} ms with it on another thread`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
