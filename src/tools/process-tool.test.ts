import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isAlive } from '../../test/support/processes.js';
import type { ToolContext } from '../contracts/tool.js';
import type { ExecPolicy } from './exec-policy.js';
import { createProcessTable } from './process-table.js';
import { createProcessTool } from './process-tool.js';

const FULL: ExecPolicy = { security: 'full', allow: [], timeoutMs: 10_000, sandbox: 'off', network: false, ask: 'off', askTimeoutMs: 600_000 };

async function until(check: () => boolean, what: string, withinMs = 3000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!check()) {
    assert.ok(Date.now() < deadline, `not within ${withinMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function withProcesses(run: (tools: { workspace: string; table: ReturnType<typeof createProcessTable>; call: (args: object, sessionKey?: string, policy?: ExecPolicy) => Promise<string> }) => Promise<void>, limits = {}) {
  const workspace = realpathSync(mkdtempSync(join(tmpdir(), 'hearth-process-')));
  const table = createProcessTable(limits);
  const call = async (args: object, sessionKey = 'agent:main:a', policy = FULL) => {
    const context: ToolContext = { workspaceDir: workspace, agentId: 'main', sessionKey, runId: 'r1', signal: new AbortController().signal, now: () => new Date() };
    return (await createProcessTool(table, () => policy).execute(args, context)).content;
  };
  try {
    await run({ workspace, table, call });
  } finally {
    await table.stopAll();
    rmSync(workspace, { recursive: true, force: true });
  }
}

test('a background process: started, polled for its new output, sent input, killed with what it started', () =>
  withProcesses(async ({ workspace, call }) => {
    assert.match(await call({ action: 'start', command: 'echo ready; sleep 60 & echo $! > child.pid; cat' }), /^Started p1: echo ready/u);
    await until(() => existsSync(join(workspace, 'child.pid')) && readFileSync(join(workspace, 'child.pid'), 'utf8').trim() !== '', 'the child pid written');
    /** Polls until a line of output is `line`; every poll's answer. */
    const pollUntil = async (line: string) => {
      const polls: string[] = [];
      for (let tries = 0; tries < 100 && !polls.some((answer) => answer.split('\n').slice(1).includes(line)); tries++) {
        polls.push(await call({ action: 'poll', id: 'p1' }));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return polls.at(-1) ?? '';
    };
    assert.match(await pollUntil('ready'), /^p1 \(running for \d+ s\): echo ready.*\nready\n$/u);
    assert.match(await call({ action: 'poll', id: 'p1' }), /\(no new output\)$/u, 'a poll returns only what is new');
    assert.equal(await call({ action: 'write', id: 'p1', input: 'hello cat\n' }), 'Sent 10 characters to p1.');
    assert.match(await pollUntil('hello cat'), /^p1 \(running for \d+ s\).*\nhello cat\n$/u);
    assert.match(await call({ action: 'list' }), /^p1 \(running for \d+ s\)/u);
    const child = Number(readFileSync(join(workspace, 'child.pid'), 'utf8'));
    assert.ok(isAlive(child));
    assert.match(await call({ action: 'kill', id: 'p1' }), /^p1 \(ended by SIGTERM after \d+ s\)/u);
    await until(() => !isAlive(child), 'the background child killed with it');
    assert.match(await call({ action: 'write', id: 'p1', input: 'x' }), /p1 has ended/u);
  }));

test('processes belong to their session: another one cannot see them, and a session reset kills them', () =>
  withProcesses(async ({ table, call }) => {
    await call({ action: 'start', command: 'sleep 60' }, 'agent:main:a');
    assert.match(await call({ action: 'poll', id: 'p1' }, 'agent:main:b'), /There is no process "p1" in this conversation/u);
    assert.equal(await call({ action: 'list' }, 'agent:main:b'), 'No background processes in this conversation.');
    const pid = table.get('agent:main:a', 'p1')!.pid!;
    await table.killSession('agent:main:a');
    assert.equal(isAlive(pid), false);
    assert.equal(await call({ action: 'list' }, 'agent:main:a'), 'No background processes in this conversation.');
  }));

test('bounded: a session runs at most its share, exited processes make room, and the gateway\'s stop kills every one', () =>
  withProcesses(
    async ({ table, call }) => {
      await call({ action: 'start', command: 'true' });
      await call({ action: 'start', command: 'sleep 60' });
      await until(() => table.get('agent:main:a', 'p1')?.exit !== null, 'p1 exited');
      assert.match(await call({ action: 'start', command: 'sleep 60' }), /^Started p3/u, 'the exited p1 made room');
      assert.match(await call({ action: 'start', command: 'sleep 60' }), /^This session has 2 background processes running/u);
      assert.match(await call({ action: 'start', command: 'sleep 60' }, 'agent:main:b'), /^Started p4/u);
      assert.match(await call({ action: 'start', command: 'sleep 60' }, 'agent:main:c'), /^3 background processes are running across all sessions/u);
      const pids = ['p2', 'p3'].map((id) => table.get('agent:main:a', id)!.pid!).concat(table.get('agent:main:b', 'p4')!.pid!);
      await table.stopAll();
      assert.deepEqual(pids.filter(isAlive), [], 'no process outlives the stop');
      assert.match(await call({ action: 'start', command: 'true' }), /gateway is stopping/u);
    },
    { perSession: 2, total: 3 },
  ));

test('long output keeps the newest part and says what was not shown; the exec policy decides what may start', () =>
  withProcesses(async ({ workspace, call }) => {
    await call({ action: 'start', command: 'yes | head -c 300000; echo; echo END' });
    let polled = '';
    for (let tries = 0; tries < 100 && !/exited/u.test(polled); tries++) {
      await new Promise((resolve) => setTimeout(resolve, 30));
      polled = await call({ action: 'list' });
    }
    const output = await call({ action: 'poll', id: 'p1' });
    assert.match(output, /^p1 \(exited with code 0 after \d+ s\)/u);
    assert.match(output, /\[… \d+ characters of output not shown …\]/u);
    assert.match(output, /END\n$/u);
    assert.ok(output.length < 21_000, `${output.length} characters`);
    const denied = await call({ action: 'start', command: 'touch made' }, 'agent:main:a', { ...FULL, security: 'deny' });
    assert.match(denied, /^Refused by tools\.exec\.security/u);
    const unlisted = await call({ action: 'start', command: 'touch made' }, 'agent:main:a', { ...FULL, security: 'allowlist', allow: ['npm run dev'] });
    assert.match(unlisted, /^Refused by tools\.exec\.allow: "touch made" matches no pattern/u);
    assert.throws(() => readFileSync(join(workspace, 'made')));
  }));
