/**
 * A fresh home: the first start writes commented AGENTS.md, SOUL.md and USER.md into the default
 * workspace; they change nothing in what the model is sent, and a later start never replaces a
 * file the user edited or brings back one the user deleted.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connectGateway } from '../../src/cli/gateway-client.js';
import { type FakeModelServer, fakeModelConfig, type RecordedRequest, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, startTestGateway, type TestGateway, waitFor } from '../support/gateway-harness.js';

let fake: FakeModelServer | undefined;
const homes: string[] = [];
before(async () => {
  fake = await startFakeModelServer();
});
after(async () => {
  await fake?.close();
  for (const home of homes) removeHome(home);
});

/** Sends one message and returns the system prompt the model received for it. */
async function systemPromptOf(gateway: TestGateway, text: string): Promise<string> {
  const client = await connectGateway(gateway.url, gateway.token);
  try {
    const before = fake!.requests.length;
    await client.call('chat.send', { sessionKey: 'agent:main:main', text, idempotencyKey: text });
    const request = await waitFor(
      () => fake!.requests.slice(before).find((candidate: RecordedRequest) => candidate.path.endsWith('/chat/completions')),
      'the model request',
    );
    const messages = (request.body as { messages: { role: string; content: unknown }[] }).messages;
    return messages.filter((message) => message.role === 'system').map((message) => JSON.stringify(message.content)).join('\n');
  } finally {
    client.close();
  }
}

test('a fresh home gets commented starter files in the default workspace, never overwritten', async () => {
  const home = makeHome();
  homes.push(home);
  const workspace = join(home, 'workspaces', 'main');
  let gateway: TestGateway | undefined;
  try {
    gateway = await startTestGateway({ home, config: fakeModelConfig(fake!) });
    assert.deepEqual(readdirSync(workspace).sort(), ['AGENTS.md', 'SOUL.md', 'USER.md']);
    for (const name of ['AGENTS.md', 'SOUL.md', 'USER.md']) assert.match(readFileSync(join(workspace, name), 'utf8'), /^<!--\n[\s\S]*-->\n$/);
    const untouched = await systemPromptOf(gateway, 'first');
    // The starter files are comments only: no section of theirs reaches the model (the memory contract names USER.md as a file, which is not its content).
    assert.doesNotMatch(untouched, /## (?:AGENTS|SOUL|USER)\.md|never sent to the model/);
    assert.equal(await gateway.stop(), 0);

    writeFileSync(join(workspace, 'AGENTS.md'), `${readFileSync(join(workspace, 'AGENTS.md'), 'utf8')}Always answer in French.\n`);
    rmSync(join(workspace, 'SOUL.md'));
    gateway = await startTestGateway({ home, config: fakeModelConfig(fake!) });
    assert.match(readFileSync(join(workspace, 'AGENTS.md'), 'utf8'), /Always answer in French\.\n$/);
    assert.equal(existsSync(join(workspace, 'SOUL.md')), false, 'a deleted starter file came back');
    const edited = await systemPromptOf(gateway, 'second');
    assert.match(edited, /Always answer in French\./);
    assert.doesNotMatch(edited, /never sent to the model/);
  } finally {
    await gateway?.stop();
  }
});
