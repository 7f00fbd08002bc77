/**
 * Plugins end to end: the real gateway loads the fixture plugins (test/fixtures/plugins), each in
 * its own worker thread; a plugin's tool and hooks act in real turns, and plugins that throw at
 * load or keep crashing are quarantined while the gateway and the CLI carry on.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chatTurn } from '../support/chat-turn.js';
import { startModelGateway, stopModelGateway } from '../support/model-gateway.js';
import type { FakeModelServer } from '../support/fake-model-server.js';
import { REPO_ROOT, runCli, type TestGateway, testEnv, waitFor } from '../support/gateway-harness.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'plugins');

let model: FakeModelServer;
let gateway: TestGateway;
let home: string;

before(async () => {
  ({ model, home, gateway } = await startModelGateway(
    {
      agents: { defaults: { tools: { allow: ['group:plugins', 'exec', 'current_time'], exec: { security: 'full' } } } },
      plugins: { entries: { shouter: { config: { greeting: 'hello' } }, webhook: { config: { greeting: 'hi from config' } } } },
    },
    (dir) => {
      for (const name of ['shouter', 'throws-at-load', 'crashes-later', 'webhook']) cpSync(join(FIXTURES, name), join(dir, 'plugins', name), { recursive: true });
    },
  ));
});

after(() => stopModelGateway({ model, home, gateway }));

interface PluginShown {
  id: string;
  state: string;
  restarts: number;
  lastError: string | null;
  quarantinedTo: string | null;
  registered: { tools: string[]; hooks: string[] };
}

async function plugins(): Promise<PluginShown[]> {
  const result = await runCli(['plugins', 'list', '--json'], testEnv(home));
  assert.equal(result.code, 0, result.stderr);
  return (JSON.parse(result.stdout) as { plugins: PluginShown[] }).plugins;
}

async function turn(toolCalls: { name: string; arguments: unknown }[]) {
  model.script({ toolCalls }, { text: 'done' });
  return chatTurn(gateway, model, 'go');
}

test('a plugin that throws at load is quarantined with its reason; the others run, and the gateway is ready', async () => {
  const listed = await plugins();
  const byId = Object.fromEntries(listed.map((plugin) => [plugin.id, plugin]));
  assert.equal(byId.shouter?.state, 'running');
  assert.deepEqual(byId.shouter?.registered, { tools: ['shout'], hooks: ['before_tool_call', 'message_sending'] });
  assert.equal(byId['throws-at-load']?.state, 'quarantined');
  assert.match(byId['throws-at-load']?.lastError ?? '', /boom at load/u);
  const moved = byId['throws-at-load']?.quarantinedTo ?? '';
  assert.ok(moved.startsWith(join(home, 'plugins', '.quarantine', 'throws-at-load-')), moved);
  assert.match(readFileSync(join(moved, 'reason.txt'), 'utf8'), /boom at load/u);
  assert.equal(existsSync(join(home, 'plugins', 'throws-at-load')), false);
  const ready = await fetch(`${gateway.url}/readyz`);
  assert.equal(ready.status, 200, 'degraded, not down');
  const body = (await ready.json()) as { components: Record<string, { status: string; detail?: string }> };
  assert.equal(body.components.plugins?.status, 'degraded');
  assert.match(gateway.output(), /shouter ready \(greeting: hello\)/u, 'api.config and api.log reach the plugin and back');
});

test('a plugin\'s tool, its before_tool_call refusal and its message_sending rewrite act in a real turn', async () => {
  const result = await turn([
    { name: 'plugin__shouter__shout', arguments: { text: 'hello there' } },
    { name: 'exec', arguments: { command: 'echo hi' } },
  ]);
  const [shout, exec] = result.toolCalls;
  assert.equal(shout?.result, 'HELLO THERE');
  assert.equal(exec?.outcome, 'refused');
  assert.equal(exec?.refusedBy, 'plugin shouter');
  assert.match(exec?.result ?? '', /^Refused by the plugin "shouter": no shell today$/u);
  assert.equal(result.reply, 'done [shouted]');
});

test('a plugin\'s HTTP routes are served at /plugins/<id>/<path>, with the gateway\'s token only', async () => {
  assert.equal((await fetch(`${gateway.url}/plugins/webhook/status`)).status, 401, 'no token, no route');
  const auth = { authorization: `Bearer ${gateway.token}` };
  const status = await fetch(`${gateway.url}/plugins/webhook/status`, { headers: auth });
  assert.equal(status.status, 200);
  assert.match(status.headers.get('content-type') ?? '', /application\/json/u);
  assert.deepEqual(await status.json(), { ok: true, plugin: 'webhook', greeting: 'hi from config' });
  const echo = await fetch(`${gateway.url}/plugins/webhook/echo?n=3`, { method: 'POST', headers: auth, body: 'quiet words' });
  assert.equal(echo.status, 200);
  assert.equal(await echo.text(), 'QUIET WORDS');
  assert.equal(echo.headers.get('x-n'), '3');
  const boom = await fetch(`${gateway.url}/plugins/webhook/boom`, { headers: auth });
  assert.equal(boom.status, 500);
  assert.match(await boom.text(), /webhook/u);
  assert.equal((await fetch(`${gateway.url}/plugins/webhook/nothing-here`, { headers: auth })).status, 404);
});

test('a plugin that keeps crashing is restarted, then quarantined; the CLI and the other plugins keep working', async () => {
  for (let crash = 0; crash < 3; crash++) {
    await turn([{ name: 'plugin__crashes-later__crash', arguments: {} }]);
    await waitFor(async () => {
      const plugin = (await plugins()).find((item) => item.id === 'crashes-later');
      return plugin && (plugin.state === 'quarantined' || (plugin.state === 'running' && plugin.restarts === crash + 1));
    }, `crash ${crash + 1} to be handled`);
  }
  const crashed = (await plugins()).find((plugin) => plugin.id === 'crashes-later');
  assert.equal(crashed?.state, 'quarantined');
  assert.equal(crashed?.restarts, 2);
  assert.match(crashed?.lastError ?? '', /crash later/u);
  const human = await runCli(['plugins', 'list', '--health'], testEnv(home));
  assert.equal(human.code, 0);
  assert.match(human.stdout, /^crashes-later 1\.0\.0 {2}quarantined → .*\.quarantine\/crashes-later-/mu);
  assert.match(human.stdout, /^shouter 1\.0\.0 {2}running\n {2}restarts 0\n {2}registered: tools shout; hooks before_tool_call, message_sending$/mu);
  assert.equal((await turn([{ name: 'plugin__shouter__shout', arguments: { text: 'still here' } }])).toolCalls[0]?.result, 'STILL HERE');
  assert.equal((await runCli(['status'], testEnv(home))).code, 0, 'the CLI is unaffected');
  assert.deepEqual(readdirSync(join(home, 'plugins', '.quarantine')).map((name) => name.replace(/-\d{4}-.*$/u, '')).sort(), ['crashes-later', 'throws-at-load']);
});

test('without a gateway, hearth plugins list shows the disk: manifests and the quarantine with reasons', async () => {
  await gateway.stop();
  const result = await runCli(['plugins', 'list'], testEnv(home));
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^The gateway is not running: plugins as found on disk\.$/mu);
  assert.match(result.stdout, /^shouter 1\.0\.0 {2}stopped$/mu);
  assert.match(result.stdout, /^quarantined {2}.*throws-at-load-.*: .*boom at load/mu);
});
