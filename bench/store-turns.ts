// Store-only cost of a turn: accept, start and complete through the SQLite store, sequentially
// and with 16 sessions at once. Usage: node dist/bench/store-turns.js [turns]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore } from '../src/store/sqlite/sqlite-store.js';

const turns = Number(process.argv[2] ?? 5000);
const dir = mkdtempSync(join(tmpdir(), 'hearth-store-bench-'));
const store = createSqliteStore({ path: join(dir, 'bench.sqlite') });
let counter = 0;

async function turn(sessionKey: string): Promise<void> {
  const runId = `run-${counter++}`;
  await store.acceptTurn({ runId, sessionKey, agentId: 'main', source: 'ws', text: 'hi', idempotency: { scope: sessionKey, key: runId }, now: Date.now() });
  await store.startTurn(runId, { now: Date.now(), historyLimit: 0 });
  await store.completeTurn(runId, {
    status: 'ok',
    messages: [{ role: 'assistant', content: 'echo: hi' }],
    reply: 'echo: hi',
    toolCalls: [],
    usage: { inputTokens: 10, outputTokens: 3 },
    modelRef: 'fake/echo',
    deliverTo: null,
    steps: [{ kind: 'model', name: 'fake/echo', startedAt: Date.now(), durationMs: 0.5, output: { text: 'echo: hi', toolCalls: [] } }],
    now: Date.now(),
  });
}

try {
  let started = process.cpuUsage();
  let wall = performance.now();
  for (let i = 0; i < turns; i++) await turn(`agent:main:seq:${i % 8}`);
  let cpu = process.cpuUsage(started);
  console.log(`sequential: ${(((cpu.user + cpu.system) / turns) | 0)} µs CPU per turn, ${((performance.now() - wall) / turns).toFixed(3)} ms wall per turn`);
  started = process.cpuUsage();
  wall = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async (_, lane) => {
      for (let i = 0; i < turns / 16; i++) await turn(`agent:main:par:${lane}`);
    }),
  );
  cpu = process.cpuUsage(started);
  console.log(`16 sessions: ${(((cpu.user + cpu.system) / turns) | 0)} µs CPU per turn, ${((performance.now() - wall) / turns).toFixed(3)} ms wall per turn`);
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
