import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isAlive } from '../../test/support/processes.js';
import { startHttpTestServer } from '../../test/support/mcp/test-server.js';
import { createMcpConnection, type McpConnection, type McpConnectionOptions, type McpServerHealth, type McpServerSettings } from './mcp-connection.js';

const TEST_SERVER = fileURLToPath(new URL('../../test/support/mcp/test-server.js', import.meta.url));
const CONNECTION_MODULE = fileURLToPath(new URL('./mcp-connection.js', import.meta.url));
const FAST: McpConnectionOptions = { backoff: { initialMs: 50, maxMs: 200 }, healthCheck: { intervalMs: 5_000, timeoutMs: 2_000 } };
const NEVER = new AbortController().signal;

/** The test server over stdio, with the start counter file of `folder`. */
function stdio(folder: string, env: Record<string, string> = {}, settings: Partial<McpServerSettings> = {}): McpServerSettings {
  return { command: process.execPath, args: [TEST_SERVER], env: { MCP_TEST_COUNTER_FILE: join(folder, 'starts'), ...env }, ...settings };
}

/** The pids of the test servers started with the counter file of `folder`, in order. */
function starts(folder: string): number[] {
  try {
    return readFileSync(join(folder, 'starts'), 'utf8').trim().split('\n').map((line) => Number(line.split(' ')[1]));
  } catch {
    return [];
  }
}

interface Fixture {
  connection: McpConnection;
  folder: string;
  logs: string[];
  /** Every state health() went through, in order (from onChange). */
  states: McpServerHealth['state'][];
}

