/**
 * What the exec tool costs: `exec` of `true` through the real tool (policy, workspace check, its
 * own process group, output capture), with `security: "full"` (through /bin/sh) and "allowlist"
 * (parsed, run without a shell), sandboxed with bubblewrap, against a bare `child_process.spawn`
 * of `true` for scale.
 *
 * Then the turn latency a call adds: turns through the real gateway and the fake model, each with
 * one tool call (`current_time`, `exec` of `true`, the same sandboxed) and the model's answer after it.
 *
 *   node dist/bench/exec.js [--runs N (3)] [--calls N (200)] [--turns N (100)]
 *
 * Prints p50/p99 in ms, medians of the runs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ToolContext } from '../src/contracts/tool.js';
import type { ExecPolicy } from '../src/tools/exec-policy.js';
import { createExecTool } from '../src/tools/exec-tool.js';
import { type FakeModelServer, startFakeModelServer } from '../test/support/fake-model-server.js';
import { removeHome, startTestGateway } from '../test/support/gateway-harness.js';
import { median } from './proc-stats.js';

function parseOptions(argv: string[]): { runs: number; calls: number; turns: number } {
  const options = { runs: 3, calls: 200, turns: 100 };
  for (let at = 0; at < argv.length; at += 2) {
    const value = Number(argv[at + 1]);
    if (argv[at] === '--runs') options.runs = Math.max(1, value || 3);
    else if (argv[at] === '--calls') options.calls = Math.max(10, value || 200);
    else if (argv[at] === '--turns') options.turns = Math.max(10, value || 100);
    else throw new Error(`unknown option ${argv[at]} (known: --runs, --calls, --turns)`);
  }
  return options;
}

/** p50/p99 of `turns` turns, each with one scripted call of `tool`, through a gateway whose exec policy is `exec`. */
async function turnLatency(model: FakeModelServer, exec: object, tool: { name: string; arguments: object }, turns: number): Promise<{ p50: number; p99: number }> {
  const gateway = await startTestGateway({
    config: {
      models: { providers: { fake: { api: 'openai-chat', baseUrl: model.openaiBaseUrl, maxRetries: 0 } } },
      agents: { defaults: { model: 'fake/echo', tools: { exec } } },
    },
  });
  try {
    return await timeCalls(turns, async () => {
      model.script({ toolCalls: [tool] });
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'hearth', messages: [{ role: 'user', content: 'go' }] }),
      });
      const body = (await response.json()) as { hearth?: { toolCalls?: { outcome?: string }[] } };
      if (response.status !== 200 || body.hearth?.toolCalls?.[0]?.outcome !== 'ok') throw new Error(`the turn's ${tool.name} call failed: ${JSON.stringify(body)}`);
    });
  } finally {
    await gateway.stop();
    removeHome(gateway.home);
  }
}

async function timeCalls(calls: number, once: () => Promise<void>): Promise<{ p50: number; p99: number }> {
  for (let at = 0; at < 10; at++) await once();
  const times: number[] = [];
  for (let at = 0; at < calls; at++) {
    const started = performance.now();
    await once();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length / 2)]!, p99: times[Math.min(times.length - 1, Math.floor(times.length * 0.99))]! };
}

function bareSpawn(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('true', [], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', () => resolve());
  });
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const workspace = realpathSync(mkdtempSync(join(tmpdir(), 'hearth-bench-exec-')));
  const context: ToolContext = { workspaceDir: workspace, agentId: 'main', sessionKey: 'agent:main:bench', runId: 'bench', signal: new AbortController().signal, now: () => new Date() };
  const viaTool = (policy: ExecPolicy) => async () => {
    const result = await createExecTool(() => policy).execute({ command: 'true' }, context);
    if (result.isError) throw new Error(`exec of true failed: ${result.content}`);
  };
  const cases: [string, () => Promise<void>][] = [
    ['spawn of true (no tool, no shell)', bareSpawn],
    ['exec, security "allowlist" (no shell)', viaTool({ security: 'allowlist', allow: ['true'], timeoutMs: 10_000, sandbox: 'off', network: false, ask: 'off', askTimeoutMs: 600_000 })],
    ['exec, security "full" (/bin/sh -c)', viaTool({ security: 'full', allow: [], timeoutMs: 10_000, sandbox: 'off', network: false, ask: 'off', askTimeoutMs: 600_000 })],
    ['exec, security "full", sandbox "workspace" (bubblewrap)', viaTool({ security: 'full', allow: [], timeoutMs: 10_000, sandbox: 'workspace', network: false, ask: 'off', askTimeoutMs: 600_000 })],
  ];
  console.log(`load average at start: ${loadavg()[0]?.toFixed(2)}; ${options.calls} calls a case, ${options.runs} runs`);
  try {
    const results = new Map<string, { p50: number[]; p99: number[] }>();
    for (let run = 0; run < options.runs; run++) {
      for (const [name, once] of cases) {
        const figures = await timeCalls(options.calls, once);
        const entry = results.get(name) ?? { p50: [], p99: [] };
        entry.p50.push(figures.p50);
        entry.p99.push(figures.p99);
        results.set(name, entry);
      }
    }
    console.log('| case | p50 (ms) | p99 (ms) |\n|---|---|---|');
    for (const [name, entry] of results) console.log(`| ${name} | ${median(entry.p50).toFixed(2)} | ${median(entry.p99).toFixed(2)} |`);
    await printTurnLatency(options);
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
}

async function printTurnLatency(options: { runs: number; turns: number }): Promise<void> {
  const model = await startFakeModelServer();
  try {
    const cases: [string, object, { name: string; arguments: object }][] = [
      ['turn with current_time', { security: 'deny' }, { name: 'current_time', arguments: {} }],
      ['turn with exec of true', { security: 'full' }, { name: 'exec', arguments: { command: 'true' } }],
      ['turn with exec of true, sandboxed', { security: 'full', sandbox: 'workspace' }, { name: 'exec', arguments: { command: 'true' } }],
    ];
    const results: { name: string; p50: number[]; p99: number[] }[] = cases.map(([name]) => ({ name, p50: [], p99: [] }));
    for (let run = 0; run < options.runs; run++) {
      for (const [at, [, exec, tool]] of cases.entries()) {
        const figures = await turnLatency(model, exec, tool, options.turns);
        results[at]!.p50.push(figures.p50);
        results[at]!.p99.push(figures.p99);
      }
    }
    console.log(`\n${options.turns} turns a case, through the gateway and the fake model (two model calls a turn)\n| case | p50 (ms) | p99 (ms) |\n|---|---|---|`);
    for (const entry of results) console.log(`| ${entry.name} | ${median(entry.p50).toFixed(2)} | ${median(entry.p99).toFixed(2)} |`);
  } finally {
    await model.close();
  }
}

main().catch((error: unknown) => {
  console.error('bench failed:', error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
