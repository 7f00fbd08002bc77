/**
 * `hearth chat` as a user runs it: replies rendered as Markdown for the terminal (or as written
 * when the output is not a terminal), and an exit code that says when a turn failed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { type FakeModelServer, fakeModelConfig, startFakeModelServer } from '../support/fake-model-server.js';
import { HEARTH_BIN, removeHome, runCli, startTestGateway, type TestGateway, testEnv, waitFor } from '../support/gateway-harness.js';

const REPLY = '# Plan\n\nSome **bold** words and `code`.\n\n- one\n- two\n';

let fake: FakeModelServer | undefined;
let gateway: TestGateway | undefined;
before(async () => {
  fake = await startFakeModelServer();
  gateway = await startTestGateway({ config: fakeModelConfig(fake) });
});
after(async () => {
  await gateway?.stop();
  await fake?.close();
  if (gateway) removeHome(gateway.home);
});

const env = (extra: Record<string, string> = {}) => testEnv(gateway!.home, { HEARTH_GATEWAY_URL: gateway!.url, ...extra });

test('hearth chat renders the reply as Markdown for the terminal', async () => {
  fake!.script({ text: REPLY, chunkSize: 5 });
  const result = await runCli(['chat', '--markdown', '--session', 'agent:main:cli:direct:md'], env({ FORCE_COLOR: '1' }), 'plan it\n/exit\n');
  assert.equal(result.code, 0, result.stderr);
  const reply = result.stdout.slice(result.stdout.indexOf('\n') + 1);
  assert.ok(reply.includes('\x1b[1mbold'), `no bold style in ${JSON.stringify(reply)}`);
  const plain = reply.replace(/\x1b\[[0-9;]*m/g, '');
  assert.match(plain, /^Plan$/m);
  assert.match(plain, /Some bold words and code\./);
  assert.doesNotMatch(plain, /\*\*|`|^# /m);
});

test('hearth chat prints the Markdown as written when stdout is not a terminal', async () => {
  fake!.script({ text: REPLY, chunkSize: 5 });
  const result = await runCli(['chat', '--session', 'agent:main:cli:direct:plain'], env(), 'plan it\n/exit\n');
  assert.equal(result.code, 0, result.stderr);
  assert.ok(result.stdout.includes(REPLY), result.stdout);
  assert.doesNotMatch(result.stdout, /\x1b\[/);
});

test('hearth chat exits 1 when a turn failed, saying so', async () => {
  fake!.script({ status: 400, body: { error: { message: 'the model refused', type: 'invalid_request_error' } } });
  const result = await runCli(['chat', '--session', 'agent:main:cli:direct:fail'], env(), 'this fails\n/exit\n');
  assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stderr, /\[error\]/);
  assert.match(result.stderr, /1 of 1 turn failed/);
});

test('a reply stopped with Ctrl-C is not a failure: hearth chat exits 0', async () => {
  fake!.script({ stall: true, afterText: 'half an answ' });
  const chat = spawn(process.execPath, [HEARTH_BIN, 'chat', '--session', 'agent:main:cli:direct:stop'], { env: env(), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  chat.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  chat.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  try {
    chat.stdin.write('tell me everything\n');
    await waitFor(() => stdout.includes('half an answ'), 'the start of the reply');
    chat.kill('SIGINT');
    await waitFor(() => stderr.includes('[stopped]'), 'the reply to stop');
    chat.stdin.end('/exit\n');
    await waitFor(() => chat.exitCode !== null || chat.signalCode !== null, 'hearth chat to exit');
    assert.equal(chat.exitCode, 0, stderr);
    assert.doesNotMatch(stderr, /failed/);
  } finally {
    if (chat.exitCode === null && chat.signalCode === null) chat.kill('SIGKILL');
  }
});