async function withConnection(settingsOf: (folder: string) => McpServerSettings, options: McpConnectionOptions, run: (fixture: Fixture) => Promise<void>): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'hearth-mcp-'));
  const logs: string[] = [];
  const states: McpServerHealth['state'][] = [];
  let connection: McpConnection | undefined;
  try {
    connection = createMcpConnection('files', settingsOf(folder), { ...options, logger: { info: (_object, message) => logs.push(message), warn: (_object, message) => logs.push(message) } });
    const watched = connection;
    watched.onChange(() => {
      if (states.at(-1) !== watched.health().state) states.push(watched.health().state);
    });
    await run({ connection, folder, logs, states });
  } finally {
    await connection?.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

/** Resolves once `check()` holds, re-checked at each change of the connection; fails after `withinMs`. */
function waitFor(connection: McpConnection, check: () => boolean, what: string, withinMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (check()) return resolve();
    const timer = setTimeout(() => {
      off();
      reject(new Error(`not within ${withinMs} ms: ${what}; health: ${JSON.stringify(connection.health())}`));
    }, withinMs);
    const off = connection.onChange(() => {
      if (!check()) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

const ready = (connection: McpConnection) => waitFor(connection, () => connection.health().state === 'ready', 'ready');

test('stdio: lists the tools, calls them, and passes a tool\'s own error on', () =>
  withConnection(stdio, FAST, async ({ connection, states }) => {
    assert.equal(connection.health().state, 'stopped', 'nothing happens before start()');
    connection.start();
    assert.equal(connection.health().state, 'starting');
    await ready(connection);
    assert.deepEqual(
      connection.tools().map((tool) => tool.name),
      ['echo', 'add', 'crash', 'hang', 'fail'],
    );
    const echo = connection.tools()[0]!;
    assert.equal(echo.description, 'Returns the text.');
    assert.deepEqual((echo.inputSchema as { properties: object }).properties, { text: { type: 'string' } });
    assert.deepEqual(await connection.call('echo', { text: 'hello there' }, NEVER), { content: 'hello there', isError: false });
    assert.deepEqual(await connection.call('add', { a: 2, b: 40 }, NEVER), { content: '42', isError: false });
    assert.deepEqual(await connection.call('fail', {}, NEVER), { content: 'failed on purpose', isError: true });
    const unknown = await connection.call('nope', {}, NEVER);
    assert.equal(unknown.isError, true);
    assert.match(unknown.content, /nope/u);
    assert.deepEqual({ ...connection.health(), since: 0 }, { state: 'ready', since: 0, lastError: null, restarts: 0, tools: 5, nextAttemptAt: null });
    assert.deepEqual(states, ['starting', 'ready']);
  }));

test('a crash: the call says so naming the server, the server restarts after the backoff and works again', () =>
  withConnection(stdio, FAST, async ({ connection, folder, states }) => {
    connection.start();
    await ready(connection);
    const [first] = starts(folder);
    const crashed = await connection.call('crash', {}, NEVER);
    assert.equal(crashed.isError, true);
    assert.match(crashed.content, /^MCP server "files" failed during "crash"; it is restarting \(last error: the server process exited; stderr: test server: crashing on purpose\); try again in 1 s\.$/u);
    assert.equal(connection.health().state, 'restarting');
    assert.match(connection.health().lastError ?? '', /^the server process exited; stderr: test server: crashing on purpose$/u);
    assert.equal(connection.tools().length, 5, 'the tools are kept while it restarts');
    await ready(connection);
    assert.deepEqual(states, ['starting', 'ready', 'restarting', 'ready']);
    assert.equal(connection.health().restarts, 1);
    assert.equal(starts(folder).length, 2);
    assert.equal(isAlive(first!), false);
    assert.deepEqual(await connection.call('echo', { text: 'back' }, NEVER), { content: 'back', isError: false });
  }));

test('a tool that hangs: the call times out quickly, an abort ends a call, and the server stays up', () =>
  withConnection(
    (folder) => stdio(folder, {}, { timeoutMs: 600 }),
    FAST,
    async ({ connection }) => {
      connection.start();
      await ready(connection);
      let started = Date.now();
      const timedOut = await connection.call('hang', {}, NEVER);
      assert.deepEqual(timedOut, { content: 'MCP server "files" did not answer "hang" within 600 ms.', isError: true });
      assert.ok(Date.now() - started < 1500, `${Date.now() - started} ms`);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      started = Date.now();
      assert.deepEqual(await connection.call('hang', {}, controller.signal), { content: 'The call to "hang" on MCP server "files" was cancelled.', isError: true });
      assert.ok(Date.now() - started < 500, `the abort ended it after ${Date.now() - started} ms`);
      assert.equal((await connection.call('echo', { text: 'x' }, controller.signal)).content, 'The call to "echo" on MCP server "files" was cancelled.');
      assert.deepEqual(await connection.call('echo', { text: 'still here' }, NEVER), { content: 'still here', isError: false });
      assert.equal(connection.health().state, 'ready');
      assert.equal(connection.health().restarts, 0);
    },
  ));

test('a server that stops answering pings is restarted, and its call ends then', () =>
  withConnection((folder) => stdio(folder, { MCP_TEST_EXTRA_TOOLS: '1' }), { ...FAST, healthCheck: { intervalMs: 150, timeoutMs: 300 } }, async ({ connection, folder }) => {
    connection.start();
    await ready(connection);
    const started = Date.now();
    const frozen = await connection.call('freeze', {}, NEVER);
    assert.match(frozen.content, /^MCP server "files" failed during "freeze"; it is restarting \(last error: it did not answer a ping within 300 ms\)/u);
    assert.ok(Date.now() - started < 2000, `${Date.now() - started} ms`);
    await ready(connection);
    assert.equal(connection.health().restarts, 1);
    assert.deepEqual(await connection.call('echo', { text: 'thawed' }, NEVER), { content: 'thawed', isError: false });
    await connection.stop();
    assert.deepEqual(starts(folder).filter(isAlive), [], 'the frozen server was killed too');
  }));

test('a command that does not exist: restarting with a clear error, calls refused, retried with backoff, never throws', () =>
  withConnection(
    () => ({ command: '/nonexistent/hearth-mcp-server', args: ['--stdio'] }),
    FAST,
    async ({ connection }) => {
      assert.match((await connection.call('echo', {}, NEVER)).content, /^MCP server "files" is not started\.$/u);
      connection.start();
      await waitFor(connection, () => connection.health().state === 'restarting', 'restarting');
      const health = connection.health();
      assert.equal(health.lastError, 'the command "/nonexistent/hearth-mcp-server" was not found (spawn /nonexistent/hearth-mcp-server ENOENT)');
      assert.equal(typeof health.nextAttemptAt, 'number');
      const refused = await connection.call('echo', { text: 'x' }, NEVER);
      assert.equal(refused.isError, true);
      assert.match(refused.content, /^MCP server "files" is restarting \(last error: the command "\/nonexistent\/hearth-mcp-server" was not found .*\); try again in 1 s\.$/u);
      await waitFor(connection, () => connection.health().restarts >= 3, 'three retries');
      assert.deepEqual(connection.tools(), []);
    },
  ));

test('backoff: the delay doubles up to its maximum, and is back to the first once a connection stayed ready', async () => {
  const clock = () => 1000;
  const delaysOf = (connection: McpConnection) => {
    const delays: number[] = [];
    connection.onChange(() => {
      const { nextAttemptAt } = connection.health();
      if (nextAttemptAt !== null) delays.push(nextAttemptAt - 1000);
    });
    return delays;
  };
  await withConnection(() => ({ command: '/nonexistent/hearth-mcp-server' }), { backoff: { initialMs: 20, maxMs: 100 }, now: clock }, async ({ connection }) => {
    const delays = delaysOf(connection);
    connection.start();
    await waitFor(connection, () => delays.length >= 5, 'five failures');
    assert.deepEqual(delays.slice(0, 5), [20, 40, 80, 100, 100]);
  });
  await withConnection(stdio, { backoff: { initialMs: 20, maxMs: 1000, resetAfterMs: 300 }, now: clock }, async ({ connection }) => {
    const delays = delaysOf(connection);
    connection.start();
    await ready(connection);
    await connection.call('crash', {}, NEVER);
    await ready(connection);
    await connection.call('crash', {}, NEVER);
    await ready(connection);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await connection.call('crash', {}, NEVER);
    await ready(connection);
    assert.deepEqual(delays, [20, 40, 20]);
  });
});

test('settings that can never work: start() does not throw, the problem is the last error, and calls answer with it', async () => {
  for (const [settings, problem] of [
    [{}, 'its settings need exactly one of "command" (stdio) and "url" (streamable HTTP)'],
    [{ command: 'x', url: 'http://127.0.0.1:1/mcp' }, 'its settings need exactly one of "command" (stdio) and "url" (streamable HTTP)'],
    [{ url: 'file:///etc/passwd' }, '"file:///etc/passwd" is not an http or https URL'],
    [{ url: 'not a url' }, '"not a url" is not an http or https URL'],
  ] as const) {
    await withConnection(() => settings, FAST, async ({ connection }) => {
      connection.start();
      assert.equal(connection.health().state, 'stopped');
      assert.equal(connection.health().lastError, problem);
      assert.deepEqual(await connection.call('echo', {}, NEVER), { content: `MCP server "files" cannot start: ${problem}.`, isError: true });
    });
  }
});

test('tools: names Hearth cannot use are skipped with a warning, and tools/list_changed brings the new list', () =>
  withConnection((folder) => stdio(folder, { MCP_TEST_EXTRA_TOOLS: '1' }), FAST, async ({ connection, logs }) => {
    connection.start();
    await ready(connection);
    const names = () => connection.tools().map((tool) => tool.name);
    assert.deepEqual(names(), ['echo', 'add', 'crash', 'hang', 'fail', 'freeze', 'add_tool']);
    assert.ok(logs.some((line) => line.includes('"bad.name" skipped')));
    assert.ok(logs.some((line) => line.includes(`"${'x'.repeat(49)}" skipped`)));
    assert.deepEqual(await connection.call('add_tool', { name: 'late_echo' }, NEVER), { content: 'added late_echo', isError: false });
    await waitFor(connection, () => names().includes('late_echo'), 'the added tool listed');
    assert.equal(connection.health().tools, 8);
    assert.deepEqual(await connection.call('late_echo', { text: 'late' }, NEVER), { content: 'late', isError: false });
  }));

test('streamable HTTP: lists and calls tools with the headers given, and reconnects when the server comes back', async () => {
  let server = await startHttpTestServer();
  try {
    await withConnection(() => ({ url: server.url, headers: { authorization: 'Bearer sesame' } }), { ...FAST, healthCheck: { intervalMs: 150, timeoutMs: 500 } }, async ({ connection }) => {
      connection.start();
      await ready(connection);
      assert.deepEqual(
        connection.tools().map((tool) => tool.name),
        ['echo', 'add', 'crash', 'hang', 'fail'],
      );
      assert.deepEqual(await connection.call('echo', { text: 'over http' }, NEVER), { content: 'over http', isError: false });
      assert.equal(server.lastAuthorization(), 'Bearer sesame');
      assert.equal((await connection.call('crash', {}, NEVER)).isError, true, 'crash closes the HTTP server');
      await waitFor(connection, () => connection.health().state === 'restarting', 'restarting');
      assert.match(connection.health().lastError ?? '', /fetch failed|ECONN/u);
      server = await startHttpTestServer({ port: server.port });
      await ready(connection);
      assert.deepEqual(await connection.call('add', { a: 1, b: 2 }, NEVER), { content: '3', isError: false });
      assert.equal(server.sessions(), 1);
    });
  } finally {
    await server.close();
  }
});

test('stop(): the child is gone, a call still out ends, a child that ignores SIGTERM is killed, and stop is final', async () => {
  await withConnection(stdio, FAST, async ({ connection, folder }) => {
    connection.start();
    await ready(connection);
    const pending = connection.call('hang', {}, NEVER);
    await connection.stop();
    assert.equal(isAlive(starts(folder)[0]!), false);
    assert.deepEqual(await pending, { content: 'MCP server "files" was stopped during "hang".', isError: true });
    assert.equal(connection.health().state, 'stopped');
    assert.deepEqual(connection.tools(), []);
    assert.match((await connection.call('echo', { text: 'x' }, NEVER)).content, /is stopped/u);
    await connection.stop();
    connection.start();
    assert.equal(connection.health().state, 'stopped', 'no start after stop');
  });
  await withConnection((folder) => stdio(folder, { MCP_TEST_STUBBORN: '1' }), FAST, async ({ connection, folder }) => {
    connection.start();
    await ready(connection);
    const started = Date.now();
    await connection.stop();
    assert.ok(Date.now() - started < 4000, `${Date.now() - started} ms`);
    assert.equal(isAlive(starts(folder)[0]!), false);
  });
});

test('after stop() nothing keeps the process alive: a script that connects, calls and stops exits by itself', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'hearth-mcp-'));
  const script = `
    import { createMcpConnection } from ${JSON.stringify(CONNECTION_MODULE)};
    const connection = createMcpConnection('files', ${JSON.stringify(stdio(folder))}, { healthCheck: { intervalMs: 50, timeoutMs: 1000 } });
    connection.start();
    await new Promise((resolve) => connection.onChange(() => connection.health().state === 'ready' && resolve()));
    const hang = connection.call('hang', {}, new AbortController().signal);
    console.log((await connection.call('echo', { text: 'done' }, new AbortController().signal)).content);
    await connection.stop();
    await hang;
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the script did not exit within 8 s; output: ${output}`)), 8000);
      child.on('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    assert.equal(code, 0);
    assert.equal(output, 'done\n');
    assert.equal(isAlive(starts(folder)[0]!), false);
  } finally {
    child.kill('SIGKILL');
    rmSync(folder, { recursive: true, force: true });
  }
});
