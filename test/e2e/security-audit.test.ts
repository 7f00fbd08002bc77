/**
 * `hearth security audit`: a home set up with every exposure the audit knows, then fixed where
 * `--fix` can, against a fresh home with nothing to report.
 */
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { makeHome, REPO_ROOT, removeHome, runCli, testEnv } from '../support/gateway-harness.js';

const homes: string[] = [];
after(() => {
  for (const home of homes) removeHome(home);
});

interface Report {
  findings: { check: string; level: string; subject: string; message: string; fixed?: boolean }[];
  high: number;
}

function exposedHome(): string {
  const home = makeHome();
  homes.push(home);
  writeFileSync(
    join(home, 'hearth.json5'),
    JSON.stringify({
      gateway: { bind: 'lan', auth: { token: 'shorttoken1' } },
      agents: { defaults: { tools: { exec: { security: 'full' } } } },
      channels: { telegram: { botToken: '123456:literal-token-in-the-file', dmPolicy: 'open', allowFrom: ['*'] } },
    }),
  );
  mkdirSync(join(home, 'credentials'), { mode: 0o755 });
  writeFileSync(join(home, 'credentials', 'gateway-token'), 'x'.repeat(40), { mode: 0o644 });
  chmodSync(join(home, 'credentials'), 0o755);
  cpSync(join(REPO_ROOT, 'test', 'fixtures', 'skills', 'malicious'), join(home, 'workspaces', 'main', 'skills', 'malicious'), { recursive: true });
  return home;
}

test('every exposure is reported with its level and fix; exit 1 on a high one', async () => {
  const home = exposedHome();
  const result = await runCli(['security', 'audit', '--json'], testEnv(home));
  assert.equal(result.code, 1, result.stderr);
  const report = JSON.parse(result.stdout) as Report;
  const byCheck = (check: string) => report.findings.filter((finding) => finding.check === check);
  assert.equal(byCheck('exec.host-full')[0]?.level, 'high');
  assert.equal(byCheck('exec.host-full')[0]?.subject, 'agents.main.tools.exec');
  assert.equal(byCheck('channels.open-dm')[0]?.subject, 'channels.telegram.dmPolicy');
  assert.match(byCheck('gateway.weak-token')[0]?.message ?? '', /listens on lan with a short token \(11 characters\)/u);
  assert.match(byCheck('config.clear-credentials')[0]?.message ?? '', /botToken/u);
  assert.deepEqual(byCheck('files.permissions').map((finding) => [finding.subject.replace(home, '~'), finding.level]), [
    ['~/credentials', 'high'],
    ['~/credentials/gateway-token', 'high'],
    ['~/hearth.json5', 'medium'],
  ]);
  const skill = byCheck('skills.risk')[0];
  assert.equal(skill?.level, 'high');
  assert.match(skill?.message ?? '', /skill "[a-z-]+" \(workspace\) does more than it declares: .*\.(js|sh|py|md):\d+/u);
  assert.equal(report.findings[0]?.level, 'high', 'the worst first');

  const human = await runCli(['security', 'audit'], testEnv(home));
  assert.match(human.stdout, /^Security audit: \d+ high, \d+ medium$/mu);
  assert.match(human.stdout, /^HIGH {3}agents\.main\.tools\.exec\n {7}any command the model chooses runs on this machine/mu);
  assert.match(human.stderr, /high finding\(s\): fix them/u);
});

test('--fix tightens the permissions of credentials and state; the next audit no longer reports them', async () => {
  const home = exposedHome();
  const fixed = JSON.parse((await runCli(['security', 'audit', '--json', '--fix'], testEnv(home))).stdout) as Report;
  assert.ok(fixed.findings.filter((finding) => finding.check === 'files.permissions').every((finding) => finding.fixed === true));
  assert.equal(statSync(join(home, 'credentials', 'gateway-token')).mode & 0o777, 0o600);
  assert.equal(statSync(join(home, 'credentials')).mode & 0o777, 0o700);
  const again = JSON.parse((await runCli(['security', 'audit', '--json'], testEnv(home))).stdout) as Report;
  assert.deepEqual(again.findings.filter((finding) => finding.check === 'files.permissions'), []);
});

test('a fresh home has nothing to report and exits 0', async () => {
  const home = makeHome();
  homes.push(home);
  const result = await runCli(['security', 'audit'], testEnv(home));
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.equal(result.stdout, 'Security audit: nothing found.\n');
});
