import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { GATEWAY_PROCESS_ENV, HEARTH_BIN, makeHome, removeHome, testEnv, waitFor } from '../support/gateway-harness.js';

test('`hearth gateway` run as a command (bin/hearth.js by its first line) has the malloc setting that gives large buffers back', async (t) => {
  const home = makeHome();
  t.after(() => removeHome(home));
  const child = spawn(HEARTH_BIN, ['gateway', '--port', '0'], { env: testEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.after(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  await waitFor(() => output.includes('Hearth is running at'), 'the gateway to start');
  const environment = readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
  for (const [name, value] of Object.entries(GATEWAY_PROCESS_ENV)) assert.ok(environment.includes(`${name}=${value}`), `${name}=${value} is missing: ${output}`);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, output);
});
