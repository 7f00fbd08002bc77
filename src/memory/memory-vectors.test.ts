import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type FakeEmbeddingsServer, startFakeEmbeddingsServer } from '../../test/support/fake-embeddings-server.js';
import { providerSchema } from '../config/schema.js';
import { createEmbeddingClient, type EmbeddingCall, resolveEmbeddingIdentity } from './embeddings.js';
import { openMemoryIndex } from './memory-index.js';
import type { MemorySourceFile } from './memory-sources.js';

let server: FakeEmbeddingsServer;
before(async () => {
  server = await startFakeEmbeddingsServer({ dimensions: 32 });
});
after(() => server?.close());

const file = (path: string, text: string): MemorySourceFile => ({ path, absolutePath: `/ws/${path}`, text, sha256: `sha-${path}-${text}`, mtimeMs: 1 });
const notes = [
  file('memory/drinks.md', 'Ada likes matcha and espresso.\n'),
  file('memory/city.md', 'Ada lives in Porto.\n'),
  file('memory/code.md', 'Ada writes a parser in her spare time.\n'),
];

function client(model = 'embed-small', calls: EmbeddingCall[] = []) {
  const providers = { local: providerSchema().parse({ api: 'openai-chat', baseUrl: server.baseUrl, apiKey: 'sk-local-key' }) };
  const resolved = resolveEmbeddingIdentity(providers, { provider: 'local', model });
  assert.ok('identity' in resolved);
  return createEmbeddingClient(resolved.identity, resolved.config, { onCall: (call) => calls.push(call) });
}

function withIndex(run: (index: ReturnType<typeof openMemoryIndex>, path: string) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-memory-vectors-'));
  const index = openMemoryIndex(join(dir, 'main.sqlite'));
  return run(index, join(dir, 'main.sqlite')).finally(() => {
    index.close();
    rmSync(dir, { recursive: true, force: true });
  });
}

