/**
 * How long a turn on a healthy provider waits while another provider never answers.
 * `node dist/bench/hung-provider.js [hungTurns] [maxConcurrent]` (after `npm run build`): the real
 * gateway with two agents on two providers (two fake model servers on loopback, one that never
 * answers, provider defaults: 120 s timeout, 2 retries); `hungTurns` turns (default 9) are sent to
 * the hung agent with `user` set and their clients leave; then 5 turns on the healthy agent are
 * timed (each given up after 30 s).
 */
import { performance } from 'node:perf_hooks';
import { startFakeModelServer } from '../test/support/fake-model-server.js';
import { removeHome, startTestGateway } from '../test/support/gateway-harness.js';

const hungTurns = Number(process.argv[2] ?? 9);
const maxConcurrent = Number(process.argv[3] ?? 8);
const GIVE_UP_MS = 30_000;

async function chat(url: string, token: string, agent: string, user: string, signal: AbortSignal): Promise<string> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: `hearth/${agent}`, user, messages: [{ role: 'user', content: 'hello' }] }),
    signal,
  });
  const body = (await response.json()) as { choices?: { message: { content: string } }[] };
  return body.choices?.[0]?.message.content ?? JSON.stringify(body);
}

const hung = await startFakeModelServer({ defaultStep: { hang: true } });
const healthy = await startFakeModelServer();
const gateway = await startTestGateway({
  config: {
    models: { providers: { hung: { api: 'openai-chat', baseUrl: hung.openaiBaseUrl }, healthy: { api: 'openai-chat', baseUrl: healthy.openaiBaseUrl } } },
    agents: { defaults: { model: 'healthy/m', maxConcurrent }, entries: { fast: { default: true }, slow: { model: 'hung/m' } } },
  },
}).catch(async (error) => {
  await hung.close();
  await healthy.close();
  throw error;
});
try {
  const leaving = new AbortController();
  for (let index = 0; index < hungTurns; index += 1) chat(gateway.url, gateway.token, 'slow', `hung-${index}`, leaving.signal).catch(() => {});
  const deadline = Date.now() + 3000;
  while (hung.requests.length < Math.min(hungTurns, maxConcurrent) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  leaving.abort();
  console.log(`${hung.requests.length} requests hung at the never-answering provider (${hungTurns} turns sent, maxConcurrent ${maxConcurrent})`);
  for (let index = 0; index < 5; index += 1) {
    const started = performance.now();
    const reply = await chat(gateway.url, gateway.token, 'fast', `fast-${index}`, AbortSignal.timeout(GIVE_UP_MS)).catch((error: Error) => `gave up: ${error.name}`);
    console.log(`healthy turn ${index + 1}: ${Math.round(performance.now() - started)} ms (${reply.slice(0, 40)})`);
  }
} finally {
  await gateway.stop();
  removeHome(gateway.home);
  await hung.close();
  await healthy.close();
}
