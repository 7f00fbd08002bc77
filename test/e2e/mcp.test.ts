/**
 * MCP servers end to end: the real gateway starts a small stdio MCP server written with the SDK
 * (test/support/mcp/test-server.ts), offers its tools to the model as `<server>__<tool>`, calls
 * them in real turns, and restarts the server when it crashes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chatTurn } from '../support/chat-turn.js';
import { startModelGateway, stopModelGateway } from '../support/model-gateway.js';
import type { FakeModelServer } from '../support/fake-model-server.js';
import { REPO_ROOT, runCli, type TestGateway, testEnv, waitFor } from '../support/gateway-harness.js';

let model: FakeModelServer;
let gateway: TestGateway;
let home: string;
let counterFile: string;

before(async () => {
  ({ model, home, gateway } = await startModelGateway((dir) => {
    counterFile = join(dir, 'mcp-starts.txt');
    return {
      agents: { entries: { main: { default: true, tools: { allow: ['group:mcp', 'current_time'] } }, plain: {} } },
      mcp: {
        servers: {
          demo: { command: process.execPath, args: [join(REPO_ROOT, 'dist', 'test', 'support', 'mcp', 'test-server.js')], env: { MCP_TEST_COUNTER_FILE: counterFile } },
          ghost: { command: join(dir, 'no-such-mcp-server'), enabled: true },
        },
      },
    };
  }));
});

after(() => stopModelGateway({ model, home, gateway }));

interface ServerStatus {
  name: string;
  state: string;
  tools: number;
  restarts: number;
  lastError: string | null;
}

async function servers(): Promise<ServerStatus[]> {
  const result = await runCli(['status', '--json'], testEnv(home));
  assert.equal(result.code === 0 || result.code === 1, true, result.stderr);
  return (JSON.parse(result.stdout) as { mcp: { servers: ServerStatus[] } }).mcp.servers;
}

const demo = async () => (await servers()).find((server) => server.name === 'demo');

/** One turn in which the model calls `tool` with `args`: the result the model saw, the tools it was offered, the run's record. */
async function toolTurn(tool: string, args: unknown, agent = 'hearth') {
  model.script({ toolCalls: [{ name: tool, arguments: args }] });
  const turn = await chatTurn(gateway, model, `use ${tool}`, agent);
  return { seen: turn.seen, offered: turn.offered, call: turn.toolCalls[0]! };
}

test('an MCP server\'s tools are offered as <server>__<tool> and called in a real turn', async () => {
  await waitFor(async () => (await demo())?.state === 'ready', 'the demo MCP server to be ready');
  const { seen, offered, call } = await toolTurn('demo__add', { a: 2, b: 40 });
  assert.deepEqual(offered.filter((name) => name.startsWith('demo__')).sort(), ['demo__add', 'demo__crash', 'demo__echo', 'demo__fail', 'demo__hang']);
  assert.equal(seen, '42');
  assert.equal(call.outcome, 'ok');
  const failed = await toolTurn('demo__fail', {});
  assert.equal(failed.seen, 'failed on purpose');
  assert.equal(failed.call.outcome, 'error');
});

test('MCP tools stay under the tool policy: an agent on the coding profile is not offered them, and a call anyway is refused', async () => {
  const { seen, offered, call } = await toolTurn('demo__echo', { text: 'hi' }, 'hearth/plain');
  assert.ok(!offered.some((name) => name.startsWith('demo__')), offered.join(', '));
  assert.match(seen, /refused by tools\.profile/u);
  assert.equal(call.outcome, 'refused');
});

test('a server that cannot start is shown as restarting, with the reason, in status and /readyz', async () => {
  const ghost = await waitFor(async () => (await servers()).find((server) => server.name === 'ghost' && server.lastError !== null), 'the ghost server to fail');
  assert.equal(ghost.state, 'restarting');
  assert.match(ghost.lastError ?? '', /no-such-mcp-server/u);
  const ready = (await (await fetch(`${gateway.url}/readyz`)).json()) as { components: Record<string, { status: string; detail?: string }> };
  assert.equal(ready.components.mcp?.status, 'degraded');
  assert.match(ready.components.mcp?.detail ?? '', /ghost restarting/u);
  const human = await runCli(['status'], testEnv(home));
  assert.match(human.stdout, /^MCP {7}demo \(stdio\) ready, 5 tools, \d+ restarts$/mu);
  assert.match(human.stdout, /^MCP {7}ghost \(stdio\) restarting, 0 tools, \d+ restarts, next try in \d+ s \(.*no-such-mcp-server/mu);
});

test('a server that crashes is restarted with backoff, and its tools work again', async () => {
  const crashed = await toolTurn('demo__crash', {});
  assert.equal(crashed.call.outcome, 'error');
  assert.match(crashed.seen, /demo/u, `the error names the server: ${crashed.seen}`);
  await waitFor(async () => {
    const status = await demo();
    return status?.state === 'ready' && status.restarts >= 1;
  }, 'the demo server to be restarted', 15_000, 200);
  assert.equal(readFileSync(counterFile, 'utf8').trim().split('\n').length, 2, 'started twice: at the start and after the crash');
  const again = await toolTurn('demo__echo', { text: 'back again' });
  assert.equal(again.seen, 'back again');
});
