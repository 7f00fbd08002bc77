import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type FakeModelServer, type FakeStep, type RecordedRequest, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, type TestGateway, testEnv } from '../support/gateway-harness.js';

// A small context: 3,000 tokens, 500 for the reply, 2,000 for the system prompt, so 500 tokens
// (about 2,000 characters) of history; compaction starts at 80 % of it.
const CONTEXT = { contextTokens: 3000, maxOutputTokens: 500 };
const HISTORY_BUDGET_CHARS = 500 * 4;

interface WireMessage {
  role: string;
  content: string | null;
  tool_calls?: { id: string }[];
  tool_call_id?: string;
}

let model: FakeModelServer;
let gateway: TestGateway;
let home: string;

const messagesOf = (request: RecordedRequest) => (request.body as { messages: WireMessage[] }).messages;
const systemOf = (request: RecordedRequest) => messagesOf(request).find((message) => message.role === 'system')?.content ?? '';
const isSummary = (request: RecordedRequest) => systemOf(request).startsWith('You write the summary');
const isFlush = (request: RecordedRequest) => messagesOf(request).some((message) => message.role === 'user' && message.content?.includes('about to be compacted'));
const chatRequests = () => model.requests.filter((request) => request.path === '/v1/chat/completions');
const normalRequests = () => chatRequests().filter((request) => !isSummary(request) && !isFlush(request));

/** The fake model: writes summaries with their sections and the ids it was given, saves one note when asked to flush, else answers briefly. */
function behave(request: RecordedRequest): FakeStep {
  const messages = messagesOf(request);
  const last = messages.at(-1)!;
  if (isSummary(request)) {
    const ids = [...new Set(String(last.content).match(/ID-\d+/gu) ?? [])];
    return { text: `## Goals\nAda tracks project alpha.\n## Decisions\nnone\n## Progress\nReferences so far: ${ids.join(', ')}\n## Open items\nnone\n## Key details\nall ids above` };
  }
  if (isFlush(request)) {
    return last.role === 'tool' ? { text: 'NO_REPLY' } : { toolCalls: [{ name: 'memory_write', arguments: { text: 'Ada keeps project alpha references as ID-numbers.' } }] };
  }
  if (JSON.stringify(messages.slice(0, -1)).includes('OVERFLOW-ME') && !messages.some((message) => message.content?.startsWith('[Summary of the earlier part'))) {
    return { status: 400, body: { error: { message: "This model's maximum context length is 4096 tokens.", type: 'invalid_request_error', code: 'context_length_exceeded' } } };
  }
  return { text: `noted ${String(last.content).slice(0, 12)}` };
}

before(async () => {
  model = await startFakeModelServer({ defaultStep: behave });
  home = makeHome();
  gateway = await startTestGateway({
    home,
    config: {
      models: { providers: { fake: { api: 'openai-chat', baseUrl: model.openaiBaseUrl, maxRetries: 0 } } },
      agents: { defaults: { model: 'fake/echo', ...CONTEXT } },
    },
  });
});

after(async () => {
  await gateway?.stop();
  await model?.close();
  if (home) removeHome(home);
});

async function send(user: string, content: string): Promise<{ status: number; reply: string; runId: string }> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'hearth', user, messages: [{ role: 'user', content }] }),
  });
  const body = (await response.json()) as { id?: string; choices?: { message: { content: string } }[]; error?: { message: string } };
  // The completion id is the run id with another prefix.
  return { status: response.status, reply: body.choices?.[0]?.message.content ?? body.error?.message ?? '', runId: body.id ? `run_${body.id.slice('chatcmpl-'.length)}` : '' };
}

const note = (index: number) => `Note ${index}: the reference ID-${1000 + index} belongs to project alpha. ${'More detail follows here. '.repeat(3)}`;

