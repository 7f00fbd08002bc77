import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AgentProfile } from '../agent/agent-loop.js';
import type { MemoryConfig } from '../config/schema.js';
import type { SessionSummary, Store, TranscriptEntry } from '../contracts/store.js';
import { createMemoryService } from './memory-service.js';

const silent = { warn() {}, debug() {} };

function setup(memory: MemoryConfig = {}, secrets: string[] = [], transcripts?: Pick<Store, 'listSessions' | 'readTranscript'>) {
  const root = mkdtempSync(join(tmpdir(), 'hearth-memory-service-'));
  const workspace = join(root, 'ws');
  mkdirSync(join(workspace, 'memory'), { recursive: true });
  const profile = { id: 'main', workspaceDir: workspace, memory } as unknown as AgentProfile;
  const settings = { profile };
  const service = createMemoryService({
    directory: join(root, 'state'),
    agent: (id) => (id === 'main' ? settings.profile : undefined),
    providers: () => ({}),
    secrets: () => secrets,
    ...(transcripts ? { transcripts } : {}),
    logger: silent,
    freshnessMs: 0,
  });
  const write = (path: string, text: string) => writeFileSync(join(workspace, path), text);
  const cleanup = () => {
    service.stop();
    rmSync(root, { recursive: true, force: true });
  };
  return { root, workspace, service, settings, write, cleanup };
}

/** A memory service over `files` (workspace paths → text) whose embeddings go to a fake OpenAI-compatible server on loopback. */
async function setupWithEmbeddings(files: Record<string, string>) {
  const { startFakeEmbeddingsServer } = await import('../../test/support/fake-embeddings-server.js');
  const { providerSchema } = await import('../config/schema.js');
  const server = await startFakeEmbeddingsServer({ dimensions: 8 });
  const root = mkdtempSync(join(tmpdir(), 'hearth-memory-embeddings-'));
  const workspace = join(root, 'ws');
  mkdirSync(join(workspace, 'memory'), { recursive: true });
  for (const [path, text] of Object.entries(files)) writeFileSync(join(workspace, path), text);
  const profile = { id: 'main', workspaceDir: workspace, memory: { embeddings: { provider: 'local', model: 'embed-small' } } } as unknown as AgentProfile;
  const service = createMemoryService({
    directory: join(root, 'state'),
    agent: () => profile,
    providers: () => ({ local: providerSchema().parse({ api: 'openai-chat', baseUrl: server.baseUrl, maxRetries: 0 }) }),
    logger: silent,
    freshnessMs: 0,
    watch: false,
  });
  const cleanup = async () => {
    service.stop();
    await server.close();
    rmSync(root, { recursive: true, force: true });
  };
  return { server, service, cleanup };
}

