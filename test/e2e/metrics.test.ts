import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, startTestGateway, waitFor } from '../support/gateway-harness.js';

let model: FakeModelServer;
const homes: string[] = [];

before(async () => {
  model = await startFakeModelServer();
});
after(async () => {
  await model?.close();
  for (const home of homes) removeHome(home);
});

/** Parses Prometheus text: `name{labels}` → value. */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const match = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/u.exec(line);
    assert.ok(match, `not a Prometheus sample line: ${line}`);
    samples.set(match[1] as string, Number(match[2]));
  }
  return samples;
}

test('/metrics: Prometheus text with process, event loop, turns, latency, tokens and tool calls; needs the token', async () => {
  const home = makeHome();
  homes.push(home);
  const gateway = await startTestGateway({
    home,
    config: { models: { providers: { fake: { api: 'openai-chat', baseUrl: model.openaiBaseUrl, maxRetries: 0 } } }, agents: { defaults: { model: 'fake/echo' } } },
  });
  try {
    const anonymous = await fetch(`${gateway.url}/metrics`);
    assert.equal(anonymous.status, 401);
    model.script({ toolCalls: [{ name: 'current_time', arguments: {} }] }, { status: 500 });
    for (const content of ['what time is it', 'this one fails']) {
      await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'hearth', user: 'ada', messages: [{ role: 'user', content }] }),
      }).then((response) => response.text());
    }
    const response = await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${gateway.token}` } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/plain/u);
    const text = await response.text();
    const samples = parse(text);
    // The first scrape has no event-loop figures yet: nothing is printed rather than NaN or 2^63 ns.
    assert.doesNotMatch(text, /\bNaN\b|9223372036/iu);
    assert.equal(samples.get('hearth_turns_total{agent="main",status="ok"}'), 1);
    assert.equal(samples.get('hearth_turns_total{agent="main",status="error"}'), 1);
    assert.equal(samples.get('hearth_tool_calls_total{tool="current_time",outcome="ok"}'), 1);
    assert.equal(samples.get('hearth_turn_duration_seconds_count{agent="main"}'), 2);
    assert.equal(samples.get('hearth_turn_duration_seconds_bucket{agent="main",le="+Inf"}'), 2);
    assert.ok((samples.get('hearth_tokens_total{agent="main",provider="fake",model="echo",direction="input"}') ?? 0) > 0, 'input tokens are counted');
    assert.ok((samples.get('hearth_tokens_total{agent="main",provider="fake",model="echo",direction="output"}') ?? 0) > 0, 'output tokens are counted');
    assert.ok((samples.get('hearth_process_resident_memory_bytes') ?? 0) > 10_000_000);
    // The first turn read the session's history from the store; the second found it in memory.
    assert.equal(samples.get('hearth_history_reads_total{source="store"}'), 1);
    assert.equal(samples.get('hearth_history_reads_total{source="memory"}'), 1);
    assert.equal(samples.get('hearth_history_cache_bytes{kind="max"}'), 32 * 1024 * 1024);
    assert.equal(samples.get('hearth_history_cache_sessions'), 1);
    assert.ok((samples.get('hearth_history_cache_bytes{kind="used"}') ?? 0) > 0);
    const later = await waitFor(async () => {
      const again = await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${gateway.token}` } }).then((reply) => reply.text());
      return parse(again).has('hearth_nodejs_eventloop_lag_seconds') ? again : null;
    }, 'an event-loop lag measurement');
    assert.doesNotMatch(later, /\bNaN\b|9223372036/iu);
  } finally {
    await gateway.stop();
  }
});

test('/metrics: session.historyCacheMb bounds the history kept in memory; 0 reads every turn\'s history from the store', async () => {
  const home = makeHome();
  homes.push(home);
  const gateway = await startTestGateway({
    home,
    config: {
      models: { providers: { fake: { api: 'openai-chat', baseUrl: model.openaiBaseUrl, maxRetries: 0 } } },
      agents: { defaults: { model: 'fake/echo' } },
      session: { historyCacheMb: 0 },
    },
  });
  try {
    for (const content of ['one', 'two', 'three']) {
      const reply = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'hearth', user: 'grace', messages: [{ role: 'user', content }] }),
      });
      assert.equal(reply.status, 200, await reply.text());
    }
    // Each turn still saw the whole conversation, read from the store.
    const last = model.requests.at(-1)?.body as { messages: { role: string; content: string }[] };
    assert.deepEqual(
      last.messages.filter((message) => message.role !== 'system').map((message) => message.content),
      ['one', 'echo: one', 'two', 'echo: two', 'three'],
    );
    const text = await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${gateway.token}` } }).then((response) => response.text());
    const samples = parse(text);
    assert.equal(samples.get('hearth_history_reads_total{source="store"}'), 3);
    assert.equal(samples.get('hearth_history_reads_total{source="memory"}'), 0);
    assert.equal(samples.get('hearth_history_cache_bytes{kind="max"}'), 0);
    assert.equal(samples.get('hearth_history_cache_sessions'), 0);
  } finally {
    await gateway.stop();
  }
});
