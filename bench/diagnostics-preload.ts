/**
 * Preloaded into the measured gateway (`NODE_OPTIONS=--import=<this file>`) for diagnostics only;
 * the bench's headline figures are taken without it.
 *  - `BENCH_CPU_PROF_DIR` (from `--cpu-prof DIR`): starts V8's sampling profiler at once and writes
 *    `DIR/gateway-<pid>.cpuprofile` when the process exits (Node 20 refuses `--cpu-prof` in
 *    NODE_OPTIONS, hence the inspector session).
 *  - `BENCH_HEAP_FILE` (from `--heap`): on SIGUSR2, writes `process.memoryUsage()` before and after
 *    a forced full GC to that file as JSON, so RSS growth can be told apart from retained heap.
 *  - `BENCH_HEAP_SAMPLE_FILE` (bench/sessions.ts): peak heap between two SIGUSR2 signals.
 */
import { writeFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const profileDir = process.env.BENCH_CPU_PROF_DIR;
if (profileDir) {
  const session = new Session();
  session.connect();
  const intervalUs = Number(process.env.BENCH_CPU_PROF_INTERVAL_US ?? 200) || 200;
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  session.post('Profiler.start');
  let written = false;
  process.on('exit', () => {
    if (written) return;
    written = true;
    // Same-thread inspector sessions answer synchronously, so this works inside 'exit'.
    session.post('Profiler.stop', (error, result) => {
      if (error || !result) return;
      mkdirSync(profileDir, { recursive: true });
      writeFileSync(join(profileDir, `gateway-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}

const heapFile = process.env.BENCH_HEAP_FILE;
if (heapFile) {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const mb = (usage: NodeJS.MemoryUsage) => Object.fromEntries(Object.entries(usage).map(([key, bytes]) => [key, Math.round((bytes / 1048576) * 10) / 10]));
  process.on('SIGUSR2', () => {
    const before = process.memoryUsage();
    gc();
    gc();
    const after = process.memoryUsage();
    writeFileSync(heapFile, JSON.stringify({ before: mb(before), afterGc: mb(after) }));
  });
}

// `BENCH_HEAP_SAMPLE_FILE` (bench/sessions.ts): samples the heap every 100 ms; on SIGUSR2 writes
// the peak since the last signal (MB) to that file and starts a new window.
const sampleFile = process.env.BENCH_HEAP_SAMPLE_FILE;
if (sampleFile) {
  const peak = { heapUsed: 0, heapTotal: 0 };
  const sample = () => {
    const usage = process.memoryUsage();
    peak.heapUsed = Math.max(peak.heapUsed, usage.heapUsed);
    peak.heapTotal = Math.max(peak.heapTotal, usage.heapTotal);
  };
  setInterval(sample, 100).unref();
  process.on('SIGUSR2', () => {
    sample();
    const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
    writeFileSync(sampleFile, JSON.stringify({ peak: { heapUsed: mb(peak.heapUsed), heapTotal: mb(peak.heapTotal) } }));
    peak.heapUsed = 0;
    peak.heapTotal = 0;
  });
}
