/**
 * Where the gateway's start-up CPU goes: a fresh process loads the gateway's modules in layers
 * (node itself, zod, the config schema and loader, pino and the logger, better-sqlite3 and the
 * store, everything else `main.ts` imports), then runs `startGateway` (config, log, every
 * subsystem, listen); CPU time (user + system) per layer, medians of N processes.
 * Usage: node dist/bench/startup-breakdown.js [--runs N]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// No project imports here: the child process must load nothing but what it measures.
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GATEWAY_NODE_FLAGS = ['--max-semi-space-size=4'];
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

const LAYERS: [name: string, module: string][] = [
  ['zod', 'zod'],
  ['config schema and loader (json5)', 'dist/src/config/load-config.js'],
  ['pino and the logger', 'dist/src/observability/logger.js'],
  ['better-sqlite3 and the store', 'dist/src/store/sqlite/sqlite-store.js'],
  ['the rest of the gateway modules', 'dist/src/main.js'],
];

const cpuMs = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

async function child(home: string): Promise<void> {
  const figures: Record<string, number> = { 'node itself (until the first line runs)': cpuMs() };
  let last = cpuMs();
  for (const [name, module] of LAYERS) {
    await import(module.startsWith('dist/') ? pathToFileURL(join(REPO_ROOT, module)).href : module);
    figures[name] = cpuMs() - last;
    last = cpuMs();
  }
  {
    const { startGateway } = (await import(pathToFileURL(join(REPO_ROOT, 'dist/src/main.js')).href)) as typeof import('../src/main.js');
    const gateway = await startGateway({ env: { HEARTH_HOME: home, HEARTH_LOG_LEVEL: 'warn' }, port: 0, terminal: null });
    figures['startGateway: config, log, subsystems, listen'] = cpuMs() - last;
    figures.total = cpuMs();
    await gateway.stop();
  }
  console.log(JSON.stringify(figures));
}

function parent(runs: number): void {
  const samples: Record<string, number>[] = [];
  for (let run = 0; run < runs; run++) {
    // A fresh home per process, removed once the process has exited (its log file closes last).
    const home = mkdtempSync(join(tmpdir(), 'hearth-breakdown-'));
    try {
      writeFileSync(
        join(home, 'hearth.json5'),
        JSON.stringify({ models: { providers: { fake: { api: 'openai-chat', baseUrl: 'http://127.0.0.1:9/v1', maxRetries: 0 } } }, agents: { defaults: { model: 'fake/echo' } } }),
      );
      const output = execFileSync(process.execPath, [...GATEWAY_NODE_FLAGS, fileURLToPath(import.meta.url), '--child', home], { encoding: 'utf8' });
      samples.push(JSON.parse(output.trim().split('\n').pop()!) as Record<string, number>);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }
  console.log(`start-up CPU by layer, median of ${runs} processes (ms)`);
  for (const name of Object.keys(samples[0]!)) console.log(`  ${name.padEnd(48)} ${median(samples.map((sample) => sample[name]!)).toFixed(1).padStart(7)}`);
}

const childFlag = process.argv.indexOf('--child');
if (childFlag >= 0) await child(process.argv[childFlag + 1]!);
else {
  const runsFlag = process.argv.indexOf('--runs');
  parent(runsFlag >= 0 ? Number(process.argv[runsFlag + 1]) : 9);
}
