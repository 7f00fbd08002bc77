import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertQuarantined, FAST, type Home, makeHome, plugin, quarantined, statusOf, waitFor, waitForLog, withHost } from '../../test/support/plugin-host-harness.js';

const HOST_URL = new URL('./plugin-host.js', import.meta.url).href;
const CONTEXT = { agentId: 'main', sessionKey: 's1', runId: 'r1' };
const NEVER = new AbortController().signal;

test('shouter: its tool is listed and called; its hooks refuse exec and rewrite what is sent', () =>
  withHost(['shouter'], { settings: (id) => ({ greeting: `hi from ${id}` }) }, async (host, home) => {
    const status = statusOf(host, 'shouter');
    assert.equal(status.state, 'running');
    assert.deepEqual(status.registered, { tools: ['shout'], hooks: ['before_tool_call', 'message_sending'] });
    assert.deepEqual(host.tools(), [
      {
        plugin: 'shouter',
        name: 'shout',
        description: 'Repeats the text in capitals.',
        parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
      },
    ]);
    assert.deepEqual(await host.callTool('shouter', 'shout', { text: 'hello' }, CONTEXT, NEVER), { content: 'HELLO', isError: false });
    assert.deepEqual(await host.beforeToolCall({ tool: 'exec', args: { command: 'ls' }, ...CONTEXT }), { refuse: 'no shell today', plugin: 'shouter' });
    assert.equal(await host.beforeToolCall({ tool: 'read', args: { path: 'a' }, ...CONTEXT }), null);
    assert.equal(await host.messageSending({ channel: 'telegram', sessionKey: 's1', text: 'hello' }), 'hello [shouted]');
    assert.equal(await host.messageReceived({ channel: 'telegram', sessionKey: 's1', text: 'hi' }), undefined);
    await host.afterToolCall({ tool: 'read', args: {}, ...CONTEXT, result: { content: 'x', isError: false } });
    assert.ok(home.logs.some((line) => line.includes('shouter ready (greeting: hi from shouter)') && line.includes('"plugin":"shouter"')), 'api.log and api.config');
    assert.match((await host.callTool('shouter', 'whisper', {}, CONTEXT, NEVER)).content, /has no tool "whisper"/);
    assert.match((await host.callTool('nobody', 'shout', {}, CONTEXT, NEVER)).content, /No plugin "nobody"/);
  }));

test('counter-a and counter-b import the same helper module, but each has its own copy of its state', () =>
  withHost(['counter-a', 'counter-b'], {}, async (host) => {
    const count = async (plugin: string) => (await host.callTool(plugin, 'count', {}, CONTEXT, NEVER)).content;
    assert.equal(await count('counter-a'), '1');
    assert.equal(await count('counter-a'), '2');
    assert.equal(await count('counter-b'), '1');
    assert.deepEqual(host.status().map((status) => status.id), ['counter-a', 'counter-b'], '`shared` has no manifest: not a plugin');
  }));

test('plugins that fail to load are quarantined (folder moved, reason.txt) and the others keep working', () =>
  withHost(['throws-at-load', 'bad-import', 'bad-manifest', 'shouter'], {}, async (host, home) => {
    assertQuarantined(host, home, 'throws-at-load', /activate\(\) failed: boom at load/);
    assertQuarantined(host, home, 'bad-import', /its entry could not be imported: .*does-not-exist\.js/);
    assertQuarantined(host, home, 'bad-manifest', /entry: must be a relative path inside the plugin folder/);
    assert.equal(readdirSync(home.quarantineDir).length, 3);
    assert.equal(statusOf(host, 'shouter').state, 'running');
    assert.deepEqual(host.tools().map((tool) => `${tool.plugin}/${tool.name}`), ['shouter/shout']);
    assert.deepEqual(await host.callTool('shouter', 'shout', { text: 'still here' }, CONTEXT, NEVER), { content: 'STILL HERE', isError: false });
    const refused = await host.callTool('throws-at-load', 'never', {}, CONTEXT, NEVER);
    assert.equal(refused.isError, true);
    assert.match(refused.content, /Plugin "throws-at-load" is quarantined \(failed to load: activate\(\) failed: boom at load\)/);
    assert.ok(home.logs.some((line) => line.startsWith('error plugin "bad-import" quarantined')));
  }));

