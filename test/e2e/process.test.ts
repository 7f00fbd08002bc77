import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startModelGateway, stopModelGateway } from '../support/model-gateway.js';
import type { FakeModelServer } from '../support/fake-model-server.js';
import { isAlive, waitGone } from '../support/processes.js';
import { runCli, type TestGateway, testEnv } from '../support/gateway-harness.js';

let model: FakeModelServer;
let gateway: TestGateway | undefined;
let home: string;

before(async () => {
  ({ model, home, gateway } = await startModelGateway({ agents: { defaults: { tools: { exec: { security: 'full' } } } } }));
});

after(() => stopModelGateway({ model, home, gateway }));

/** A turn of `user` in which the model starts `command` with the process tool; the pid the command wrote to `pidFile`. */
async function startInTurn(user: string, pidFile: string): Promise<number> {
  model.script({ toolCalls: [{ name: 'process', arguments: { action: 'start', command: `echo $$ > ${pidFile}; exec sleep 60` } }] });
  const response = await fetch(`${gateway!.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway!.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'hearth', user, messages: [{ role: 'user', content: 'start it' }] }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  const path = join(home, 'workspaces', 'main', pidFile);
  const deadline = Date.now() + 3000;
  while (!existsSync(path) || readFileSync(path, 'utf8').trim() === '') {
    assert.ok(Date.now() < deadline, `${pidFile} was not written`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Number(readFileSync(path, 'utf8'));
}

test('background processes end with their session\'s reset and with the gateway: none is left behind', async () => {
  const ada = await startInTurn('ada', 'ada.pid');
  const bob = await startInTurn('bob', 'bob.pid');
  assert.ok(isAlive(ada) && isAlive(bob), 'both run after their turns ended');
  const reset = await runCli(['sessions', 'reset', 'agent:main:openai:direct:ada'], { ...testEnv(home), HEARTH_GATEWAY_URL: gateway!.url });
  assert.equal(reset.code, 0, reset.stderr);
  assert.ok(await waitGone(ada, 5000), 'the reset session\'s process was killed');
  assert.ok(isAlive(bob), 'another session\'s process runs on');
  await gateway!.stop();
  gateway = undefined;
  assert.ok(await waitGone(bob, 5000), 'the gateway\'s stop killed it');
});
