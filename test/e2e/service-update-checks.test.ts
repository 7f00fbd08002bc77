import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FakeModelServer } from '../support/fake-model-server.js';
import { runCli } from '../support/gateway-harness.js';
import { makeVersion, runUpdate, type Service, serviceStatus, stageOf, stagesOf, startServiceWithModel, stopServiceWithModel } from '../support/service-harness.js';

// What `hearth update` checks before and around a switch, end to end under a real supervisor:
// --check switching nothing, the sources it refuses, a doctor that finds errors, and the systemd
// unit kept intact. The sources it takes and the health gate are in service-update-gate.test.ts.

let model: FakeModelServer;
let home: string;
let env: Record<string, string>;
let service: Service;
const dirs: string[] = [];

const update = (args: string[], extraEnv: Record<string, string> = {}) => runUpdate(args, { ...env, ...extraEnv });

/** A bin whose doctor no longer accepts the config it is given (as a version with a stricter schema would). */
const REJECTS_THE_CONFIG = `import { readFileSync, writeFileSync } from 'node:fs';
if (process.argv[2] === 'doctor') {
  const config = JSON.parse(readFileSync(process.env.HEARTH_CONFIG, 'utf8'));
  writeFileSync(process.env.HEARTH_CONFIG, JSON.stringify({ ...config, gateway: { ...config.gateway, port: 'eighty' } }));
}
await import('./real-hearth.js');
`;

/** A bin whose gateway rewrites the user's systemd unit without one of its variables. */
const DROPS_A_UNIT_VARIABLE = `import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
if (process.argv[2] === 'gateway') {
  const unit = join(process.env.HOME, '.config', 'systemd', 'user', 'hearth.service');
  writeFileSync(unit, readFileSync(unit, 'utf8').split('\\n').filter((line) => !line.includes('HEARTH_TEST_TOKEN')).join('\\n'));
}
await import('./real-hearth.js');
`;

before(async () => {
  ({ model, home, env, service } = await startServiceWithModel());
});

after(() => stopServiceWithModel({ model, home, service }, dirs));

test('hearth update --check stages and validates a version and stops there: current and the running gateway are untouched', async () => {
  const before = await serviceStatus(env);
  const report = await update(['--to', makeVersion('0.1.5-checked', dirs), '--check']);
  assert.equal(report.code, 0, JSON.stringify(report, null, 2));
  assert.deepEqual(stagesOf(report), [
    ['staged', true],
    ['validated', true],
  ]);
  assert.ok(existsSync(join(home, 'versions', '0.1.5-checked', 'bin', 'hearth.js')), 'the version is staged for a later update');
  assert.equal(report.current, before.package, 'the report names the version that still runs');
  assert.equal(existsSync(join(home, 'versions', 'current')), false, 'no current link was made');
  const afterwards = await serviceStatus(env);
  assert.equal(afterwards.version, '0.1.0');
  assert.equal(afterwards.gatewayPid, before.gatewayPid, 'the same gateway process still runs');
  assert.equal(afterwards.restarts, before.restarts);
  assert.deepEqual(
    readdirSync(join(home, 'versions')).filter((name) => name.startsWith('.')),
    [],
    'neither a staging folder nor the copy of the state is left behind',
  );
});