test('a tool or hook the manifest does not declare fails the activation, naming it', () =>
  withHost(
    [],
    {
      extra: {
        ...plugin('sneaky-tool', { tools: ['ok'] }, "export default (api) => { api.registerTool({ name: 'ok', description: '', parameters: {}, execute: () => '' }); try { api.registerTool({ name: 'sneaky', description: '', parameters: {}, execute: () => '' }); } catch {} };\n"),
        ...plugin('sneaky-hook', { hooks: ['message_received'] }, "export default (api) => { api.on('before_tool_call', () => ({ refuse: 'mine' })); };\n"),
      },
    },
    async (host, home) => {
      assertQuarantined(host, home, 'sneaky-tool', /tool "sneaky" is not declared in hearth\.plugin\.json registers\.tools/);
      assertQuarantined(host, home, 'sneaky-hook', /hook "before_tool_call" is not declared in hearth\.plugin\.json registers\.hooks/);
      assert.equal(await host.beforeToolCall({ tool: 'exec', args: {}, ...CONTEXT }), null);
    },
  ));

test('crashes-later: restarted with backoff, answers isError meanwhile, quarantined after maxRestarts', () =>
  withHost(['crashes-later'], { maxRestarts: 1, restartBackoffMs: 300 }, async (host, home) => {
    const states: string[] = [];
    host.onChange(() => {
      const state = statusOf(host, 'crashes-later').state;
      if (states.at(-1) !== state) states.push(state);
    });
    assert.deepEqual(await host.callTool('crashes-later', 'crash', {}, CONTEXT, NEVER), { content: 'ok', isError: false });
    await waitFor(host, () => statusOf(host, 'crashes-later').state === 'restarting', 'restarting');
    assert.equal(statusOf(host, 'crashes-later').restarts, 1);
    assert.match(statusOf(host, 'crashes-later').lastError ?? '', /crashed: its worker died: crash later/);
    const meanwhile = await host.callTool('crashes-later', 'ping', {}, CONTEXT, NEVER);
    assert.equal(meanwhile.isError, true);
    assert.match(meanwhile.content, /is restarting after a crash .*try again in a moment/);

    await waitFor(host, () => statusOf(host, 'crashes-later').state === 'running', 'running again');
    assert.deepEqual(await host.callTool('crashes-later', 'ping', {}, CONTEXT, NEVER), { content: 'pong', isError: false });
    await host.callTool('crashes-later', 'crash', {}, CONTEXT, NEVER);
    await quarantined(host, 'crashes-later');
    assertQuarantined(host, home, 'crashes-later', /crashed 2 times; the last time its worker died: crash later/);
    assert.deepEqual(states, ['restarting', 'running', 'quarantined']);
    assert.match((await host.callTool('crashes-later', 'ping', {}, CONTEXT, NEVER)).content, /is quarantined/);
  }));

test('hangs: a call that exceeds its timeout quarantines the plugin as "stopped answering"; the others still answer', () =>
  withHost(['hangs', 'shouter'], { timeouts: { ...FAST, callMs: 300 } }, async (host, home) => {
    const started = Date.now();
    const result = await host.callTool('hangs', 'hang', {}, CONTEXT, NEVER);
    assert.ok(Date.now() - started >= 290, 'it waited for the timeout');
    assert.equal(result.isError, true);
    assert.match(result.content, /Plugin "hangs" stopped answering: tool "hang" did not answer within 300 ms; it was disabled/);
    await quarantined(host, 'hangs');
    assertQuarantined(host, home, 'hangs', /stopped answering: tool "hang" did not answer within 300 ms/);
    const again = Date.now();
    assert.match((await host.callTool('hangs', 'hang', {}, CONTEXT, NEVER)).content, /is quarantined/);
    assert.ok(Date.now() - again < 100, 'a quarantined plugin answers at once');
    assert.deepEqual(await host.callTool('shouter', 'shout', { text: 'ok' }, CONTEXT, NEVER), { content: 'OK', isError: false });
  }));

