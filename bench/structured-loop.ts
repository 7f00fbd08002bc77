/**
 * What the structured loop costs on a simple turn: the same one-line request through the real
 * gateway and the fake model, answered by an agent with `loop: "conversational"` (one model call),
 * by the same with one tool call first (two model calls, for scale), and by an agent with
 * `loop: "structured"` (a one-step plan: the plan call, then the step's call, its output verified,
 * the plan and the step checkpointed in the store).
 *
 *   node dist/bench/structured-loop.js [--runs N (3)] [--turns N (200)]
 *
 * Prints p50/p99 in ms, medians of the runs (the cases alternate within each run).
 */
import { loadavg } from 'node:os';
import { type RecordedRequest, startFakeModelServer } from '../test/support/fake-model-server.js';
import { removeHome, startTestGateway } from '../test/support/gateway-harness.js';
import { median } from './proc-stats.js';

function parseOptions(argv: string[]): { runs: number; turns: number } {
  const options = { runs: 3, turns: 200 };
  for (let at = 0; at < argv.length; at += 2) {
    const value = Number(argv[at + 1]);
    if (argv[at] === '--runs') options.runs = Math.max(1, value || 3);
    else if (argv[at] === '--turns') options.turns = Math.max(10, value || 200);
    else throw new Error(`unknown option ${argv[at]} (known: --runs, --turns)`);
  }
  return options;
}

const PLAN = JSON.stringify({ steps: [{ id: 'answer', goal: 'Answer the question', tools: [], expect: { type: 'string', minLength: 1 } }] });

/** The plan when the gateway asks for one, a current_time call for the "tool" agent's first call, else a short answer. */
function answer(request: RecordedRequest) {
  const body = request.body as { messages: { role: string; content: unknown }[] };
  const system = String(body.messages.find((message) => message.role === 'system')?.content ?? '');
  if (system.includes('make a plan')) return { text: PLAN };
  const last = body.messages.at(-1);
  if (system.includes('BENCH-TOOL') && last?.role === 'user') return { toolCalls: [{ name: 'current_time', arguments: {} }] };
  return { text: 'It is fine.' };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const model = await startFakeModelServer({ defaultStep: answer });
  const gateway = await startTestGateway({
    config: {
      models: { providers: { fake: { api: 'openai-chat', baseUrl: model.openaiBaseUrl, maxRetries: 0 } } },
      agents: {
        defaults: { model: 'fake/echo' },
        entries: { main: { default: true }, tool: { systemPrompt: 'BENCH-TOOL' }, planner: { loop: 'structured' } },
      },
    },
  });
  const turn = async (agent: string, user: string) => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: `hearth/${agent}`, user, messages: [{ role: 'user', content: 'is it fine?' }] }),
    });
    const body = (await response.json()) as { choices?: { message?: { content?: string } }[] };
    const reply = body.choices?.[0]?.message?.content ?? '';
    const expected = agent === 'planner' ? /^Done: all 1 steps of the plan\.\n1\. Answer the question: It is fine\.$/u : /^It is fine\.$/u;
    if (response.status !== 200 || !expected.test(reply)) throw new Error(`the ${agent} turn did not answer as expected: ${JSON.stringify(body)}`);
  };
  const cases: [string, string][] = [
    ['conversational (1 model call)', 'main'],
    ['conversational with one tool call (2 model calls)', 'tool'],
    ['structured, a one-step plan (2 model calls, 4 checkpoint writes)', 'planner'],
  ];
  console.log(`load average at start: ${loadavg()[0]?.toFixed(2)}; ${options.turns} turns a case, ${options.runs} runs`);
  const results = cases.map(([name]) => ({ name, p50: [] as number[], p99: [] as number[] }));
  try {
    for (let run = 0; run < options.runs; run++) {
      for (const [at, [, agent]] of cases.entries()) {
        // A fresh session per run and case, so history does not grow across the cases.
        const user = `bench-${run}-${agent}`;
        for (let warm = 0; warm < 20; warm++) await turn(agent, `${user}-warm`);
        const times: number[] = [];
        for (let index = 0; index < options.turns; index++) {
          const started = performance.now();
          await turn(agent, `${user}-${index % 8}`);
          times.push(performance.now() - started);
        }
        times.sort((a, b) => a - b);
        results[at]!.p50.push(times[Math.floor(times.length / 2)]!);
        results[at]!.p99.push(times[Math.min(times.length - 1, Math.floor(times.length * 0.99))]!);
      }
    }
    console.log('| case | p50 (ms) | p99 (ms) |\n|---|---|---|');
    for (const entry of results) console.log(`| ${entry.name} | ${median(entry.p50).toFixed(2)} | ${median(entry.p99).toFixed(2)} |`);
    const [plain, twoCalls, structured] = results.map((entry) => median(entry.p50));
    console.log(`\nstructured − conversational: ${(structured! - plain!).toFixed(2)} ms at p50; structured − two-call conversational: ${(structured! - twoCalls!).toFixed(2)} ms`);
  } finally {
    await gateway.stop();
    removeHome(gateway.home);
    await model.close();
  }
}

main().catch((error: unknown) => {
  console.error('bench failed:', error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
