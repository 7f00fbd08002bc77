import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chatTurn } from '../support/chat-turn.js';
import { startModelGateway, stopModelGateway } from '../support/model-gateway.js';
import type { FakeModelServer } from '../support/fake-model-server.js';
import type { TestGateway } from '../support/gateway-harness.js';

let model: FakeModelServer;
let gateway: TestGateway;
let home: string;

before(async () => {
  ({ model, home, gateway } = await startModelGateway({
    agents: {
      defaults: { tools: { exec: { security: 'allowlist', allow: ['echo *'] } } },
      entries: { main: { default: true }, plain: { tools: { exec: { security: 'deny' } } } },
    },
  }));
});

after(() => stopModelGateway({ model, home, gateway }));

/** One turn in which the model calls exec with `command`: the tool result the model saw, the tools it was offered, and the response's record. */
async function execTurn(command: string, agent = 'hearth') {
  model.script({ toolCalls: [{ name: 'exec', arguments: { command } }] });
  const turn = await chatTurn(gateway, model, `run ${command}`, agent);
  return { seen: turn.seen, offered: turn.offered, record: { toolCalls: turn.toolCalls } };
}

test('exec in a real turn: an allowed command runs in the workspace and its output goes back to the model', async () => {
  const { seen, offered, record } = await execTurn('echo hello from the workspace');
  assert.ok(offered.includes('exec'), `exec is offered when allowed: ${offered.join(', ')}`);
  assert.ok(!offered.includes('web_fetch'), 'the default profile ("coding") does not offer a tool that reaches out');
  assert.match(seen, /^Exit code 0 after \d+ ms\.\nhello from the workspace\n$/u);
  assert.equal(record.toolCalls[0]?.name, 'exec');
  assert.equal(record.toolCalls[0]?.outcome, 'ok');
  assert.match(record.toolCalls[0]?.result ?? '', /hello from the workspace/u);
});

test('exec in a real turn: a command outside the allowlist is refused with the rule, and nothing runs', async () => {
  const { seen, record } = await execTurn('touch pwned');
  assert.match(seen, /^Refused by tools\.exec\.allow: "touch pwned" matches no pattern of tools\.exec\.allow\. Allowed: "echo \*"\./u);
  assert.match(record.toolCalls[0]?.result ?? '', /Refused by tools\.exec\.allow/u);
  assert.equal(record.toolCalls[0]?.outcome, 'refused');
  assert.equal(record.toolCalls[0]?.refusedBy, 'tools.exec.allow');
  const chained = await execTurn('echo hi; touch pwned');
  assert.match(chained.seen, /^Refused by tools\.exec\.allow: The command has ";"/u);
  assert.equal(existsSync(join(home, 'workspaces', 'main', 'pwned')), false);
  const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${gateway.token}` } })).text();
  assert.match(metrics, /^hearth_tool_calls_total\{tool="exec",outcome="refused"\} 2$/mu, 'refusals are counted apart from failures');
  assert.match(metrics, /^hearth_tool_calls_total\{tool="exec",outcome="ok"\} 1$/mu);
});

test('exec under tools.exec.security "deny": not offered, and a call to it anyway is refused naming that setting', async () => {
  const { seen, offered, record } = await execTurn('echo hi', 'hearth/plain');
  assert.ok(!offered.includes('exec') && !offered.includes('process'), offered.join(', '));
  assert.match(seen, /^The tool "exec" is not allowed for agent "plain": refused by tools\.exec\.security\.$/u);
  assert.equal(record.toolCalls[0]?.outcome, 'refused');
  assert.equal(record.toolCalls[0]?.refusedBy, 'tools.exec.security');
});