test('hangs: an unanswered ping quarantines the plugin and ends the call waiting on it', () =>
  withHost(['hangs'], { timeouts: { ...FAST, callMs: 30_000, pingMs: 100, pongMs: 200 } }, async (host) => {
    const pending = host.callTool('hangs', 'hang', {}, CONTEXT, NEVER);
    await quarantined(host, 'hangs');
    assert.match(statusOf(host, 'hangs').lastError ?? '', /stopped answering: no answer to a ping within 200 ms/);
    const result = await pending;
    assert.equal(result.isError, true);
    assert.match(result.content, /could not run "hang": its worker was stopped/);
  }));

test('hooks: one that hangs is quarantined, one that keeps throwing is quarantined, and neither blocks the others', () =>
  withHost(
    ['shouter'],
    {
      timeouts: { ...FAST, hookMs: 300 },
      maxHookErrors: 2,
      extra: {
        ...plugin('bad-hook', { hooks: ['before_tool_call'] }, "export default (api) => { api.on('before_tool_call', () => { throw new Error('hook boom'); }); };\n"),
        ...plugin('slow-hook', { hooks: ['message_sending'] }, "export default (api) => { api.on('message_sending', () => new Promise(() => {})); };\n"),
      },
    },
    async (host, home) => {
      assert.equal(await host.messageSending({ channel: 'irc', sessionKey: 's1', text: 'hi' }), 'hi [shouted]');
      await quarantined(host, 'slow-hook');
      assertQuarantined(host, home, 'slow-hook', /stopped answering: hook message_sending did not answer within 300 ms/);

      const exec = { tool: 'exec', args: {}, ...CONTEXT };
      assert.deepEqual(await host.beforeToolCall(exec), { refuse: 'no shell today', plugin: 'shouter' });
      assert.equal(statusOf(host, 'bad-hook').state, 'running', 'one failure is reported, not yet fatal');
      assert.ok(home.logs.some((line) => line.startsWith('warn plugin "bad-hook": hook before_tool_call failed') && line.includes('hook boom')));
      assert.deepEqual(await host.beforeToolCall(exec), { refuse: 'no shell today', plugin: 'shouter' });
      await quarantined(host, 'bad-hook');
      assertQuarantined(host, home, 'bad-hook', /its hooks failed 2 times in a row; the last: before_tool_call: hook boom/);
      assert.equal(await host.messageSending({ channel: 'irc', sessionKey: 's1', text: 'hi' }), 'hi [shouted]');
    },
  ));

test('a plugin\'s output goes to the log; it sees no environment; a message outside the protocol quarantines it', () =>
  withHost(
    [],
    {
      extra: plugin(
        'chatty',
        {},
        [
          "import { parentPort } from 'node:worker_threads';",
          'export default () => {',
          "  console.log('variables: ' + Object.keys(process.env).length);",
          "  console.error('to stderr');",
          "  setTimeout(() => parentPort.postMessage({ type: 'result', id: 'x', content: 1 }), 50);",
          '};',
        ].join('\n'),
      ),
    },
    async (host, home) => {
      await quarantined(host, 'chatty');
      assertQuarantined(host, home, 'chatty', /broke the protocol: it sent a "result" message that does not fit the protocol \(field "id" is missing or invalid\)/);
      await waitForLog(home, 'info variables: 0 {"plugin":"chatty","stream":"stdout"}');
      await waitForLog(home, 'info to stderr {"plugin":"chatty","stream":"stderr"}');
    },
  ));

