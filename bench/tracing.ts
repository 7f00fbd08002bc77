/**
 * What tracing costs a simple turn: the same turns through three real gateways, with
 * `tracing.enabled: false` (the default), on with `sampleRatio: 0` (the SDK loaded, nothing
 * sampled), and on with every turn traced to a local OTLP/HTTP receiver. A turn is an HTTP
 * `/v1/chat/completions` request in a session (`user` set) answered by the instant fake model in
 * its own process (one model call, no tool call).
 *
 *   node dist/bench/tracing.js [--runs N (5)] [--turns N (400)] [--baseline <another built checkout>]
 *
 * `--baseline DIR` adds a fourth gateway: DIR's `bin/hearth.js` (e.g. a checkout from before
 * tracing existed), to show what tracing off costs against no tracing code at all.
 *
 * Each run starts the gateways side by side and, after 50 warm-up turns each, sends `turns` turns
 * to each, one gateway after the other turn by turn, so the machine's noise falls on all alike.
 * Prints p50/p99 in ms and each gateway's CPU per turn (all threads), medians of the runs, and the
 * spans the receiver got.
 */
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { startOtlpReceiver } from '../test/support/otlp-receiver.js';
import { startFakeModelProcess, Tracker } from './bench-support.js';
import { median, preciseCpuSeconds } from './proc-stats.js';

interface Options {
  runs: number;
  turns: number;
  baseline?: string;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { runs: 5, turns: 400 };
  for (let at = 0; at < argv.length; at += 2) {
    const name = argv[at];
    const value = Number(argv[at + 1]);
    if (name === '--runs') options.runs = Math.max(1, value || 5);
    else if (name === '--turns') options.turns = Math.max(20, value || 400);
    else if (name === '--baseline' && argv[at + 1]) options.baseline = resolve(argv[at + 1]!);
    else throw new Error(`unknown option ${name} (known: --runs, --turns, --baseline)`);
  }
  return options;
}

type Variant = 'baseline' | 'off' | 'on, sampleRatio 0' | 'on';

interface Figures {
  p50: number;
  p99: number;
  cpuMsPerTurn: number;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const tracker = new Tracker();
  process.on('exit', () => tracker.killSync());
  const model = await startFakeModelProcess(tracker);
  const receiver = await startOtlpReceiver();
  tracker.servers.add(receiver);
  const VARIANTS: Variant[] = [...(options.baseline ? (['baseline'] as const) : []), 'off', 'on, sampleRatio 0', 'on'];
  const results = new Map<Variant, Figures[]>(VARIANTS.map((variant) => [variant, []]));
  try {
    for (let run = 0; run < options.runs; run++) {
      const gateways = await Promise.all(
        VARIANTS.map(async (variant) => {
          const tracing = variant === 'off' || variant === 'baseline' ? {} : { tracing: { enabled: true, endpoint: receiver.endpoint, sampleRatio: variant === 'on' ? 1 : 0 } };
          const gateway = await tracker.start({
            home: tracker.home(),
            ...(variant === 'baseline' ? { bin: join(options.baseline!, 'bin', 'hearth.js') } : {}),
            config: {
              models: { providers: { fake: { api: 'openai-chat', baseUrl: model.openaiBaseUrl, maxRetries: 0 } } },
              agents: { defaults: { model: 'fake/echo' } },
              ...tracing,
            },
          });
          return { variant, gateway, turn: turnSender(gateway.url, gateway.token) };
        }),
      );
      try {
        const figures = await timeInterleaved(gateways.map(({ gateway, turn }) => ({ pid: gateway.child.pid!, turn })), options.turns);
        for (const [index, { variant }] of gateways.entries()) results.get(variant)!.push(figures[index]!);
      } finally {
        await Promise.all(gateways.map(({ gateway }) => tracker.stopGateway(gateway)));
      }
      process.stderr.write(`run ${run + 1}/${options.runs} done\n`);
    }
  } finally {
    await model.stop();
    await tracker.cleanup();
  }
  const rows = VARIANTS.map((variant) => {
    const figures = results.get(variant)!;
    return { variant, p50: median(figures.map((f) => f.p50)), p99: median(figures.map((f) => f.p99)), cpuMsPerTurn: median(figures.map((f) => f.cpuMsPerTurn)) };
  });
  const off = rows.find((row) => row.variant === 'off')!;
  console.log(`\nTracing and a simple turn: ${options.turns} turns per gateway, medians of ${options.runs} runs (load average ${loadavg()[0]!.toFixed(1)})\n`);
  if (options.baseline) console.log(`baseline: ${options.baseline}\n`);
  console.log('| tracing | p50 (against off) | p99 | gateway CPU per turn (against off) |');
  console.log('|---|---|---|---|');
  for (const row of rows) {
    const delta = row === off ? '' : ` (${signed(row.p50 - off.p50)})`;
    console.log(`| ${row.variant} | ${row.p50.toFixed(2)} ms${delta} | ${row.p99.toFixed(2)} ms | ${row.cpuMsPerTurn.toFixed(3)} ms${row === off ? '' : ` (${signed(row.cpuMsPerTurn - off.cpuMsPerTurn, 3)})`} |`);
  }
  console.log(`\nSpans received: ${receiver.spans.length} (${receiver.spans.filter((span) => span.name === 'turn').length} turns)`);
  console.log(`BENCH_JSON ${JSON.stringify({ tracing: rows, spans: receiver.spans.length })}`);
}

function signed(value: number, digits = 2): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(digits)} ms`;
}

/** Sends one simple turn to a gateway (8 sessions round-robin); throws when it fails. */
function turnSender(url: string, token: string): () => Promise<void> {
  let sequence = 0;
  return async () => {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'hearth', user: `bench-${sequence % 8}`, messages: [{ role: 'user', content: `hello ${sequence++}` }] }),
    });
    const body = (await response.json()) as { choices?: unknown[] };
    if (response.status !== 200 || !body.choices) throw new Error(`a turn failed: ${response.status} ${JSON.stringify(body)}`);
  };
}

/**
 * Times `turns` turns on each gateway, one gateway after the other turn by turn (the order
 * rotating), so a busy moment of the machine falls on all of them alike.
 */
async function timeInterleaved(gateways: { pid: number; turn: () => Promise<void> }[], turns: number): Promise<Figures[]> {
  for (let at = 0; at < 50; at++) for (const gateway of gateways) await gateway.turn();
  const times = gateways.map(() => [] as number[]);
  const cpuBefore = gateways.map((gateway) => preciseCpuSeconds(gateway.pid));
  for (let at = 0; at < turns; at++) {
    for (let offset = 0; offset < gateways.length; offset++) {
      const index = (at + offset) % gateways.length;
      const started = performance.now();
      await gateways[index]!.turn();
      times[index]!.push(performance.now() - started);
    }
  }
  return gateways.map((gateway, index) => {
    const sorted = times[index]!.sort((a, b) => a - b);
    return {
      p50: sorted[Math.floor(sorted.length / 2)]!,
      p99: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!,
      cpuMsPerTurn: ((preciseCpuSeconds(gateway.pid) - cpuBefore[index]!) * 1000) / turns,
    };
  });
}

await main();
