/**
 * The gateway's own log, as a user reads it: `hearth logs` (filters, --json, readable lines,
 * --follow until Ctrl-C) from the file while the gateway runs or is stopped, the `logs.tail` WS
 * method with a cursor, and the line that says a turn interrupted by a crash was recovered.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { connectGateway, type GatewayClient } from '../../src/cli/gateway-client.js';
import { type FakeModelServer, fakeModelConfig, startFakeModelServer } from '../support/fake-model-server.js';
import { HEARTH_BIN, makeHome, removeHome, runCli, startTestGateway, type TestGateway, testEnv, waitFor } from '../support/gateway-harness.js';

interface LogRecord {
  level: number;
  msg: string;
  component?: string;
  runId?: string;
}

let fake: FakeModelServer | undefined;
const homes: string[] = [];
before(async () => {
  fake = await startFakeModelServer();
});
after(async () => {
  await fake?.close();
  for (const home of homes) removeHome(home);
});

function jsonLines(stdout: string): LogRecord[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as LogRecord);
}

test('a turn recovered after kill -9 is logged; hearth logs and logs.tail filter by component and level', async () => {
  const home = makeHome();
  homes.push(home);
  const env = testEnv(home);
  let gateway: TestGateway | undefined;
  let client: GatewayClient | undefined;
  try {
    fake!.script({ stall: true, afterText: 'half' });
    const requestsBefore = fake!.requests.length;
    gateway = await startTestGateway({ home, config: fakeModelConfig(fake!) });
    client = await connectGateway(gateway.url, gateway.token);
    const accepted = await client.call<{ runId: string }>('chat.send', { sessionKey: 'agent:main:main', text: 'hello', idempotencyKey: randomUUID() });
    await waitFor(() => fake!.requests.length > requestsBefore, 'the model to receive the turn');
    client.close();
    await gateway.kill();

    gateway = await startTestGateway({ home, config: fakeModelConfig(fake!) });
    client = await connectGateway(gateway.url, gateway.token);
    const tail = await waitFor(async () => {
      const page = await client!.call<{ entries: LogRecord[]; cursor: number }>('logs.tail', { component: 'turns' });
      return page.entries.some((entry) => entry.runId === accepted.runId) ? page : null;
    }, 'the recovered turn in logs.tail');
    const recovered = tail.entries.find((entry) => entry.runId === accepted.runId)!;
    assert.match(recovered.msg, /recovered/);
    assert.ok(tail.entries.every((entry) => entry.component === 'turns'), JSON.stringify(tail.entries));

    // With a cursor: only what was written since.
    const since = await client.call<{ entries: LogRecord[] }>('logs.tail', { after: tail.cursor, component: 'turns' });
    assert.ok(!since.entries.some((entry) => entry.runId === accepted.runId && /recovered/.test(entry.msg)), 'the cursor did not skip old lines');
    await assert.rejects(client.call('logs.tail', { level: 'loud' }), /level/);

    const cli = await runCli(['logs', '--json', '--component', 'turns'], env);
    assert.equal(cli.code, 0, cli.stderr);
    const lines = jsonLines(cli.stdout);
    assert.ok(lines.some((line) => line.runId === accepted.runId && /recovered/.test(line.msg)), cli.stdout);
    assert.ok(lines.every((line) => line.component === 'turns'));

    client.close();
    client = undefined;
    assert.equal(await gateway.stop(), 0);
    gateway = undefined;

    // The gateway is down: the file is still read; readable lines by default; --level filters.
    const readable = await runCli(['logs', '--limit', '5'], env);
    assert.equal(readable.code, 0, readable.stderr);
    assert.match(readable.stdout, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO {2}gateway\s+gateway stopped$/m);
    assert.ok(readable.stdout.trim().split('\n').length <= 5, readable.stdout);
    const warnings = await runCli(['logs', '--json', '--level', 'warn'], env);
    assert.equal(warnings.code, 0, warnings.stderr);
    assert.ok(jsonLines(warnings.stdout).every((line) => line.level >= 40), warnings.stdout);
    const bad = await runCli(['logs', '--level', 'loud'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--level must be one of trace, debug, info, warn, error, fatal/);
  } finally {
    client?.close();
    await gateway?.stop();
  }
});

test('hearth logs --follow prints new lines as the gateway writes them and stops on Ctrl-C', async () => {
  const home = makeHome();
  homes.push(home);
  let gateway: TestGateway | undefined;
  const follower = spawn(process.execPath, [HEARTH_BIN, 'logs', '--follow', '--json', '--component', 'gateway'], { env: testEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  follower.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  const exited = new Promise<number | null>((resolve) => follower.on('exit', (code) => resolve(code)));
  try {
    gateway = await startTestGateway({ home });
    await waitFor(() => /gateway listening/.test(stdout), 'the follower to print the gateway starting');
    assert.ok(jsonLines(stdout).every((line) => line.component === undefined || line.component === 'gateway'), stdout);
    follower.kill('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise((resolve) => { timer = setTimeout(resolve, 5000, 'still running after 5 s'); })]);
    clearTimeout(timer);
    assert.equal(code, 0);
  } finally {
    if (follower.exitCode === null && follower.signalCode === null) follower.kill('SIGKILL');
    await gateway?.stop();
  }
});