const PEM = ['-----BEGIN OPENSSH PRIVATE KEY-----', 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ', 'AAAAMwAAAAtzc2gtZWQyNTUxOQAAACBn', '-----END OPENSSH PRIVATE KEY-----'].join('\n');

test('credentials never reach the index: configured secrets and key shapes are redacted, lines still cited right, the file untouched', async () => {
  const { service, write, workspace, cleanup } = setup({}, ['hunter2-telegram-token-value']);
  try {
    const text = `# Access\nBot token is hunter2-telegram-token-value for the relay.\nGitHub: ghp_abcdefghijklmnopqrstuvwxyz0123456789\n${PEM}\nThe deploy host is falcon.internal.\n`;
    write('MEMORY.md', text);
    const search = await service.port.search('main', 'token GitHub deploy host');
    const all = search.hits.map((hit) => hit.snippet).join('\n');
    assert.doesNotMatch(all, /hunter2|ghp_|b3BlbnNzaC1rZXkt/u);
    for (const word of ['hunter2', 'ghp_abcdefghijklmnop', 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ']) {
      assert.deepEqual((await service.port.search('main', word)).hits, [], `"${word}" is not searchable`);
    }
    const excerpt = await service.port.get('main', 'MEMORY.md', { from: 8, lines: 1 });
    assert.equal(excerpt.text, 'The deploy host is falcon.internal.', 'memory_get reads the file as written');
    const hit = (await service.port.search('main', 'falcon internal')).hits[0];
    assert.ok(hit && hit.startLine <= 8 && hit.endLine >= 8, 'the redacted key block kept its four lines');
    assert.match(hit!.snippet, /\[redacted:credential\]|\[redacted:api-key\]|\[redacted:private-key\]|falcon/u);
    assert.equal(readFileSync(join(workspace, 'MEMORY.md'), 'utf8'), text);
    const status = await service.status('main');
    assert.equal(status.governance.redactions, 3);
  } finally {
    cleanup();
  }
});

test('governance rules: block keeps a chunk out and refuses a write, tag labels results, denyPaths skips files', async () => {
  const { service, write, workspace, cleanup } = setup({
    governance: {
      rules: [
        { action: 'block', pattern: 'CONFIDENTIAL', reason: 'confidential material' },
        { action: 'tag', pattern: '(?:invoice|receipt)', tag: 'finance' },
        { action: 'redact', pattern: '\\b\\d{3}-\\d{2}-\\d{4}\\b', reason: 'ssn' },
      ],
      denyPaths: ['memory/private/', 'memory/*.secret.md'],
    },
  });
  try {
    mkdirSync(join(workspace, 'memory', 'private'));
    write('memory/private/diary.md', 'a private diary about apples\n');
    write('memory/keys.secret.md', 'apples secret\n');
    write('memory/notes.md', 'CONFIDENTIAL apples merger plan\n');
    write('memory/bills.md', 'The apples invoice is due; SSN 123-45-6789 on file.\n');
    const { hits } = await service.port.search('main', 'apples');
    assert.deepEqual(hits.map((hit) => hit.path), ['memory/bills.md']);
    assert.deepEqual(hits[0]?.tags, ['finance']);
    assert.match(hits[0]!.snippet, /SSN \[redacted:ssn\] on file/u);
    const status = await service.status('main');
    assert.deepEqual(
      status.skipped.map((entry) => [entry.path, entry.reason]),
      [
        ['memory/keys.secret.md', 'on the deny-list (memory.governance.denyPaths)'],
        ['memory/private/diary.md', 'on the deny-list (memory.governance.denyPaths)'],
      ],
    );
    assert.equal(status.governance.blockedChunks >= 1, true);
    await assert.rejects(service.port.write('main', 'CONFIDENTIAL: the merger closes Friday', { runId: 'run_1', sessionKey: 's' }), /refused by a governance rule: confidential material/u);
    const saved = await service.port.write('main', 'Card receipt 987-65-4321 kept.', { file: 'memory/bills.md', runId: 'run_2', sessionKey: 's' });
    assert.equal(readFileSync(join(workspace, 'memory', 'bills.md'), 'utf8').split('\n')[saved.startLine - 1], 'Card receipt [redacted:ssn] kept.', 'a write is redacted before it reaches the disk');
  } finally {
    cleanup();
  }
});

test('changing the rules re-indexes every file under them', async () => {
  const { service, write, settings, cleanup } = setup();
  try {
    write('MEMORY.md', 'Project codename is Bluebird.\n');
    assert.equal((await service.port.search('main', 'Bluebird')).hits.length, 1);
    settings.profile = { ...settings.profile, memory: { governance: { rules: [{ action: 'block', pattern: 'codename' }] } } } as AgentProfile;
    assert.deepEqual((await service.port.search('main', 'Bluebird')).hits, []);
  } finally {
    cleanup();
  }
});

test('the files are watched: a new note is indexed and a deleted one removed within 2 s, with no search in between', async () => {
  const { service, write, workspace, cleanup } = setup();
  try {
    write('MEMORY.md', 'Long-term facts.\n');
    await service.port.search('main', 'facts');
    const filesNow = () => service.health().find((entry) => entry.agentId === 'main')?.files ?? 0;
    assert.equal(filesNow(), 1);
    const until = async (check: () => boolean, what: string) => {
      const deadline = Date.now() + 2000;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`not within 2 s: ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    write('memory/2026-12-05.md', 'Picked up without a search.\n');
    await until(() => filesNow() === 2, 'the new note indexed');
    const lag = service.health()[0]?.lastIndexLagMs;
    assert.ok(lag !== null && lag !== undefined && lag < 2000, `index lag ${lag} ms`);
    rmSync(join(workspace, 'memory', '2026-12-05.md'));
    await until(() => filesNow() === 1, 'the deleted note removed');
    assert.deepEqual((await service.port.search('main', 'Picked up')).hits, []);
  } finally {
    cleanup();
  }
});

test('retentionPolicy: dated notes older than maxAgeDays leave the index (the files stay); undated files stay searchable', async () => {
  const { service, write, workspace, cleanup } = setup({ retentionPolicy: { kind: 'time', maxAgeDays: 30 } });
  try {
    const day = (daysAgo: number) => {
      const date = new Date(Date.now() - daysAgo * 86_400_000);
      return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;
    };
    write(`memory/${day(2)}.md`, 'Recent standup notes.\n');
    write(`memory/${day(45)}.md`, 'Old standup notes.\n');
    write('MEMORY.md', 'Standup is at nine.\n');
    const { hits } = await service.port.search('main', 'standup');
    assert.deepEqual(hits.map((hit) => hit.path).sort(), ['MEMORY.md', `memory/${day(2)}.md`]);
    const status = await service.status('main');
    assert.deepEqual(status.skipped, [{ path: `memory/${day(45)}.md`, reason: 'older than memory.retentionPolicy.maxAgeDays (30 days)' }]);
    assert.equal(readFileSync(join(workspace, 'memory', `${day(45)}.md`), 'utf8'), 'Old standup notes.\n');
  } finally {
    cleanup();
  }
});

test('memory.sessions: conversations are searchable as untrusted memory, re-read only when they change', async () => {
  const session: SessionSummary = { sessionKey: 'agent:main:telegram:direct:42', agentId: 'main', createdAt: 1, updatedAt: 1000, messageCount: 2, lastMessage: null };
  const lines: TranscriptEntry[] = [
    { id: 1, runId: 'r1', createdAt: 1000, message: { role: 'user', content: 'Remember that the boat is moored at pier 9.' } },
    { id: 2, runId: 'r1', createdAt: 1001, message: { role: 'assistant', content: 'Noted: pier 9.' } },
  ];
  let reads = 0;
  const transcripts = {
    listSessions: async () => [{ ...session }],
    readTranscript: async () => {
      reads += 1;
      return lines;
    },
  };
  const { service, cleanup } = setup({ sessions: true }, [], transcripts);
  try {
    const { hits } = await service.port.search('main', 'where is the boat moored');
    assert.equal(hits[0]?.path, 'sessions/agent:main:telegram:direct:42.md');
    assert.equal(hits[0]?.provenance, 'untrusted');
    assert.match(hits[0]!.snippet, /\*\*user\*\* \(1970-01-01T00:00\): Remember that the boat is moored at pier 9\./u);
    await service.port.search('main', 'boat');
    assert.equal(reads, 1, 'an unchanged conversation is not read again');
    lines.push({ id: 3, runId: 'r2', createdAt: 2000, message: { role: 'user', content: 'It moved to pier 12.' } });
    session.updatedAt = 2000;
    session.messageCount = 3;
    assert.match((await service.port.search('main', 'pier 12')).hits[0]?.snippet ?? '', /pier 12/u);
    assert.equal(reads, 2);
  } finally {
    cleanup();
  }
  const off = setup({}, [], transcripts);
  try {
    assert.deepEqual((await off.service.port.search('main', 'boat moored')).hits, [], 'off by default');
  } finally {
    off.cleanup();
  }
});

test('memory_get reads an indexed conversation (sessions/…) when memory.sessions is on, redacted, and only then', async () => {
  const session: SessionSummary = { sessionKey: 'agent:main:telegram:direct:42', agentId: 'main', createdAt: 1, updatedAt: 1000, messageCount: 2, lastMessage: null };
  const lines: TranscriptEntry[] = [
    { id: 1, runId: 'r1', createdAt: 1000, message: { role: 'user', content: 'The boat is at pier 9; my token is hunter2-telegram-token-value.' } },
    { id: 2, runId: 'r1', createdAt: 1001, message: { role: 'assistant', content: 'Noted.' } },
  ];
  const transcripts = { listSessions: async () => [session], readTranscript: async () => lines };
  const on = setup({ sessions: true }, ['hunter2-telegram-token-value'], transcripts);
  try {
    const path = (await on.service.port.search('main', 'boat pier')).hits[0]?.citation ?? '';
    assert.match(path, /^sessions\/agent:main:telegram:direct:42\.md#L1-L2$/u);
    const excerpt = await on.service.port.get('main', path, { from: 2, lines: 1 });
    assert.deepEqual({ path: excerpt.path, from: excerpt.from, to: excerpt.to, total: excerpt.totalLines, provenance: excerpt.provenance }, { path: 'sessions/agent:main:telegram:direct:42.md', from: 2, to: 2, total: 2, provenance: 'untrusted' });
    assert.match(excerpt.text, /\*\*assistant\*\* .*Noted\./u);
    const first = await on.service.port.get('main', 'sessions/agent:main:telegram:direct:42.md');
    assert.doesNotMatch(first.text, /hunter2/u, 'redacted as in the index');
    await assert.rejects(on.service.port.get('main', 'sessions/agent:main:other.md'), /not one of the agent's indexed conversations/u);
    await assert.rejects(on.service.port.get('main', 'sessions/../MEMORY.md'), /NOT_FOUND|not one of/u);
  } finally {
    on.cleanup();
  }
  const off = setup({}, [], transcripts);
  try {
    await assert.rejects(off.service.port.get('main', 'sessions/agent:main:telegram:direct:42.md'), /memory\.sessions is off/u);
  } finally {
    off.cleanup();
  }
});

test('catchUp (the periodic health check) embeds again the chunks a failing provider left without vectors; nothing to do when all is current', async () => {
  const { server, service, cleanup } = await setupWithEmbeddings({ 'MEMORY.md': 'Ada lives in Porto.\n' });
  const pending = () => service.health()[0]?.pending;
  try {
    server.failWith(500);
    await service.index('main');
    assert.equal(pending(), 1, 'the provider failed: the chunk waits');
    const calls = server.requests.length;
    server.failWith(null);
    service.catchUp();
    for (let waited = 0; pending() !== 0 && waited < 2000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(pending(), 0, 'embedded again without a search or an index');
    const after = server.requests.length;
    assert.ok(after > calls);
    service.catchUp();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(server.requests.length, after, 'nothing waiting: no request');
  } finally {
    await cleanup();
  }
});

test('memory index reports its progress: files read, files indexed of the total, chunks embedded of those waiting, done', async () => {
  const { service, cleanup } = await setupWithEmbeddings(Object.fromEntries(['a', 'b', 'c'].map((name) => [`memory/${name}.md`, `Note ${name} about the garden.\n`])));
  try {
    const seen: { phase: string; done: number; total: number | null }[] = [];
    await service.index('main', { force: true, onProgress: ({ phase, done, total }) => void seen.push({ phase, done, total }) });
    const phases = [...new Set(seen.map((entry) => entry.phase))];
    assert.deepEqual(phases, ['reading', 'indexing', 'embedding', 'done']);
    assert.deepEqual(seen.filter((entry) => entry.phase === 'indexing').at(-1), { phase: 'indexing', done: 3, total: 3 }, 'the last indexing step is always passed on');
    assert.equal(seen.find((entry) => entry.phase === 'embedding')?.total, 3);
    assert.deepEqual(seen.at(-1), { phase: 'done', done: 3, total: 3 });
  } finally {
    await cleanup();
  }
});
