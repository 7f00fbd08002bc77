import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bindSharedSocket } from './listen-socket.js';
import { createSupervisor } from './supervisor.js';
import { listQuarantinedFiles } from '../runtime/quarantine.js';
import { pointAt, readJournal, versionPaths } from './versions.js';

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

test('a damaged update journal is moved to .quarantine/ with its reason and said so; the current version runs instead of a half-read roll-back', async () => {
  const setup = setUp(78);
  pointAt(setup.versions.current, setup.pkg);
  writeFileSync(setup.versions.journal, '{"from": "/versions/1.0.0", "to": ');
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
    assert.equal(await supervisor.ended, 78, 'the current package was started');
    const said = setup.lines.join('\n');
    assert.match(said, /the update journal is not JSON .*: moved to .*\.quarantine\/switch\.json-\S+; .*hearth update --rollback/u);
    assert.doesNotMatch(said, /going back/u, 'no roll-back from a journal it could not read');
    assert.ok(!existsSync(setup.versions.journal));
    const kept = listQuarantinedFiles(join(setup.root, 'home'));
    assert.equal(kept.length, 1);
    assert.equal(kept[0]?.from, setup.versions.journal);
    assert.equal(readFileSync(kept[0]?.path ?? '', 'utf8'), '{"from": "/versions/1.0.0", "to": ', 'kept as it was');

    writeFileSync(setup.versions.journal, JSON.stringify({ from: '/v/1', to: '/v/2', startedAt: 1, stage: 'halfway' }));
    setup.lines.length = 0;
    assert.equal(readJournal(setup.versions, (line) => setup.lines.push(line)), undefined);
    assert.match(setup.lines.join('\n'), /the update journal has the stage "halfway" \(switching or probation\)/u);
  } finally {
    setup.socket.close();
    rmSync(setup.root, { recursive: true, force: true });
  }
});
