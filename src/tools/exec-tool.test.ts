import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitGone } from '../../test/support/processes.js';
import type { ToolContext } from '../contracts/tool.js';
import type { ExecPolicy } from './exec-policy.js';
import { EXEC_MAX_OUTPUT_CHARS, createExecTool } from './exec-tool.js';

const FULL: ExecPolicy = { security: 'full', allow: [], timeoutMs: 10_000, sandbox: 'off', network: false, ask: 'off', askTimeoutMs: 600_000 };

async function withWorkspace(run: (workspace: string, call: (args: object, policy?: ExecPolicy, signal?: AbortSignal) => ReturnType<ReturnType<typeof createExecTool>['execute']>) => Promise<void>) {
  const workspace = realpathSync(mkdtempSync(join(tmpdir(), 'hearth-exec-')));
  const call = (args: object, policy: ExecPolicy = FULL, signal = new AbortController().signal) => {
    const context: ToolContext = { workspaceDir: workspace, agentId: 'main', sessionKey: 'agent:main:test', runId: 'r1', signal, now: () => new Date() };
    return createExecTool(() => policy).execute(args, context);
  };
  try {
    await run(workspace, call);
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
}

test('exec runs a command in the workspace: output of both streams, exit code, a sub-folder as cwd', () =>
  withWorkspace(async (workspace, call) => {
    const result = await call({ command: 'echo out; echo err >&2; exit 3' });
    assert.equal(result.isError, true, 'a failing command is an error result');
    assert.match(result.content, /^Exit code 3 after \d+ ms\.\nout\nerr\n$/u);
    assert.equal(result.details?.exitCode, 3);
    mkdirSync(join(workspace, 'sub'));
    const inSub = await call({ command: 'pwd' , cwd: 'sub' });
    assert.equal(inSub.isError, false);
    assert.equal(inSub.content.split('\n')[1], join(workspace, 'sub'));
    const outside = await call({ command: 'pwd', cwd: '../' });
    assert.equal(outside.isError, true);
    assert.match(outside.content, /outside|workspace/u);
    assert.match((await call({ command: 'true', cwd: 'missing' })).content, /missing|exist/u);
  }));

test('the command gets its own small environment, not the gateway\'s secrets', () =>
  withWorkspace(async (workspace, call) => {
    process.env.HEARTH_TEST_EXEC_SECRET = 'sk-do-not-leak';
    try {
      const result = await call({ command: 'echo "[$HEARTH_TEST_EXEC_SECRET] [$HOME] [$GREETING]"', env: { GREETING: 'hi' } });
      assert.equal(result.content.split('\n')[1], `[] [${workspace}] [hi]`);
    } finally {
      delete process.env.HEARTH_TEST_EXEC_SECRET;
    }
    assert.match((await call({ command: 'true', env: { 'BAD-NAME': 'x' } })).content, /env\.BAD-NAME: Invalid key/u, 'a bad variable name is refused, naming it');
  }));

test('at the timeout the command and everything it started are killed', () =>
  withWorkspace(async (workspace, call) => {
    const started = Date.now();
    const result = await call({ command: 'sleep 30 & echo $! > child.pid; sleep 30', timeoutMs: 300 });
    assert.ok(Date.now() - started < 5000, `returned after ${Date.now() - started} ms`);
    assert.equal(result.isError, true);
    assert.match(result.content, /^Killed after \d+ ms: it ran past its timeout/u);
    const child = Number(readFileSync(join(workspace, 'child.pid'), 'utf8'));
    assert.ok(await waitGone(child, 3000), `the background child ${child} was killed too`);
  }));

test('a command that ends leaves nothing running behind it, and returns at once', () =>
  withWorkspace(async (workspace, call) => {
    const started = Date.now();
    const result = await call({ command: 'sleep 30 & echo $! > bg.pid; echo done' });
    assert.ok(Date.now() - started < 3000, `returned after ${Date.now() - started} ms`);
    assert.match(result.content, /^Exit code 0 .*\ndone\n$/u);
    assert.ok(await waitGone(Number(readFileSync(join(workspace, 'bg.pid'), 'utf8')), 3000));
  }));

test('a runaway output is cut in the middle, the start and the end kept', () =>
  withWorkspace(async (_workspace, call) => {
    const result = await call({ command: 'echo FIRST; yes | head -c 500000; echo; echo LAST' });
    assert.ok(result.content.length < EXEC_MAX_OUTPUT_CHARS + 200, `${result.content.length} characters`);
    assert.match(result.content, /^Exit code 0 after \d+ ms\.\nFIRST\n/u);
    assert.match(result.content, /\[… \d+ characters of output left out …\]/u);
    assert.match(result.content, /LAST\n$/u);
  }));

test('stopping the turn kills the command', () =>
  withWorkspace(async (_workspace, call) => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const started = Date.now();
    const result = await call({ command: 'sleep 30' }, FULL, controller.signal);
    assert.ok(Date.now() - started < 3000);
    assert.match(result.content, /^Killed: the turn was stopped\./u);
  }));

test('security "deny" refuses every command, naming the rule; nothing runs', () =>
  withWorkspace(async (workspace, call) => {
    const result = await call({ command: 'touch made' }, { ...FULL, security: 'deny', timeoutMs: 1000 });
    assert.equal(result.isError, true);
    assert.match(result.content, /^Refused by tools\.exec\.security: .*"deny"/u);
    assert.equal(existsSync(join(workspace, 'made')), false);
  }));

test('security "allowlist": matching plain commands run without a shell; anything else is refused with the rule and the patterns', () =>
  withWorkspace(async (workspace, call) => {
    const policy: ExecPolicy = { ...FULL, security: 'allowlist', allow: ['echo *', 'git status'], timeoutMs: 5000 };
    const quoted = await call({ command: "echo 'a;b' \"$x\"" }, policy);
    assert.match(quoted.content, /Refused by tools\.exec\.allow: The word .* has a "\$"/u, 'a variable is refused even in quotes');
    const plain = await call({ command: "echo 'a;b' done" }, policy);
    assert.equal(plain.content.split('\n')[1], 'a;b done', 'a quoted ; is a word: no shell ran it');
    for (const command of ['echo hi; touch pwned', 'echo hi && touch pwned', 'echo hi | tee pwned', 'echo hi > pwned', 'echo $(touch pwned)', 'echo *', 'echo `touch pwned`']) {
      const refused = await call({ command }, policy);
      assert.equal(refused.isError, true, command);
      assert.match(refused.content, /^Refused by tools\.exec\.allow: /u, command);
    }
    assert.equal(existsSync(join(workspace, 'pwned')), false);
    const unlisted = await call({ command: 'ls -la' }, policy);
    assert.match(unlisted.content, /"ls -la" matches no pattern of tools\.exec\.allow\. Allowed: "echo \*", "git status"\./u);
    assert.match((await call({ command: 'git status --short' }, policy)).content, /matches no pattern/u, 'a pattern without * is the whole command');
    assert.match((await call({ command: 'echo' }, policy)).content, /matches no pattern/u, '* stands for one or more words');
  }));
