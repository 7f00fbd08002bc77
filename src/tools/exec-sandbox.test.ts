import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ToolContext } from '../contracts/tool.js';
import type { ExecPolicy } from './exec-policy.js';
import { createExecTool } from './exec-tool.js';

const SANDBOXED: ExecPolicy = { security: 'full', allow: [], timeoutMs: 10_000, sandbox: 'workspace', network: false, ask: 'off', askTimeoutMs: 600_000 };
const HOST: ExecPolicy = { ...SANDBOXED, sandbox: 'off' };

/** A workspace inside a "home" the sandbox hides, with a secret beside it, and a folder elsewhere on the host. */
async function withSandbox(run: (paths: { workspace: string; home: string; outside: string }, call: (command: string, policy?: ExecPolicy, bwrap?: string) => ReturnType<ReturnType<typeof createExecTool>['execute']>) => Promise<void>) {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'hearth-sandbox-')));
  const home = join(root, 'home');
  const workspace = join(home, 'workspaces', 'main');
  mkdirSync(workspace, { recursive: true });
  writeFileSync(join(home, 'config.json5'), '{ token: "sk-secret" }\n');
  // Outside /tmp, which the sandbox replaces with its own.
  const outside = mkdtempSync('/var/tmp/hearth-sandbox-outside-');
  const call = (command: string, policy = SANDBOXED, bwrap?: string) => {
    const context: ToolContext = { workspaceDir: workspace, agentId: 'main', sessionKey: 'agent:main:test', runId: 'r1', signal: new AbortController().signal, now: () => new Date() };
    return createExecTool(() => policy, { hide: [home], ...(bwrap ? { bwrap } : {}) }).execute({ command }, context);
  };
  try {
    await run({ workspace, home, outside }, call);
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  }
}

test('sandbox "workspace": the workspace is writable, the rest of the file system is not, and the state beside it is hidden', () =>
  withSandbox(async ({ workspace, outside }, call) => {
    const inside = await call('echo made > note.txt && cat note.txt');
    assert.match(inside.content, /^Exit code 0 .*\nmade\n$/u, inside.content);
    assert.equal(readFileSync(join(workspace, 'note.txt'), 'utf8'), 'made\n', 'what it writes in the workspace is there on the host');
    const breakout = await call(`touch ${outside}/escaped`);
    assert.equal(breakout.isError, true);
    assert.match(breakout.content, /Read-only file system/u);
    assert.equal(existsSync(join(outside, 'escaped')), false);
    const secret = await call('cat ../../config.json5');
    assert.equal(secret.isError, true);
    assert.doesNotMatch(secret.content, /sk-secret/u);
    // The same commands on the host, with the sandbox off.
    assert.equal((await call(`touch ${outside}/escaped`, HOST)).isError, false);
    assert.equal(existsSync(join(outside, 'escaped')), true);
    assert.match((await call('cat ../../config.json5', HOST)).content, /sk-secret/u);
  }));

test('sandbox "workspace": no network unless tools.exec.network is true', async () => {
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end('hello\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const connect = `${process.execPath} -e "require('net').connect(${port}, '127.0.0.1').on('connect', () => { console.log('connected'); process.exit(0) }).on('error', (e) => { console.log('failed ' + e.code); process.exit(1) })"`;
  try {
    await withSandbox(async (_paths, call) => {
      const closed = await call(connect);
      assert.match(closed.content, /failed ECONNREFUSED/u, closed.content);
      assert.match((await call(connect, { ...SANDBOXED, network: true })).content, /connected/u);
      assert.match((await call(connect, HOST)).content, /connected/u);
    });
  } finally {
    server.close();
  }
});

test('sandbox "workspace": at the timeout everything in the sandbox is killed', () =>
  withSandbox(async (_paths, call) => {
    const started = Date.now();
    const result = await call('sleep 31.37 & sleep 31.37', { ...SANDBOXED, timeoutMs: 300 });
    assert.ok(Date.now() - started < 5000);
    assert.match(result.content, /^Killed after/u);
    // The kill is sent at the timeout; the processes may take a moment to go.
    const left = () => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((line) => line.includes('sleep 31.37') && !line.includes('ps -eo'));
    for (const deadline = Date.now() + 5000; left().length > 0 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(left(), [], 'no sleep left running');
  }));

test('without bubblewrap a sandboxed command is refused with how to fix it, never run on the host', () =>
  withSandbox(async ({ workspace }, call) => {
    const result = await call('touch ran-on-host', SANDBOXED, '/nonexistent/bwrap');
    assert.equal(result.isError, true);
    assert.match(result.content, /^The sandbox could not start \(.*\), so the command did not run\. .*apt-get install bubblewrap.*tools\.exec\.sandbox to "off"/u);
    assert.equal(existsSync(join(workspace, 'ran-on-host')), false);
  }));
