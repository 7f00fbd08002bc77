import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type FakeEmbeddingsServer, startFakeEmbeddingsServer } from '../support/fake-embeddings-server.js';
import { connectGateway } from '../../src/cli/gateway-client.js';
import { type FakeModelServer, type RecordedRequest, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, type TestGateway, testEnv } from '../support/gateway-harness.js';

let model: FakeModelServer;
let embeddings: FakeEmbeddingsServer;
let gateway: TestGateway;
let home: string;

before(async () => {
  model = await startFakeModelServer();
  embeddings = await startFakeEmbeddingsServer();
  home = makeHome();
  const memoryDir = join(home, 'workspaces', 'main', 'memory');
  mkdirSync(memoryDir, { recursive: true });
  writeFileSync(join(memoryDir, '2026-12-01.md'), '# Monday\nAda likes matcha and espresso.\n');
  gateway = await startTestGateway({
    home,
    config: {
      models: {
        providers: {
          fake: { api: 'openai-chat', baseUrl: model.openaiBaseUrl, maxRetries: 0 },
          vectors: { api: 'openai-chat', baseUrl: embeddings.baseUrl, apiKey: 'sk-embed-key', maxRetries: 0 },
        },
      },
      agents: { defaults: { model: 'fake/echo', memory: { embeddings: { provider: 'vectors', model: 'embed-small' } } } },
    },
  });
});

after(async () => {
  await gateway?.stop();
  await model?.close();
  await embeddings?.close();
  if (home) removeHome(home);
});

/** Runs one turn in which the model calls `tool` with `args`; returns what the tool answered the model. */
async function toolTurn(tool: string, args: object): Promise<string> {
  const mark = model.requests.length;
  model.script({ toolCalls: [{ name: tool, arguments: args }] });
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'hearth', user: 'ada', messages: [{ role: 'user', content: `use ${tool}` }] }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  const followUp = model.requests.slice(mark).filter((request: RecordedRequest) => request.path === '/v1/chat/completions')[1];
  assert.ok(followUp, 'the model was called again with the tool result');
  const messages = (followUp.body as { messages: { role: string; content: string }[] }).messages;
  const result = messages.findLast((message) => message.role === 'tool');
  assert.ok(result, 'a tool result went to the model');
  return result.content;
}

const today = () => {
  const date = new Date();
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
};

