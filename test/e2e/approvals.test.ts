/**
 * Exec approvals end to end: a real turn whose command needs the operator (tools.exec.ask
 * "on-miss") waits, durably, until `hearth approvals` answers it, or it expires.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ToolCallShown } from '../support/chat-turn.js';
import { startModelGateway, stopModelGateway, withFakeModel } from '../support/model-gateway.js';
import type { FakeModelServer, RecordedRequest } from '../support/fake-model-server.js';
import { runCli, startTestGateway, type TestGateway, testEnv, waitFor } from '../support/gateway-harness.js';

let model: FakeModelServer;
let gateway: TestGateway;
let home: string;

const CONFIG = {
  agents: {
    defaults: { tools: { exec: { security: 'allowlist', allow: ['echo *'], ask: 'on-miss' } } },
    entries: { main: { default: true }, quick: { tools: { exec: { askTimeoutMs: 1000 } } } },
  },
};

before(async () => {
  ({ model, home, gateway } = await startModelGateway(CONFIG));
});

after(() => stopModelGateway({ model, home, gateway }));

interface ApprovalShown {
  id: string;
  command: string;
  status: string;
  agentId: string;
  decidedBy: string | null;
}

const workspaceFile = (name: string) => join(home, 'workspaces', 'main', name);
const cli = (...args: string[]) => runCli(args, testEnv(home));

/** Starts a turn in which the model runs `command` (the response arrives once the command is decided). */
function startTurn(command: string, agent = 'hearth') {
  const mark = model.requests.length;
  model.script({ toolCalls: [{ name: 'exec', arguments: { command } }] });
  const response = fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: agent, user: 'ada', messages: [{ role: 'user', content: `run ${command}` }] }),
  });
  // A gateway killed mid-turn fails the request before anyone awaits it: that is expected, not unhandled.
  response.catch(() => undefined);
  return {
    async done() {
      const answer = await response;
      assert.equal(answer.status, 200, await answer.clone().text());
      const body = (await answer.json()) as { hearth: { toolCalls: ToolCallShown[] } };
      const calls = model.requests.slice(mark).filter((request: RecordedRequest) => request.path === '/v1/chat/completions');
      const messages = (calls.at(-1)?.body as { messages: { role: string; content: string }[] } | undefined)?.messages ?? [];
      return { seen: messages.findLast((message) => message.role === 'tool')?.content ?? '', call: body.hearth.toolCalls[0]! };
    },
  };
}

async function listed(all = false): Promise<ApprovalShown[]> {
  const result = await cli('approvals', 'list', '--json', ...(all ? ['--all'] : []));
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as ApprovalShown[];
}

const waitPending = (command: string) => waitFor(async () => (await listed()).find((item) => item.command === command), `an approval request for "${command}"`);

test('a command outside the allowlist waits for the operator, and runs once `hearth approvals approve` lets it', async () => {
  const turn = startTurn('touch approved.txt');
  const pending = await waitPending('touch approved.txt');
  assert.equal(existsSync(workspaceFile('approved.txt')), false, 'nothing runs before the answer');
  const human = await cli('approvals', 'list');
  assert.match(human.stdout, new RegExp(`^${pending.id}  main  exec: touch approved\\.txt  in \\.  \\[waiting, \\d+ min left\\]`, 'mu'));

  const approve = await cli('approvals', 'approve', pending.id);
  assert.equal(approve.code, 0, approve.stderr);
  assert.match(approve.stdout, new RegExp(`^Approved ${pending.id}: touch approved\\.txt\\.`, 'u'));
  const { seen, call } = await turn.done();
  assert.match(seen, /^Exit code 0 after \d+ ms\./u);
  assert.equal(existsSync(workspaceFile('approved.txt')), true);
  assert.equal(call.outcome, 'ok');
  assert.deepEqual(call.approval, { id: pending.id, decision: 'approved', by: 'cli' });
  const again = await cli('approvals', 'approve', pending.id);
  assert.notEqual(again.code, 0, 'an answered request cannot be answered again');
  assert.match(again.stderr, /already approved \(by cli\)/u);
});

test('"always" adds the command to the allowed ones: the next time it runs without asking', async () => {
  const first = startTurn('touch always.txt');
  const pending = await waitPending('touch always.txt');
  assert.equal((await cli('approvals', 'approve', pending.id, '--always')).code, 0);
  assert.equal((await first.done()).call.outcome, 'ok');
  const second = await startTurn('touch always.txt').done();
  assert.equal(second.call.outcome, 'ok');
  assert.equal(second.call.approval, undefined, 'no approval was needed');
  assert.equal((await listed(true)).filter((item) => item.command === 'touch always.txt').length, 1);
});

test('a denied command does not run; the agent is told, and the run and /metrics count it as denied', async () => {
  const turn = startTurn('touch denied.txt');
  const pending = await waitPending('touch denied.txt');
  const deny = await cli('approvals', 'deny', pending.id);
  assert.equal(deny.code, 0, deny.stderr);
  const { seen, call } = await turn.done();
  assert.match(seen, new RegExp(`^Not run: the operator denied it \\(approval ${pending.id}, by cli\\)\\.`, 'u'));
  assert.equal(call.outcome, 'denied');
  assert.equal(existsSync(workspaceFile('denied.txt')), false);
  const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${gateway.token}` } })).text();
  assert.match(metrics, /^hearth_tool_calls_total\{tool="exec",outcome="denied"\} 1$/mu);
  assert.match(metrics, /^hearth_tool_approvals_total\{tool="exec",decision="denied"\} 1$/mu);
  assert.match(metrics, /^hearth_tool_approvals_total\{tool="exec",decision="approved"\} 2$/mu, 'the two approved earlier');
});

test('an unanswered request expires as denied (tools.exec.askTimeoutMs), and stays listed as expired', async () => {
  const started = Date.now();
  const { seen, call } = await startTurn('touch late.txt', 'hearth/quick').done();
  assert.ok(Date.now() - started < 8000, 'the turn did not wait past the expiry');
  assert.match(seen, /^Not run: nobody answered approval \w{6} within 1 s, so it counts as denied\./u);
  assert.equal(call.outcome, 'denied');
  assert.equal(call.approval?.decision, 'expired');
  const expired = (await listed(true)).find((item) => item.command === 'touch late.txt');
  assert.equal(expired?.status, 'expired');
  assert.equal(expired?.decidedBy, 'expiry');
});

test('a pending request survives a gateway crash: after the restart it is still listed, and approving it runs the recovered turn', async () => {
  // The turn asks once before the crash and once more when it runs again after the restart.
  model.script({ toolCalls: [{ name: 'exec', arguments: { command: 'touch after-restart.txt' } }] });
  const turn = startTurn('touch after-restart.txt');
  const pending = await waitPending('touch after-restart.txt');
  await gateway.kill();
  await turn.done().catch(() => undefined);
  gateway = await startTestGateway({ home, config: withFakeModel(model, CONFIG) });
  assert.deepEqual((await listed()).map((item) => item.id), [pending.id], 'the same request, still pending');
  await waitFor(() => /approval \w+ requested|turn recovered/u.test(gateway.output()), 'the turn to be recovered');
  assert.equal((await cli('approvals', 'approve', pending.id)).code, 0);
  await waitFor(() => existsSync(workspaceFile('after-restart.txt')), 'the approved command to run in the recovered turn');
  assert.equal((await listed(true)).filter((item) => item.command === 'touch after-restart.txt').length, 1, 'one request across the restart');
});
