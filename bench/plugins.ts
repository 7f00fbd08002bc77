/**
 * What a plugin costs: starting one (its worker thread and activation), a tool call and a
 * `before_tool_call` hook round trip through the plugin host, and for a plugin's chat channel a
 * reply sent through it and a received message handed over and acknowledged, against a direct
 * function call of the same work for scale. Uses the `shouter` fixture plugin
 * (test/fixtures/plugins) and a channel plugin written here that does no network I/O.
 *
 *   node dist/bench/plugins.js [--runs N (3)] [--calls N (2000)]
 *
 * Prints medians of the runs: start ms, and p50/p99 ms of the calls.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createPluginHost } from '../src/plugins/plugin-host.js';
import { REPO_ROOT } from '../test/support/gateway-harness.js';
import { median, percentile } from './proc-stats.js';

interface RunResult {
  startMs: number;
  call: [number, number];
  hook: [number, number];
  send: [number, number];
  receive: [number, number];
  direct: [number, number];
}

/** A channel that answers sends at once and, when run, hands over `settings.count` messages one after another. */
const BENCH_CHANNEL = `export default (api) => api.registerChannel({
  platform: 'benchchat',
  async run(account, context) {
    for (let at = 0; at < account.settings.count; at++) await context.receive({ messageId: String(at), chat: { id: 'c1' }, sender: { id: 'u1' }, text: 'hi' });
  },
  async send() { return { messageId: 'm1' }; },
});`;

function writeBenchChannel(root: string): void {
  mkdirSync(join(root, 'benchchat'), { recursive: true });
  writeFileSync(join(root, 'benchchat', 'hearth.plugin.json'), JSON.stringify({ id: 'benchchat', version: '1.0.0', entry: 'index.js', registers: { channels: ['benchchat'] } }));
  writeFileSync(join(root, 'benchchat', 'index.js'), BENCH_CHANNEL);
}

/** p50/p99 of the gaps between messages a channel run hands over: each waits for the previous one's acknowledgement. */
async function receiveRoundTrips(host: ReturnType<typeof createPluginHost>, calls: number): Promise<[number, number]> {
  const arrivals: number[] = [];
  const handlers = { receive: async () => void arrivals.push(performance.now()), connected() {}, progress() {}, reject() {} };
  await host.runChannel('benchchat', 'benchchat', { accountId: 'default', settings: { count: calls + 200 } }, handlers, new AbortController().signal);
  const gaps = arrivals.slice(201).map((at, index) => at - (arrivals[index + 200] as number));
  return [percentile(gaps, 50), percentile(gaps, 99)];
}

const quiet = { info() {}, warn() {}, error() {} };
const context = { agentId: 'main', sessionKey: 'agent:main:main', runId: 'bench' };

async function timed(calls: number, action: () => Promise<unknown> | unknown): Promise<[number, number]> {
  for (let warm = 0; warm < 200; warm++) await action();
  const samples: number[] = [];
  for (let at = 0; at < calls; at++) {
    const started = performance.now();
    await action();
    samples.push(performance.now() - started);
  }
  return [percentile(samples, 50), percentile(samples, 99)];
}

async function run(calls: number): Promise<RunResult> {
  const home = mkdtempSync(join(tmpdir(), 'hearth-plugin-bench-'));
  cpSync(join(REPO_ROOT, 'test', 'fixtures', 'plugins', 'shouter'), join(home, 'plugins', 'shouter'), { recursive: true });
  writeBenchChannel(join(home, 'plugins'));
  const started = performance.now();
  const host = createPluginHost({ roots: [join(home, 'plugins')], quarantineDir: join(home, 'plugins', '.quarantine'), logger: quiet });
  try {
    await host.start();
    const startMs = performance.now() - started;
    const signal = new AbortController().signal;
    const call = await timed(calls, () => host.callTool('shouter', 'shout', { text: 'hello' }, context, signal));
    const hook = await timed(calls, () => host.beforeToolCall({ tool: 'read', args: {}, ...context }));
    const account = { accountId: 'default', settings: {} };
    const message = { target: { chatId: 'c1' }, text: 'hello', idempotencyKey: 'k1' };
    const send = await timed(calls, () => host.callChannel('benchchat', 'benchchat', 'send', account, message, signal));
    const receive = await receiveRoundTrips(host, calls);
    const direct = await timed(calls, () => 'hello'.toUpperCase());
    return { startMs, call, hook, send, receive, direct };
  } finally {
    await host.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

function option(argv: string[], name: string, fallback: number): number {
  const at = argv.indexOf(name);
  return at >= 0 ? Math.max(1, Number(argv[at + 1]) || fallback) : fallback;
}

const argv = process.argv.slice(2);
const runs = option(argv, '--runs', 3);
const calls = option(argv, '--calls', 2000);
console.log(`load average at start: ${loadavg()[0]!.toFixed(2)}; ${runs} runs, ${calls} calls a case`);
const results: RunResult[] = [];
for (let at = 0; at < runs; at++) results.push(await run(calls));
const ms = (value: number) => value.toFixed(3);
const pair = (pick: (result: RunResult) => [number, number]) => `${ms(median(results.map((result) => pick(result)[0])))} / ${ms(median(results.map((result) => pick(result)[1])))}`;
console.log('| case | p50 / p99 (ms) |\n|---|---|');
console.log(`| start one plugin (worker + activation) | ${median(results.map((result) => result.startMs)).toFixed(1)} (median) |`);
console.log(`| plugin tool call (host → worker → host) | ${pair((result) => result.call)} |`);
console.log(`| before_tool_call hook, one plugin | ${pair((result) => result.hook)} |`);
console.log(`| a reply sent through a plugin's channel | ${pair((result) => result.send)} |`);
console.log(`| a received message handed over and acknowledged | ${pair((result) => result.receive)} |`);
console.log(`| the same work as a direct call | ${pair((result) => result.direct)} |`);
