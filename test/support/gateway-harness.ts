import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GATEWAY_PROCESS_ENV } from '../../src/service/gateway-process.js';

/** The repository root (dist/test/support → ../../..). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
export const HEARTH_BIN = join(REPO_ROOT, 'bin', 'hearth.js');
/** The Node flags the `hearth` bin runs the gateway with (see its first line). */
export const GATEWAY_NODE_FLAGS = ['--max-semi-space-size=4'];
/** The environment it sets there too (GATEWAY_PROCESS_ENV). */
export { GATEWAY_PROCESS_ENV } from '../../src/service/gateway-process.js';

export interface TestGateway {
  url: string;
  port: number;
  token: string;
  home: string;
  child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then waits for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, then waits for the process to be gone. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

export interface StartOptions {
  /** Written to `$HEARTH_HOME/hearth.json5` as JSON (valid JSON5) unless `configText` is given. */
  config?: unknown;
  configText?: string;
  /** Reuse a home (for restarts); a fresh temp dir otherwise. */
  home?: string;
  env?: Record<string, string>;
  port?: number;
  timeoutMs?: number;
  /** Another checkout's `bin/hearth.js` (before/after benchmarks); this one's by default. */
  bin?: string;
}

/** A clean environment: no provider keys or gateway settings leak in from the machine. */
export function testEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (/^(OPENAI|ANTHROPIC|HEARTH)_/.test(key)) continue;
    env[key] = value;
  }
  return { ...env, HOME: home, HEARTH_HOME: home, HEARTH_LOG_LEVEL: 'info', ...extra };
}

export function makeHome(): string {
  return mkdtempSync(join(tmpdir(), 'hearth-test-'));
}

export function removeHome(home: string): void {
  rmSync(home, { recursive: true, force: true });
}

export function writeConfig(home: string, config: unknown): void {
  writeFileSync(join(home, 'hearth.json5'), typeof config === 'string' ? config : JSON.stringify(config, null, 2));
}

/** Runs the `hearth` CLI to completion and returns its exit code and output. */
export function runCli(args: string[], env: Record<string, string>, input?: string, timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [HEARTH_BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hearth ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

/** Starts the real gateway (`hearth gateway`) as a child process on a free loopback port. */
export async function startTestGateway(options: StartOptions = {}): Promise<TestGateway> {
  const home = options.home ?? makeHome();
  if (options.configText !== undefined) writeConfig(home, options.configText);
  else if (options.config !== undefined) writeConfig(home, options.config);
  const env = { ...GATEWAY_PROCESS_ENV, ...testEnv(home, options.env) };
  const child = spawn(process.execPath, [...GATEWAY_NODE_FLAGS, options.bin ?? HEARTH_BIN, 'gateway', '--port', String(options.port ?? 0)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolvePromise) => child.on('exit', (code) => resolvePromise(code)));
  const timeoutMs = options.timeoutMs ?? 15_000;
  const started = await new Promise<{ url: string; token: string }>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start in ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const check = () => {
      const match = /Open (http:\/\/[^/\s]+)\/#token=(\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolvePromise({ url: match[1]!, token: match[2]! });
      }
    };
    child.stdout!.on('data', check);
    exited.then((code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`gateway exited with ${code} before it started:\n${output}`), { exitCode: code, output }));
    });
  });
  const port = Number(new URL(started.url).port);
  return {
    url: started.url,
    port,
    token: started.token,
    home,
    child,
    output: () => output,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Polls `check` until it returns a truthy value or the time is up. */
export async function waitFor<T>(check: () => Promise<T> | T, what: string, timeoutMs = 10_000, intervalMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
