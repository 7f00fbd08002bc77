import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FakeModelServer } from '../support/fake-model-server.js';
import { makeVersion, runUpdate, type Service, serviceStatus, stageOf, stagesOf, startServiceWithModel, stopServiceWithModel } from '../support/service-harness.js';

// `hearth update` switching to a tarball, and its health gate on the gateway's real components,
// end to end under a real supervisor.

let model: FakeModelServer;
let home: string;
let env: Record<string, string>;
let service: Service;
let url = '';
const dirs: string[] = [];

const update = (args: string[]) => runUpdate(args, env);

/** What /readyz answers: its status code and each component's status. */
async function readyz(): Promise<{ status: number; components: Record<string, string> }> {
  const response = await fetch(`${url}/readyz`, { headers: { connection: 'close' }, signal: AbortSignal.timeout(5000) });
  const body = (await response.json()) as { components: Record<string, { status: string }> };
  return { status: response.status, components: Object.fromEntries(Object.entries(body.components).map(([name, component]) => [name, component.status])) };
}

/** A bin whose gateway starts with a config that names no model provider; every other command is the real one. */
const LOSES_ITS_MODELS = `import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
if (process.argv[2] === 'gateway') {
  const config = join(process.env.HEARTH_HOME, 'without-models.json5');
  writeFileSync(config, '{}');
  process.env.HEARTH_CONFIG = config;
}
await import('./real-hearth.js');
`;

before(async () => {
  ({ model, home, env, service, url } = await startServiceWithModel());
});

after(() => stopServiceWithModel({ model, home, service }, dirs));

test('hearth update --to a tarball made by npm pack stages it (dependencies linked, it has no lockfile) and switches to it', async () => {
  const folder = makeVersion('0.5.0-tarball', dirs);
  const packed = spawnSync('npm', ['pack', '--ignore-scripts', '--offline', '--silent', '--pack-destination', join(folder, '..')], { cwd: folder, encoding: 'utf8' });
  assert.equal(packed.status, 0, packed.stderr);
  const tarball = join(folder, '..', packed.stdout.trim().split('\n').pop()!);
  assert.match(tarball, /hearth-0\.5\.0-tarball\.tgz$/u);
  const report = await update(['--to', tarball]);
  assert.equal(report.code, 0, JSON.stringify(report, null, 2));
  assert.deepEqual(stagesOf(report), [
    ['staged', true],
    ['validated', true],
    ['promoted', true],
    ['restarted', true],
    ['healthy', true],
  ]);
  assert.match(stageOf(report, 'staged')!.message, /0\.5\.0-tarball in \S+versions\/0\.5\.0-tarball \(dependencies linked from the running version/u);
  assert.equal((await serviceStatus(env)).version, '0.5.0-tarball');
  assert.equal((await readyz()).status, 200);
});

test('an update whose gateway leaves the models component degraded (ok before) fails the health gate naming it, and rolls back', async () => {
  const before = { ...(await serviceStatus(env)), ...(await readyz()) };
  assert.equal(before.components.models, 'ok', 'the running version has its models');
  const report = await update(['--to', makeVersion('0.6.0-no-models', dirs, LOSES_ITS_MODELS)]);
  assert.equal(report.code, 1, JSON.stringify(report, null, 2));
  assert.deepEqual(stagesOf(report), [
    ['staged', true],
    ['validated', true],
    ['promoted', true],
    ['failed', false],
    ['rolled back', true],
  ]);
  assert.match(stageOf(report, 'failed')!.message, /readiness gate: not ready within 20 s \(\/readyz answered 200: models degraded \(was ok\) — no model configured for main/u);
  assert.match(stageOf(report, 'rolled back')!.message, new RegExp(`^back on ${before.version.replace(/[.]/gu, '\\.')} `, 'u'));
  assert.equal((await serviceStatus(env)).version, before.version);
  assert.deepEqual(await readyz(), { status: 200, components: before.components });
});