test('a long session is compacted before it outgrows the context: memory flush first, then a summary the next turns start from, and nothing is lost from view', async () => {
  const mark = chatRequests().length;
  for (let index = 0; index < 24; index++) {
    const { status } = await send('ada', note(index));
    assert.equal(status, 200);
  }
  const requests = chatRequests().slice(mark);
  const flushAt = requests.findIndex(isFlush);
  const summaryAt = requests.findIndex(isSummary);
  assert.ok(flushAt >= 0, 'the agent was given its memory flush turn');
  assert.ok(summaryAt > flushAt, 'the flush came before the summary');
  const today = new Date();
  const pad = (value: number) => String(value).padStart(2, '0');
  const noteFile = join(home, 'workspaces', 'main', 'memory', `${today.getFullYear()}-${pad(today.getMonth() + 1)}-${pad(today.getDate())}.md`);
  assert.match(readFileSync(noteFile, 'utf8'), /Ada keeps project alpha references as ID-numbers\./u);

  const normal = requests.filter((request) => !isSummary(request) && !isFlush(request));
  for (const request of normal) {
    const history = messagesOf(request).filter((message) => message.role !== 'system');
    const chars = history.slice(0, -1).reduce((sum, message) => sum + JSON.stringify(message).length, 0);
    assert.ok(chars <= HISTORY_BUDGET_CHARS * 1.05, `a request carried ${chars} characters of history, over the budget`);
  }
  const lastRequest = messagesOf(normal.at(-1)!).filter((message) => message.role !== 'system');
  assert.match(String(lastRequest[0]?.content), /^\[Summary of the earlier part of this conversation/u, 'the history starts with the summary');
  assert.match(String(lastRequest[0]?.content), /ID-1000\b/u, 'the first turn is still known through the summary');

  const history = await runCli(['sessions', 'history', 'agent:main:openai:direct:ada', '--limit', '200'], testEnv(home));
  assert.equal(history.code, 0, history.stderr);
  assert.match(history.stdout, /── compacted here .*: \d+ earlier messages summarised \(the history neared the context budget\)/u);
  assert.match(history.stdout, /\[user\] Note 0: the reference ID-1000/u, 'the full history stays readable');
});

test('a tool call and its result are never split by a compaction', async () => {
  const mark = chatRequests().length;
  for (let index = 0; index < 16; index++) {
    if (index % 3 === 1) model.script({ toolCalls: [{ name: 'current_time', arguments: {} }] });
    const { status } = await send('tools', note(index));
    assert.equal(status, 200);
  }
  const requests = chatRequests().slice(mark);
  assert.ok(requests.some(isSummary), 'the session was compacted');
  for (const request of requests.filter((request) => !isSummary(request) && !isFlush(request))) {
    const messages = messagesOf(request).filter((message) => message.role !== 'system');
    assert.equal(messages[0]?.role, 'user', 'a history starts with a user message');
    messages.forEach((message, index) => {
      if (message.role !== 'tool') return;
      const asker = messages.slice(0, index).findLast((earlier) => earlier.role !== 'tool');
      assert.ok(asker?.tool_calls?.some((call) => call.id === message.tool_call_id), `tool result ${message.tool_call_id} follows the call that asked for it`);
    });
  }
});

test('a provider refusing the context as too long gets a compacted history and the turn is answered', async () => {
  assert.equal((await send('bob', `OVERFLOW-ME ${'a long first message that fills the context. '.repeat(16)}`)).status, 200);
  const mark = chatRequests().length;
  const answered = await send('bob', 'and now?');
  assert.equal(answered.status, 200, answered.reply);
  assert.equal(answered.reply, 'noted and now?');
  const requests = chatRequests().slice(mark);
  assert.ok(requests.some(isSummary), 'the history was summarised after the refusal');
  const shown = await runCli(['runs', 'show', answered.runId], testEnv(home));
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /CONTEXT_OVERFLOW/u, 'the refused step is in the run');
  assert.match(shown.stdout, /compaction overflow/u, 'and the compaction that followed');
});

test('/compact <focus> in a chat compacts on demand, and sessions compact says when there is nothing to do', async () => {
  for (let index = 0; index < 4; index++) await send('carol', note(index));
  const mark = chatRequests().length;
  const compacted = await send('carol', '/compact the ID numbers');
  assert.equal(compacted.status, 200, compacted.reply);
  assert.match(compacted.reply, /^Compacted \d+ earlier messages? into a summary/u);
  const summary = chatRequests().slice(mark).find(isSummary);
  assert.ok(summary, 'a summary was written');
  assert.match(String(messagesOf(summary).at(-1)?.content), /Keep in particular: the ID numbers/u);

  await send('dave', 'hello');
  const nothing = await runCli(['sessions', 'compact', 'agent:main:openai:direct:dave'], testEnv(home));
  assert.equal(nothing.code, 0, nothing.stderr);
  assert.match(nothing.stdout, /^Nothing to compact: everything in the history is recent turns/u);
  const unknown = await runCli(['sessions', 'compact', 'agent:ghost:main'], testEnv(home));
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /No configured agent owns the session agent:ghost:main/u);
});