test('hearth update refuses what it cannot stage with a message that says why, and switches nothing', async () => {
  const before = await serviceStatus(env);
  const missing = await update(['--to', join(home, 'no-such-folder')]);
  assert.equal(missing.code, 1);
  assert.deepEqual(stagesOf(missing), [['staged', false]]);
  assert.match(stageOf(missing, 'staged')!.message, /no-such-folder" is neither a folder, a file nor a version like 1\.2\.3\./u);

  const notes = join(home, 'notes.tgz');
  writeFileSync(notes, 'these are notes, not a package\n');
  const notTarball = await update(['--to', notes]);
  assert.equal(notTarball.code, 1);
  assert.match(stageOf(notTarball, 'staged')!.message, /notes\.tgz is not a package tarball \(.+\): give a folder, a tarball from `npm pack`, or a version like 1\.2\.3\./u);

  // A version is fetched with `npm pack hearth@<v>`; offline, npm's own refusal is what the stage says.
  const unknown = await update(['--to', '9.9.9-nowhere'], { npm_config_offline: 'true', npm_config_cache: join(home, 'npm-cache') });
  assert.equal(unknown.code, 1);
  assert.deepEqual(stagesOf(unknown), [['staged', false]]);
  assert.match(stageOf(unknown, 'staged')!.message, /npm pack hearth@9\.9\.9-nowhere failed: .*(ENOTCACHED|offline)/su);

  const afterwards = await serviceStatus(env);
  assert.equal(afterwards.gatewayPid, before.gatewayPid);
  assert.equal(afterwards.version, '0.1.0');
  assert.deepEqual(
    readdirSync(join(home, 'versions')).filter((name) => name.startsWith('.')),
    [],
    'no half-staged folder is left',
  );
});

test('an update whose doctor finds errors on the copy of the state stops at validated: nothing switched, the copy kept where it says', async () => {
  const before = await serviceStatus(env);
  const config = readFileSync(join(home, 'hearth.json5'), 'utf8');
  const report = await update(['--to', makeVersion('0.7.0-strict', dirs, REJECTS_THE_CONFIG)]);
  assert.equal(report.code, 1, JSON.stringify(report, null, 2));
  assert.deepEqual(stagesOf(report), [
    ['staged', true],
    ['validated', false],
  ]);
  const message = stageOf(report, 'validated')!.message;
  assert.match(message, /its doctor found errors on a copy of the state \(kept in \S+\): config: the config is invalid:/u);
  assert.match(message, /gateway\.port/u, 'the error says what is wrong');
  const copy = /kept in (\S+)\)/u.exec(message)![1]!;
  assert.ok(copy.startsWith(join(home, 'versions', '.validate-')), copy);
  assert.ok(existsSync(join(copy, 'state', 'hearth.sqlite')), 'the copy of the database is there to look at');
  assert.match(readFileSync(join(copy, 'hearth.json5'), 'utf8'), /eighty/u, 'with the config the doctor refused');
  assert.equal(readFileSync(join(home, 'hearth.json5'), 'utf8'), config, 'the real config is untouched');
  const afterwards = await serviceStatus(env);
  assert.equal(afterwards.version, before.version);
  assert.equal(afterwards.gatewayPid, before.gatewayPid, 'the running gateway was not stopped');
});

test('an update during which the systemd unit loses a variable names it (never its value) and puts the unit back', async () => {
  const unitPath = join(home, '.config', 'systemd', 'user', 'hearth.service');
  mkdirSync(join(unitPath, '..'), { recursive: true });
  writeFileSync(unitPath, '[Service]\nEnvironment=HEARTH_TEST_TOKEN=tok-value-never-printed\nEnvironment="TZ=Europe/Paris"\n');
  const installed = await runCli(['service', 'install'], env);
  assert.equal(installed.code, 0, installed.stderr);
  const unit = readFileSync(unitPath, 'utf8');
  assert.match(unit, /HEARTH_TEST_TOKEN=tok-value-never-printed/u);
  const report = await update(['--to', makeVersion('0.8.0-unit-editor', dirs, DROPS_A_UNIT_VARIABLE)]);
  assert.equal(report.code, 0, JSON.stringify(report, null, 2));
  assert.equal((await serviceStatus(env)).version, '0.8.0-unit-editor');
  const service = stageOf(report, 'service');
  assert.equal(service?.ok, false, JSON.stringify(report.stages));
  assert.match(service!.message, new RegExp(`${unitPath.replace(/[.]/gu, '\\.')} had lost HEARTH_TEST_TOKEN: restored the unit from before the update`, 'u'));
  assert.doesNotMatch(JSON.stringify(report) + report.stderr, /tok-value-never-printed/u, 'the value is never printed');
  assert.equal(readFileSync(unitPath, 'utf8'), unit, 'the unit is as it was installed');
});