test('calls are bounded per plugin (busy beyond the bound) and can be cancelled', () =>
  withHost(
    [],
    {
      maxPending: 2,
      extra: plugin(
        'waiter',
        { tools: ['wait'] },
        "export default (api) => { api.registerTool({ name: 'wait', description: 'waits', parameters: {}, execute: (args, context) => new Promise((resolve) => context.signal.addEventListener('abort', () => { api.log('aborted ' + context.runId); resolve('aborted'); })) }); };\n",
      ),
    },
    async (host, home) => {
      const controllers = [new AbortController(), new AbortController()];
      const calls = controllers.map((controller, index) => host.callTool('waiter', 'wait', {}, { ...CONTEXT, runId: `r${index}` }, controller.signal));
      const third = await host.callTool('waiter', 'wait', {}, CONTEXT, NEVER);
      assert.equal(third.isError, true);
      assert.match(third.content, /is busy \(2 requests are already waiting\)/);
      for (const controller of controllers) controller.abort();
      for (const result of await Promise.all(calls)) assert.match(result.content, /The call to "wait" of plugin "waiter" was cancelled/);
      await waitForLog(home, 'aborted r1');
      assert.equal(statusOf(host, 'waiter').state, 'running');
    },
  ));

test('stop(): every worker ends, calls answer isError, and stop is idempotent', () =>
  withHost(['shouter', 'counter-a'], {}, async (host) => {
    await Promise.all([host.stop(), host.stop()]);
    assert.deepEqual(host.status().map((status) => status.state), ['counter-a', 'shouter'].map(() => 'stopped'));
    assert.deepEqual(host.tools(), []);
    assert.match((await host.callTool('shouter', 'shout', { text: 'x' }, CONTEXT, NEVER)).content, /is stopped/);
    assert.equal(await host.messageSending({ channel: 'irc', sessionKey: 's1', text: 'plain' }), 'plain');
    await host.stop();
  }));

test('stop() leaves no handle behind: a process that started plugins exits by itself', async () => {
  const home = makeHome(['shouter', 'counter-a']);
  try {
    const output = await runScript(home, [
      `const host = createPluginHost({ roots: [${JSON.stringify(home.root)}], quarantineDir: ${JSON.stringify(home.quarantineDir)}, logger: silent });`,
      'await host.start();',
      "const result = await host.callTool('shouter', 'shout', { text: 'bye' }, context, new AbortController().signal);",
      "console.log(result.content, host.status().map((status) => status.state).join(','));",
      'await host.stop();',
      "console.log('stopped', host.status().map((status) => status.state).join(','));",
    ]);
    assert.match(output, /BYE running,running/);
    assert.match(output, /stopped stopped,stopped/);
  } finally {
    rmSync(home.home, { recursive: true, force: true });
  }
});

test('a quarantined plugin\'s worker is terminated: with only a hung plugin, the process exits without stop()', async () => {
  const home = makeHome(['hangs']);
  try {
    const output = await runScript(home, [
      `const host = createPluginHost({ roots: [${JSON.stringify(home.root)}], quarantineDir: ${JSON.stringify(home.quarantineDir)}, logger: silent, timeouts: { callMs: 200 } });`,
      'await host.start();',
      "const result = await host.callTool('hangs', 'hang', {}, context, new AbortController().signal);",
      "await new Promise((resolve) => { const off = host.onChange(() => { if (host.status()[0].quarantinedTo) { off(); resolve(); } }); });",
      "console.log(result.isError, host.status()[0].state);",
    ]);
    assert.match(output, /true quarantined/);
  } finally {
    rmSync(home.home, { recursive: true, force: true });
  }
});

/** Runs `lines` as an ES module with createPluginHost, `silent` and `context` in scope; resolves with its output once it exits 0 by itself. */
function runScript(home: Home, lines: string[], withinMs = 10_000): Promise<string> {
  const file = join(home.home, 'script.mjs');
  const prelude = [
    `import { createPluginHost } from ${JSON.stringify(HOST_URL)};`,
    'const silent = { info() {}, warn() {}, error() {} };',
    "const context = { agentId: 'main', sessionKey: 's1', runId: 'r1' };",
  ];
  writeFileSync(file, [...prelude, ...lines].join('\n'));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the process did not exit within ${withinMs} ms (a handle was left open); output: ${output}`));
    }, withinMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`the process exited with ${code}; output: ${output}`));
    });
  });
}
