/**
 * The control plane's limits, measured against the real gateway with default `gateway` settings:
 *
 * - local clients: 10 authenticated HTTP clients (one keep-alive connection each) send 1,000
 *   chat completions in total to the instant fake model; prints how many were answered 200,
 *   429 and 503, and the throughput.
 * - trickled bodies: 5 connections send headers announcing a 1,000-byte body, then one byte a
 *   second, to `/v1/chat/completions` (with the token) and to the Telegram webhook route (no
 *   account there); prints how long the gateway held each connection (capped at `--cap` s).
 *
 * `node dist/bench/http-limits.js [--cap 60] [--gateway '{"rateLimit":{"perSecond":1e6}}']` after
 * `npm run build`; `--gateway` merges JSON into the `gateway` config.
 */
import { connect } from 'node:net';
import { startFakeModelServer } from '../test/support/fake-model-server.js';
import { removeHome, startTestGateway } from '../test/support/gateway-harness.js';
import { httpRequest, keepAliveAgent } from './http-client.js';

const CLIENTS = 10;
const REQUESTS = 1000;
const TRICKLED = 5;

function argument(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
}

async function localClients(port: number, token: string) {
  const statuses = new Map<number, number>();
  let next = 0;
  const started = performance.now();
  const client = async () => {
    const agent = keepAliveAgent(1);
    while (next < REQUESTS) {
      next += 1;
      const body = JSON.stringify({ model: 'hearth', messages: [{ role: 'user', content: `hello ${next}` }] });
      const result = await httpRequest({ agent, port, path: '/v1/chat/completions', method: 'POST', headers: { authorization: `Bearer ${token}` }, body, timeoutMs: 30_000 }).catch(() => ({
        status: 0,
        body: '',
      }));
      statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
    }
    agent.destroy();
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  const seconds = (performance.now() - started) / 1000;
  return { statuses: Object.fromEntries(statuses), seconds: Number(seconds.toFixed(2)), perSecond: Math.round(REQUESTS / seconds) };
}

/** Sends headers and then one body byte a second; resolves with how long the server kept the connection. */
function trickle(port: number, path: string, headers: Record<string, string>, capMs: number): Promise<{ heldMs: number; answer: string }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearInterval(drip);
      clearTimeout(cap);
      socket.destroy();
      resolve({ heldMs: Math.round(performance.now() - started), answer: answer.split('\r\n')[0] ?? '' });
    };
    const head = Object.entries({ host: `127.0.0.1:${port}`, 'content-type': 'application/json', 'content-length': '1000', ...headers })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n{`);
    const drip = setInterval(() => socket.write(' '), 1000);
    const cap = setTimeout(finish, capMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('close', finish);
    socket.on('error', finish);
  });
}

async function main() {
  const capMs = argument('--cap', 60) * 1000;
  const gatewayAt = process.argv.indexOf('--gateway');
  const gatewayConfig = gatewayAt === -1 ? {} : (JSON.parse(process.argv[gatewayAt + 1] ?? '{}') as Record<string, unknown>);
  const fake = await startFakeModelServer();
  const gateway = await startTestGateway({
    config: { gateway: gatewayConfig, models: { providers: { fake: { api: 'openai-chat', baseUrl: fake.openaiBaseUrl, maxRetries: 0 } } }, agents: { defaults: { model: 'fake/echo' } } },
  });
  try {
    const clients = await localClients(gateway.port, gateway.token);
    console.log(`10 local clients, 1,000 chat completions: ${JSON.stringify(clients.statuses)} in ${clients.seconds} s (${clients.perSecond}/s)`);
    const routes: { name: string; path: string; headers: Record<string, string> }[] = [
      { name: '/v1/chat/completions', path: '/v1/chat/completions', headers: { authorization: `Bearer ${gateway.token}` } },
      { name: 'Telegram webhook route', path: '/channels/telegram/default/webhook', headers: {} },
    ];
    const held: Record<string, number[]> = {};
    for (const route of routes) {
      const results = await Promise.all(Array.from({ length: TRICKLED }, () => trickle(gateway.port, route.path, route.headers, capMs)));
      held[route.name] = results.map((result) => result.heldMs / 1000);
      const answers = [...new Set(results.map((result) => result.answer || '(closed without an answer)'))];
      console.log(`${TRICKLED} trickled bodies on ${route.name}: held ${held[route.name]?.map((s) => s.toFixed(1)).join(', ')} s (cap ${capMs / 1000} s); answer: ${answers.join(' | ')}`);
    }
    console.log(`BENCH_JSON ${JSON.stringify({ localClients: clients, trickledHeldSeconds: held })}`);
  } finally {
    await gateway.stop();
    removeHome(gateway.home);
    await fake.close();
  }
}

await main();