test('hybrid search finds a note by meaning where no word matches; keyword search finds nothing', () =>
  withIndex(async (index) => {
    await index.sync(notes);
    const embedder = client();
    assert.deepEqual(await index.embedPending(embedder), { embedded: 3, fromCache: 0 });
    assert.deepEqual(index.searchKeyword('beverage'), []);
    const result = await index.search('beverage', embedder);
    assert.equal(result.mode, 'hybrid');
    assert.equal(result.warning, undefined);
    assert.equal(result.hits[0]?.path, 'memory/drinks.md');
    assert.equal(result.hits[0]?.citation, 'memory/drinks.md#L1-L1');
    assert.equal((await index.search('which town', embedder)).hits[0]?.path, 'memory/city.md');
    // Words and meaning together: "parser" matches by keyword and by meaning.
    const both = await index.search('parser program', embedder, { maxResults: 1 });
    assert.deepEqual(both.hits.map((hit) => hit.path), ['memory/code.md']);
    assert.ok(both.hits[0]!.score > 0.3, `combined score ${both.hits[0]!.score}`);
    assert.deepEqual(index.vectorState(), { identity: embedder.identity, dimensions: 32, pending: 0 });
  }));

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!check()) {
    assert.ok(Date.now() < deadline, `not within 2 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('vector search scans an 8-bit copy once it has loaded, with the same results, and the copy follows every change', () =>
  withIndex(async (index) => {
    await index.sync(notes);
    const embedder = client();
    await index.embedPending(embedder);
    const exact = await index.search('beverage', embedder);
    assert.equal(exact.hits[0]?.path, 'memory/drinks.md');
    await until(() => index.vectorCopy().loaded, 'the copy loaded after the first vector search');
    assert.equal(index.vectorCopy().vectors, 3);
    assert.deepEqual(await index.search('beverage', embedder), exact, 'the same hits and scores from the copy');
    // A deleted note leaves the copy; a new one enters it as soon as it has its vector.
    await index.sync(notes.slice(1));
    assert.equal(index.vectorCopy().vectors, 2);
    assert.notEqual((await index.search('beverage', embedder)).hits[0]?.path, 'memory/drinks.md');
    await index.sync([...notes.slice(1), file('memory/tea.md', 'Grace brews oolong tea every morning.\n')]);
    await index.embedPending(embedder);
    assert.equal(index.vectorCopy().vectors, 3);
    assert.equal((await index.search('beverage', embedder)).hits[0]?.path, 'memory/tea.md');
    assert.equal(index.vectorCopy().loaded, true, 'changed in place, not loaded again');
  }));

test('a commit to the index file by another connection makes the copy load again', () =>
  withIndex(async (index, path) => {
    await index.sync(notes.slice(1));
    const embedder = client();
    await index.embedPending(embedder);
    await index.search('beverage', embedder);
    await until(() => index.vectorCopy().loaded, 'the copy loaded');
    const other = openMemoryIndex(path);
    try {
      await other.sync(notes);
      await other.embedPending(embedder);
    } finally {
      other.close();
    }
    // The first search after the commit answers with sqlite-vec's own scan while the copy reloads.
    assert.equal((await index.search('beverage', embedder)).hits[0]?.path, 'memory/drinks.md');
    await until(() => index.vectorCopy().loaded, 'the copy loaded again');
    assert.equal(index.vectorCopy().vectors, 3);
    assert.equal((await index.search('beverage', embedder)).hits[0]?.path, 'memory/drinks.md');
  }));

test('every embedding call carries the configured provider, base URL, model and key', () =>
  withIndex(async (index) => {
    const calls: EmbeddingCall[] = [];
    const embedder = client('embed-small', calls);
    const before = server.requests.length;
    await index.sync(notes);
    await index.embedPending(embedder);
    await index.search('tea', embedder);
    const sent = server.requests.slice(before);
    assert.deepEqual(sent.map((request) => [request.model, request.authorization, request.inputs.length]), [
      ['embed-small', 'Bearer sk-local-key', 3],
      ['embed-small', 'Bearer sk-local-key', 1],
    ]);
    assert.deepEqual(
      calls.map((call) => [call.providerId, call.baseUrl, call.model, call.texts, call.status]),
      [
        ['local', server.baseUrl, 'embed-small', 3, 'ok'],
        ['local', server.baseUrl, 'embed-small', 1, 'ok'],
      ],
    );
  }));

test('unchanged text is never embedded twice: a moved note takes its vector from the cache', () =>
  withIndex(async (index) => {
    const embedder = client();
    await index.sync(notes);
    await index.embedPending(embedder);
    const before = server.requests.length;
    await index.sync([notes[0]!, notes[1]!, file('memory/renamed.md', 'Ada writes a parser in her spare time.\n')]);
    assert.deepEqual(await index.embedPending(embedder), { embedded: 0, fromCache: 1 });
    assert.equal(server.requests.length, before, 'no request for text already embedded');
    assert.equal((await index.search('parser', embedder)).hits[0]?.path, 'memory/renamed.md');
  }));

test('another provider or model marks the vectors stale: keyword results with a warning until re-embedded, never mixed', () =>
  withIndex(async (index) => {
    await index.sync(notes);
    await index.embedPending(client('embed-small'));
    const large = client('embed-large');
    const stale = await index.search('beverage', large);
    assert.equal(stale.mode, 'keyword');
    assert.match(stale.warning ?? '', /built with local\/embed-small.*configured embeddings are local\/embed-large/u);
    assert.deepEqual(await index.embedPending(large), { embedded: 3, fromCache: 0 });
    assert.equal(index.vectorState().identity?.model, 'embed-large');
    const fresh = await index.search('beverage', large);
    assert.equal(fresh.mode, 'hybrid');
    assert.equal(fresh.hits[0]?.path, 'memory/drinks.md');
    const old = await index.search('beverage', client('embed-small'));
    assert.equal(old.mode, 'keyword', 'the old model no longer matches the index');
  }));

test('a failing provider degrades search to keyword results with a visible warning, never to an empty answer', () =>
  withIndex(async (index) => {
    const calls: EmbeddingCall[] = [];
    const embedder = client('embed-small', calls);
    await index.sync(notes);
    await index.embedPending(embedder);
    server.failWith(503);
    try {
      const result = await index.search('Porto', embedder);
      assert.equal(result.mode, 'keyword');
      assert.equal(result.hits[0]?.path, 'memory/city.md');
      assert.match(result.warning ?? '', /embedding through local \(http:\/\/127\.0\.0\.1:\d+\/v1, model embed-small\) failed: HTTP 503/u);
      await index.sync([...notes, file('memory/new.md', 'A new note.\n')]);
      await assert.rejects(index.embedPending(embedder), /HTTP 503/u);
      assert.equal(index.vectorState().pending, 1, 'the note waits for its vector');
      assert.equal(calls.at(-1)?.status, 'error');
    } finally {
      server.failWith(null);
    }
    assert.deepEqual(await index.embedPending(embedder), { embedded: 1, fromCache: 0 });
  }));

test('embeddings must name a configured provider whose API has an embeddings endpoint', () => {
  const providers = {
    claude: providerSchema().parse({ api: 'anthropic-messages', apiKey: 'k' }),
    ollama: providerSchema().parse({ api: 'ollama' }),
  };
  assert.match((resolveEmbeddingIdentity(providers, { provider: 'ghost', model: 'm' }) as { error: string }).error, /'ghost' is not configured under models\.providers \(configured: claude, ollama\)/u);
  assert.match((resolveEmbeddingIdentity(providers, { provider: 'claude', model: 'm' }) as { error: string }).error, /anthropic-messages API, which has no embeddings endpoint/u);
  assert.deepEqual(resolveEmbeddingIdentity(providers, { provider: 'ollama', model: 'nomic-embed-text' }), {
    identity: { providerId: 'ollama', baseUrl: 'http://127.0.0.1:11434/v1', model: 'nomic-embed-text' },
    config: providers.ollama,
  });
});