test('memory_search in a real turn finds a note by meaning, with its citation and who wrote it', async () => {
  const result = await toolTurn('memory_search', { query: 'favourite beverage' });
  assert.match(result, /\(hybrid search\)/u);
  assert.match(result, /^1\. memory\/2026-12-01\.md#L1-L2 \(score [\d.]+, written by the user\)$/mu);
  assert.match(result, /Ada likes matcha and espresso\./u);
  const embedded = embeddings.requests.map((request) => [request.model, request.authorization]);
  assert.ok(embedded.length >= 2, 'the notes and the query were embedded');
  assert.ok(embedded.every(([name, key]) => name === 'embed-small' && key === 'Bearer sk-embed-key'), JSON.stringify(embedded));
});

test('memory_write appends to today\'s note, and a later search shows the agent wrote it', async () => {
  const saved = await toolTurn('memory_write', { text: 'Ada switched to rooibos in December.' });
  const path = `memory/${today()}.md`;
  assert.match(saved, new RegExp(`^Saved to ${path.replace(/[.]/gu, '\\.')}#L1-L1\\.$`, 'u'));
  assert.equal(readFileSync(join(home, 'workspaces', 'main', path), 'utf8'), 'Ada switched to rooibos in December.\n');
  const audit = readFileSync(join(home, 'state', 'memory', 'main.audit.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(audit.length, 1);
  assert.equal(audit[0]?.path, path);
  assert.equal(audit[0]?.provenance, 'agent');
  assert.match(String(audit[0]?.runId), /^run_/u);
  assert.equal(audit[0]?.sessionKey, 'agent:main:openai:direct:ada');
  const found = await toolTurn('memory_search', { query: 'rooibos' });
  assert.match(found, new RegExp(`${path.replace(/[.]/gu, '\\.')}#L1-L1 \\(score [\\d.]+, written by you \\(memory_write\\)\\)`, 'u'));
  // The user edits the agent's line: from then on it is the user's.
  writeFileSync(join(home, 'workspaces', 'main', path), 'Ada switched to rooibos in November.\n');
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const edited = await toolTurn('memory_search', { query: 'rooibos' });
  assert.match(edited, /written by the user/u);
  assert.match(edited, /November/u);
});

test('a note the user adds is searchable within 2 s; memory_get reads it and nothing outside memory', async () => {
  writeFileSync(join(home, 'workspaces', 'main', 'memory', 'projects.md'), '# Projects\n\nFalcon launches in March.\nOwner: Grace.\n');
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const found = await toolTurn('memory_search', { query: 'when does Falcon launch' });
  assert.match(found, /memory\/projects\.md#L1-L4/u);
  const excerpt = await toolTurn('memory_get', { path: 'memory/projects.md', from: 3, lines: 1 });
  assert.equal(excerpt, 'memory/projects.md lines 3-3 of 4:\nFalcon launches in March.');
  const outside = await toolTurn('memory_get', { path: 'AGENTS.md' });
  assert.match(outside, /"AGENTS\.md" is not one of the memory files/u);
  const outsideWrite = await toolTurn('memory_write', { text: 'x', file: '../../state/evil.md' });
  assert.match(outsideWrite, /memory_write writes only to MEMORY\.md, USER\.md or a \.md file under memory\//u);
});

test('hearth memory status, search and index: what is indexed, hostile files named, results with citations; exit codes', async () => {
  const memoryDir = join(home, 'workspaces', 'main', 'memory');
  writeFileSync(join(memoryDir, 'blob.md'), Buffer.from([0x23, 0x00, 0xff, 0x10]));
  const env = testEnv(home);
  const status = await runCli(['memory', 'status'], env);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /^Agent {7}main$/mu);
  assert.match(status.stdout, /Embeddings {2}vectors\/embed-small at http:\/\/127\.0\.0\.1:\d+\/v1/u);
  assert.match(status.stdout, /Vectors {5}64 dimensions, built with vectors\/embed-small; 0 chunks waiting/u);
  assert.match(status.stdout, /memory\/blob\.md: binary \(it contains NUL bytes\)/u);
  const json = JSON.parse((await runCli(['memory', 'status', '--json'], env)).stdout) as { files: number; skipped: { path: string }[] };
  assert.ok(json.files >= 3, `files: ${json.files}`);
  assert.deepEqual(json.skipped.map((entry) => entry.path), ['memory/blob.md']);

  const search = await runCli(['memory', 'search', 'Falcon launch'], env);
  assert.equal(search.code, 0, search.stderr);
  assert.match(search.stdout, /^memory\/projects\.md#L1-L4 {2}score [\d.]+ {2}owner$/mu);
  const none = await runCli(['memory', 'search', 'zzzqqq', '--agent', 'nobody'], env);
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /There is no agent "nobody" \(agents: main\)/u);

  const piped = await runCli(['memory', 'index', '--force'], env);
  assert.equal(piped.code, 0, piped.stderr);
  assert.doesNotMatch(piped.stdout, /\r|\u001b|Indexing files|Embedding chunks/u, 'no progress into a pipe');
  assert.match(piped.stdout, /^Indexed {5}\d+ files/mu);

  const rebuilt = await runCli(['memory', 'index', '--force', '--json'], env);
  assert.equal(rebuilt.code, 0, rebuilt.stderr);
  const after = JSON.parse(rebuilt.stdout) as { chunks: number; vectors: { pending: number } };
  assert.ok(after.chunks > 0);
  assert.equal(after.vectors.pending, 0, 'every chunk has its vector again');

  embeddings.failWith(500);
  try {
    const degraded = await runCli(['memory', 'search', 'Falcon'], env);
    assert.equal(degraded.code, 0);
    assert.match(degraded.stderr, /warning: embedding through vectors .* failed: HTTP 500.*keyword results only/u);
    assert.match(degraded.stdout, /memory\/projects\.md/u);
  } finally {
    embeddings.failWith(null);
  }
});

test('hearth memory status --contract: the memory contract as in effect, readable and as JSON (also memory.status {contract: true})', async () => {
  const env = testEnv(home);
  const text = await runCli(['memory', 'status', '--contract'], env);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^Memory contract of agent main \(as in effect\)$/mu);
  assert.match(text.stdout, new RegExp(`^Embeddings {3}vectors/embed-small at ${embeddings.baseUrl.replace(/[.]/gu, '\\.')}$`, 'mu'));
  assert.match(text.stdout, /^Index paths {2}MEMORY\.md, USER\.md, memory\/$/mu);
  assert.match(text.stdout, /^Rules {8}none$/mu);
  assert.doesNotMatch(text.stdout, /^Indexed/mu, 'the contract, not the index status');
  const json = JSON.parse((await runCli(['memory', 'status', '--contract', '--json'], env)).stdout) as { agentId: string; contract: { embeddings: { provider: string; model: string; baseUrl: string }; sessions: boolean; redaction: object; governance: { rules: unknown[]; denyPaths: unknown[] }; retentionPolicy: unknown } };
  assert.equal(json.agentId, 'main');
  assert.deepEqual(json.contract.embeddings, { provider: 'vectors', model: 'embed-small', baseUrl: embeddings.baseUrl });
  assert.deepEqual([json.contract.sessions, json.contract.redaction, json.contract.governance, json.contract.retentionPolicy], [false, { secrets: true, apiKeys: true }, { rules: [], denyPaths: [] }, null]);
  const plain = JSON.parse((await runCli(['memory', 'status', '--json'], env)).stdout) as { contract?: unknown };
  assert.equal(plain.contract, undefined, 'only when asked for');
});

test('memory.index with progress: true sends memory.index.progress events to the calling connection only', async () => {
  const caller = await connectGateway(gateway.url, gateway.token);
  const bystander = await connectGateway(gateway.url, gateway.token);
  const events: { phase: string; done: number; total: number | null; agentId: string }[] = [];
  const overheard: string[] = [];
  caller.onEvent((event, payload) => {
    if (event === 'memory.index.progress') events.push(payload as (typeof events)[number]);
  });
  bystander.onEvent((event) => overheard.push(event));
  try {
    const answer = await caller.call<{ files: number }>('memory.index', { force: true, progress: true });
    const phases = [...new Set(events.map((event) => event.phase))];
    assert.deepEqual(phases.filter((phase) => phase !== 'embedding'), ['reading', 'indexing', 'done'], JSON.stringify(phases));
    assert.ok(events.every((event) => event.agentId === 'main'));
    const indexed = events.filter((event) => event.phase === 'indexing').at(-1);
    assert.deepEqual([indexed?.done, indexed?.total], [answer.files, answer.files]);
    assert.deepEqual(events.at(-1), { agentId: 'main', phase: 'done', done: answer.files, total: answer.files });
    await bystander.call('memory.status', {});
    assert.deepEqual(overheard, [], 'another connection hears nothing');
    const before = events.length;
    await caller.call('memory.index', {});
    assert.equal(events.length, before, 'no progress unless asked for');
  } finally {
    caller.close();
    bystander.close();
  }
});

test('hearth memory provider-audit: the configured provider, what the index was built with, the calls with their resolved provider; audit lists writes and re-indexes', async () => {
  const env = testEnv(home);
  const audit = await runCli(['memory', 'provider-audit', '--json'], env);
  assert.equal(audit.code, 0, audit.stderr);
  const report = JSON.parse(audit.stdout) as { mismatches: number; agents: { agentId: string; configured: { providerId: string; model: string }; index: { builtWith: { providerId: string; model: string } }; recentCalls: { providerId: string; baseUrl: string; model: string; status: string }[] }[] };
  assert.equal(report.mismatches, 0);
  const main = report.agents.find((agent) => agent.agentId === 'main');
  assert.deepEqual([main?.configured.providerId, main?.configured.model, main?.index.builtWith.providerId, main?.index.builtWith.model], ['vectors', 'embed-small', 'vectors', 'embed-small']);
  assert.ok(main && main.recentCalls.length > 0);
  assert.ok(main.recentCalls.every((call) => call.providerId === 'vectors' && call.baseUrl === embeddings.baseUrl && call.model === 'embed-small'));
  const text = await runCli(['memory', 'provider-audit'], env);
  assert.match(text.stdout, /configured {2}vectors\/embed-small at http:\/\/127\.0\.0\.1:\d+\/v1/u);
  assert.doesNotMatch(text.stdout, /MISMATCH/u);

  const log = JSON.parse((await runCli(['memory', 'audit', '--json'], env)).stdout) as { entries: { action: string; path?: string; by?: string }[] };
  assert.deepEqual(
    log.entries.map((entry) => entry.action),
    ['write', 'reindex', 'reindex', 'reindex', 'index'],
    'the memory_write of an earlier test, the forced re-indexes (CLI piped, CLI --json, RPC with progress) and the plain index',
  );
  const lines = (await runCli(['memory', 'audit'], env)).stdout;
  assert.match(lines, /write {2}memory\/\d{4}-\d{2}-\d{2}\.md#L1-L1 {2}agent {2}run run_/u);
});

test('memory in /readyz (degraded, still ready, while embeddings fail), status and /metrics', async () => {
  const auth = { authorization: `Bearer ${gateway.token}` };
  const ready = (await (await fetch(`${gateway.url}/readyz`)).json()) as { components: Record<string, { status: string; detail?: string }> };
  assert.equal(ready.components.memory?.status, 'ok');
  assert.match(ready.components.memory?.detail ?? '', /chunks indexed for main/u);
  const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: auth })).text();
  assert.match(metrics, /^hearth_memory_chunks\{agent="main"\} [1-9]\d*$/mu);
  assert.match(metrics, /^hearth_memory_pending_embeddings\{agent="main"\} 0$/mu);
  assert.match(metrics, /^hearth_memory_search_seconds\{agent="main",quantile="0\.5"\} [\d.e-]+$/mu);
  assert.match(metrics, /^hearth_memory_index_lag_seconds\{agent="main"\} [\d.e-]+$/mu, 'the watched edits of earlier tests were timed');
  const status = JSON.parse((await runCli(['status', '--json'], testEnv(home))).stdout) as { memory: { intervalMs: number; agents: { agentId: string; status: string; chunks: number; searchMs: { p50: number; p99: number } | null; provider: { mismatch: boolean } }[] } };
  const main = status.memory.agents.find((agent) => agent.agentId === 'main');
  assert.ok((main?.chunks ?? 0) > 0);
  assert.equal(main?.status, 'ok');
  assert.ok(main?.searchMs && main.searchMs.p99 >= main.searchMs.p50, 'search latency of the earlier searches');
  assert.equal(main?.provider.mismatch, false);
  assert.equal(status.memory.intervalMs, 60_000);
  const text = (await runCli(['status'], testEnv(home))).stdout;
  assert.match(text, /^Memory {4}main ok, \d+ chunks, index lag [\d.]+ s, search p50 [\d.]+ ms \/ p99 [\d.]+ ms$/mu);
  const memoryStatus = (await runCli(['memory', 'status'], testEnv(home))).stdout;
  assert.match(memoryStatus, /^Health {6}ok \(not checked yet; every 60 s\)$/mu);
  assert.match(memoryStatus, /^ {2}search {6}p50 [\d.]+ ms, p99 [\d.]+ ms over the last \d+$/mu);
  assert.match(memoryStatus, /^ {2}provider {4}vectors\/embed-small, as the index was built$/mu);

  embeddings.failWith(503);
  try {
    writeFileSync(join(home, 'workspaces', 'main', 'memory', 'late.md'), 'A note written while the embeddings service is down.\n');
    await runCli(['memory', 'index'], testEnv(home));
    const degraded = await fetch(`${gateway.url}/readyz`);
    assert.equal(degraded.status, 200, 'memory trouble never makes the gateway unready');
    const body = (await degraded.json()) as { components: Record<string, { status: string; detail?: string }> };
    assert.equal(body.components.memory?.status, 'degraded');
    assert.match(body.components.memory?.detail ?? '', /main: 1 chunks without vectors \(embedding through vectors .*HTTP 503/u);
    const failing = await (await fetch(`${gateway.url}/metrics`, { headers: auth })).text();
    assert.match(failing, /^hearth_memory_pending_embeddings\{agent="main"\} 1$/mu);
    assert.match(failing, /^hearth_memory_embedding_failures_total\{agent="main"\} [1-9]\d*$/mu);
    const unhealthy = (await runCli(['memory', 'status'], testEnv(home))).stdout;
    assert.match(unhealthy, /^Health {6}degraded /mu);
    assert.match(unhealthy, /^ {2}problem {5}1 chunks without vectors \(embedding through vectors .*HTTP 503/mu);
    assert.match((await runCli(['status'], testEnv(home))).stdout, /^Memory {4}main degraded, .*1 chunks waiting for vectors.*: 1 chunks without vectors/mu);
  } finally {
    embeddings.failWith(null);
  }
});

test('each memory retrieval is kept in the run: query, backend and provider, results with scores; hearth runs show prints it', async () => {
  await toolTurn('memory_search', { query: 'favourite beverage' });
  const env = testEnv(home);
  const runs = JSON.parse((await runCli(['runs', 'list', '--json', '--limit', '1'], env)).stdout) as { runId: string }[];
  const run = JSON.parse((await runCli(['runs', 'show', runs[0]!.runId, '--json'], env)).stdout) as { steps: { kind: string; name: string; output: { retrieval?: Record<string, unknown> } }[] };
  const step = run.steps.find((entry) => entry.kind === 'tool' && entry.name === 'memory_search');
  const retrieval = step?.output.retrieval as { query: string; backend: string; provider: { providerId: string; model: string }; results: { citation: string; score: number; provenance: string }[]; citationsInPrompt: boolean };
  assert.equal(retrieval.query, 'favourite beverage');
  assert.equal(retrieval.backend, 'hybrid');
  assert.deepEqual([retrieval.provider.providerId, retrieval.provider.model], ['vectors', 'embed-small']);
  assert.equal(retrieval.results[0]?.citation, 'memory/2026-12-01.md#L1-L2');
  assert.ok(retrieval.results[0]!.score > 0);
  assert.equal(retrieval.citationsInPrompt, true);
  const text = (await runCli(['runs', 'show', runs[0]!.runId], env)).stdout;
  assert.match(text, /memory "favourite beverage" \(hybrid via vectors\/embed-small\) → memory\/2026-12-01\.md#L1-L2 [\d.]+ owner/u);
});
