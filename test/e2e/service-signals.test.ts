import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FakeModelServer } from '../support/fake-model-server.js';
import { GATEWAY_PROCESS_ENV, waitFor } from '../support/gateway-harness.js';
import { processAlive, type Service, serviceStatus, startServiceWithModel, stopServiceWithModel } from '../support/service-harness.js';

// Signals to `hearth service`, as systemd and a terminal send them: SIGHUP restarts the gateway
// without a failed request, SIGUSR1/SIGUSR2 change nothing, SIGTERM drains it and ends the service.

let model: FakeModelServer;
let home: string;
let env: Record<string, string>;
let service: Service;
let url = '';
let token = '';

const ask = (content: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', connection: 'close' },
    body: JSON.stringify({ model: 'hearth', user: 'ada', messages: [{ role: 'user', content }] }),
  });

before(async () => {
  ({ model, home, env, service, url, token } = await startServiceWithModel());
});

after(() => stopServiceWithModel({ model, home, service }));

test('SIGHUP to the service restarts its gateway: a new process, the old one gone, every turn sent meanwhile answered', async () => {
  const before = await serviceStatus(env);
  assert.ok(before.gatewayPid !== null && processAlive(before.gatewayPid));
  const failures: string[] = [];
  let answered = 0;
  let sending = true;
  const client = (async () => {
    for (let n = 0; sending; n++) {
      try {
        const response = await ask(`turn ${n}`);
        const body = (await response.json()) as { choices?: { message: { content: string } }[] };
        if (response.status === 200 && body.choices?.[0]?.message.content === `echo: turn ${n}`) answered++;
        else failures.push(`turn ${n}: ${response.status} ${JSON.stringify(body).slice(0, 200)}`);
      } catch (error) {
        failures.push(`turn ${n}: ${String(error)}`);
      }
    }
  })();
  await waitFor(() => answered >= 3, 'turns before the restart');
  service.child.kill('SIGHUP');
  await waitFor(async () => {
    const now = await serviceStatus(env);
    return now.gatewayPid !== null && now.gatewayPid !== before.gatewayPid;
  }, 'a new gateway process', 30_000);
  await waitFor(() => !processAlive(before.gatewayPid!), 'the old gateway to exit', 30_000);
  const afterRestart = answered;
  await waitFor(() => answered >= afterRestart + 3, 'turns answered by the new gateway', 30_000);
  sending = false;
  await client;
  assert.deepEqual(failures, [], `${answered} answered`);
  assert.match(service.output(), /SIGHUP: restarting the gateway/u);
  assert.equal((await serviceStatus(env)).version, '0.1.0');
});

test('the gateway the service starts runs with the malloc setting that gives large buffers back (GATEWAY_PROCESS_ENV)', async () => {
  const { gatewayPid } = await serviceStatus(env);
  assert.ok(gatewayPid !== null);
  const environment = readFileSync(`/proc/${gatewayPid}/environ`, 'utf8').split('\0');
  for (const [name, value] of Object.entries(GATEWAY_PROCESS_ENV)) assert.ok(environment.includes(`${name}=${value}`), `${name}=${value} is missing`);
});

test('SIGUSR1 and SIGUSR2 to the service leave its gateway running as it was', async () => {
  const before = await serviceStatus(env);
  service.child.kill('SIGUSR2');
  service.child.kill('SIGUSR1');
  await waitFor(() => (service.output().match(/SIGUSR[12] ignored/gu) ?? []).length === 2, 'the service to log both signals');
  assert.equal((await ask('after SIGUSR2')).status, 200);
  const afterwards = await serviceStatus(env);
  assert.equal(afterwards.gatewayPid, before.gatewayPid, 'the same gateway process answers');
  assert.equal(afterwards.restarts, before.restarts, 'it was not restarted');
  assert.doesNotMatch(service.output(), /the gateway exited|Debugger listening/u);
});

test('SIGTERM to the service drains the gateway and ends the service with code 0, leaving no process and no socket behind', async () => {
  const { gatewayPid } = await serviceStatus(env);
  assert.ok(gatewayPid !== null && processAlive(gatewayPid));
  service.child.kill('SIGTERM');
  assert.equal(await service.exited, 0, service.output().slice(-2000));
  assert.equal(processAlive(gatewayPid), false, 'the gateway process is gone');
  assert.equal(existsSync(join(home, 'state', 'service.json')), false, 'the supervisor no longer says it runs');
  assert.equal(existsSync(join(home, 'state', 'service.sock')), false);
  assert.equal((await serviceStatus(env)).running, false);
  await assert.rejects(fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) }), 'nothing listens on its port any more');
});
