import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FakeModelServer, fakeModelConfig, startFakeModelServer } from './fake-model-server.js';
import { HEARTH_BIN, makeHome, REPO_ROOT, removeHome, runCli, testEnv, waitFor, writeConfig } from './gateway-harness.js';

/** A `hearth service` supervisor started by a test, with everything it printed. */
export interface Service {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** Starts `hearth service` on a free port with a 7 s probation and a 20 s readiness gate. */
export function startService(env: Record<string, string>): Service {
  const child = spawn(process.execPath, [HEARTH_BIN, 'service', '--port', '0', '--probation', '7', '--ready-timeout', '20'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Waits for the supervised gateway to print its address and answer /readyz with 200. */
export async function serviceReady(service: Service): Promise<{ url: string; token: string }> {
  const match = await waitFor(() => /Open (http:\/\/[^/\s]+)\/#token=(\S+)/u.exec(service.output()), 'the supervised gateway to start', 20_000);
  const url = match[1]!;
  await waitFor(async () => (await fetch(`${url}/readyz`).catch(() => null))?.status === 200, 'the gateway to be ready', 20_000);
  return { url, token: match[2]! };
}

/** What the service tests share: a fake model, a home configured for it, and `hearth service` running there. */
export interface ServiceSetUp {
  model: FakeModelServer;
  home: string;
  env: Record<string, string>;
  service: Service;
  url: string;
  token: string;
}

export async function startServiceWithModel(): Promise<ServiceSetUp> {
  const model = await startFakeModelServer();
  const home = makeHome();
  const env = testEnv(home);
  writeConfig(home, fakeModelConfig(model));
  const service = startService(env);
  return { model, home, env, service, ...(await serviceReady(service)) };
}

/** Stops the service (whichever `service` the tests left running) and the model, and removes the home and `created` folders. */
export async function stopServiceWithModel(setUp: Partial<Pick<ServiceSetUp, 'model' | 'home' | 'service'>>, created: string[] = []): Promise<void> {
  if (setUp.service && setUp.service.child.exitCode === null) setUp.service.child.kill('SIGTERM');
  await setUp.service?.exited;
  await setUp.model?.close();
  if (setUp.home) removeHome(setUp.home);
  for (const dir of created) removeHome(dir);
}

/**
 * A package folder of this build with another version; `bin` (an ES module) runs in place of
 * bin/hearth.js (the real one stays as bin/real-hearth.js). Its parent folder is pushed onto `created` for removal.
 */
export function makeVersion(version: string, created: string[], bin?: string): string {
  const parent = makeHome();
  created.push(parent);
  const dir = join(parent, 'package');
  for (const part of ['bin', 'dist/bundle', 'dist/src', 'dist/ui', 'src/ui', 'package-lock.json']) cpSync(join(REPO_ROOT, part), join(dir, part), { recursive: true });
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...manifest, version }, null, 2));
  if (bin) {
    // bin/ is CommonJS (bin/package.json): the test's bin is an ES module beside it, which
    // bin/hearth.js imports.
    writeFileSync(join(dir, 'bin', 'real-hearth.js'), readFileSync(join(REPO_ROOT, 'bin', 'hearth.js')));
    writeFileSync(join(dir, 'bin', 'version-bin.mjs'), bin);
    writeFileSync(join(dir, 'bin', 'hearth.js'), "import('./version-bin.mjs').catch((error) => {\n  console.error(error);\n  process.exit(1);\n});\n");
  }
  return dir;
}

export interface UpdateReport {
  ok: boolean;
  stages: { stage: string; ok: boolean; message: string }[];
  current: string;
}

/** Runs `hearth update <args> --json` to completion. */
export async function runUpdate(args: string[], env: Record<string, string>): Promise<UpdateReport & { code: number | null; stderr: string }> {
  const result = await runCli(['update', ...args, '--json'], env, undefined, 120_000);
  try {
    return { ...(JSON.parse(result.stdout) as UpdateReport), code: result.code, stderr: result.stderr };
  } catch {
    throw new Error(`hearth update printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}

/** An update report's stages as [stage, ok] pairs, in order. */
export const stagesOf = (report: UpdateReport) => report.stages.map((stage) => [stage.stage, stage.ok]);
/** One stage of an update report by name. */
export const stageOf = (report: UpdateReport, name: string) => report.stages.find((entry) => entry.stage === name);

export interface ServiceStatus {
  running: boolean;
  version: string;
  package: string;
  gatewayPid: number | null;
  restarts: number;
}

export async function serviceStatus(env: Record<string, string>): Promise<ServiceStatus> {
  const result = await runCli(['service', 'status', '--json'], env);
  return JSON.parse(result.stdout) as ServiceStatus;
}

/** Whether a process is alive: a zombie nobody reaped yet (no init in a container) counts as gone. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/u.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}
