import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bindSharedSocket } from './listen-socket.js';
import { createSupervisor } from './supervisor.js';
import { pointAt, versionPaths } from './versions.js';

/** A package folder whose gateway exits at once with `code`. */
function exitingPackage(root: string, code: number): string {
  const pkg = join(root, 'pkg');
  mkdirSync(join(pkg, 'bin'), { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'hearth', version: '9.9.9' }));
  writeFileSync(join(pkg, 'bin', 'hearth.js'), `process.exit(${code});\n`);
  return pkg;
}

function setUp(code: number) {
  const root = mkdtempSync(join(tmpdir(), 'hearth-supervisor-'));
  const versions = versionPaths(join(root, 'home'));
  mkdirSync(versions.root, { recursive: true });
  const socket = bindSharedSocket('127.0.0.1', 0);
  const lines: string[] = [];
  return { root, versions, socket, lines, pkg: exitingPackage(root, code) };
}

test('a gateway that keeps crashing is restarted with a doubling delay', async () => {
  const setup = setUp(1);
  pointAt(setup.versions.current, setup.pkg);
  const supervisor = createSupervisor({
    versions: setup.versions,
    stateDir: join(setup.root, 'home', 'state'),
    socket: setup.socket,
    env: process.env,
    log: (line) => setup.lines.push(line),
    readyTimeoutMs: 300,
    backoff: { minMs: 50, maxMs: 400, stableMs: 60_000 },
  });
  try {
    await supervisor.start();
    const deadline = Date.now() + 10_000;
    while (setup.lines.filter((line) => line.includes('restarting in')).length < 5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const delays = setup.lines.filter((line) => line.includes('restarting in')).map((line) => /restarting in ([\d.]+) s/u.exec(line)?.[1]);
    assert.deepEqual(delays.slice(0, 5), ['0.1', '0.1', '0.2', '0.4', '0.4'], setup.lines.join('\n'));
    assert.ok(supervisor.status().restarts >= 4);
  } finally {
    await supervisor.stop();
    setup.socket.close();
    rmSync(setup.root, { recursive: true, force: true });
  }
});

test('a gateway that exits with 78 (invalid config) is not restarted: the supervisor ends with that code', async () => {
  const setup = setUp(78);
  pointAt(setup.versions.current, setup.pkg);
  const supervisor = createSupervisor({
    versions: setup.versions,
    stateDir: join(setup.root, 'home', 'state'),
    socket: setup.socket,
    env: process.env,
    log: (line) => setup.lines.push(line),
    readyTimeoutMs: 300,
    backoff: { minMs: 50, maxMs: 400, stableMs: 60_000 },
  });
  try {
    await supervisor.start();
    assert.equal(await supervisor.ended, 78);
    assert.equal(setup.lines.filter((line) => line.includes('restarting in')).length, 0);
    assert.match(setup.lines.join('\n'), /restarting will not fix that/u);
  } finally {
    setup.socket.close();
    rmSync(setup.root, { recursive: true, force: true });
  }
});
