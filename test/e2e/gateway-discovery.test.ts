/**
 * The CLI finds the running gateway where it actually listens: a gateway started with `--port`
 * records its address in `state/gateway.json`, which the CLI reads before the config; the file
 * goes at stop, and a file left by a killed gateway is ignored.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { makeHome, removeHome, runCli, startTestGateway, type TestGateway, testEnv } from '../support/gateway-harness.js';

const homes: string[] = [];
after(() => {
  for (const home of homes) removeHome(home);
});

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('a gateway started with --port is found by the CLI; after stop or kill -9 the CLI falls back to the config', async () => {
  const home = makeHome();
  homes.push(home);
  const configPort = await closedPort();
  const addressFile = join(home, 'state', 'gateway.json');
  let gateway: TestGateway | undefined;
  try {
    gateway = await startTestGateway({ home, config: { gateway: { port: configPort } } });
    const recorded = JSON.parse(readFileSync(addressFile, 'utf8')) as { pid: number; port: number; url: string };
    assert.equal(recorded.port, gateway.port);
    assert.equal(recorded.pid, gateway.child.pid);
    assert.equal(recorded.url, gateway.url);

    const found = await runCli(['status', '--json'], testEnv(home));
    assert.equal(found.code, 0, `${found.stdout}\n${found.stderr}`);
    const report = JSON.parse(found.stdout) as { running: boolean; url: string; gateway: { port: number } };
    assert.equal(report.running, true);
    assert.equal(report.gateway.port, gateway.port);

    assert.equal(await gateway.stop(), 0);
    assert.equal(existsSync(addressFile), false, 'the address file outlived the gateway');
    const stopped = await runCli(['status'], testEnv(home));
    assert.notEqual(stopped.code, 0);
    assert.ok(stopped.stderr.includes(`http://127.0.0.1:${configPort}`), stopped.stderr);

    gateway = await startTestGateway({ home });
    await gateway.kill();
    assert.ok(existsSync(addressFile), 'kill -9 cannot remove the file');
    const stale = await runCli(['status', '--json'], testEnv(home));
    assert.notEqual(stale.code, 0);
    assert.equal((JSON.parse(stale.stdout) as { url: string }).url, `http://127.0.0.1:${configPort}`);
  } finally {
    await gateway?.stop();
  }
});
