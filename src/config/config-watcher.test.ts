// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests write literal ${VAR} references on purpose
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createConfigWatcher } from './config-watcher.js';
import type { ConfigLoadResult } from './load-config.js';

const root = mkdtempSync(join(tmpdir(), 'hearth-watch-'));
after(() => rmSync(root, { recursive: true, force: true }));

const WAIT_LIMIT_MS = 5000;
const DEBOUNCE_MS = 25;

/** A watcher on a fresh directory, with the results it delivered and a way to await the next one. */
function setup(name: string, initial?: string) {
  const dir = mkdtempSync(join(root, `${name}-`));
  const path = join(dir, 'hearth.json5');
  if (initial !== undefined) writeFileSync(path, initial);
  const results: ConfigLoadResult[] = [];
  const waiters: Array<(result: ConfigLoadResult) => void> = [];
  const warnings: string[] = [];
  const watcher = createConfigWatcher({
    path,
    env: { TOKEN: 'a-long-enough-token' },
    debounceMs: DEBOUNCE_MS,
    onChange(result) {
      results.push(result);
      waiters.shift()?.(result);
    },
    logger: { warn: (_details, message) => warnings.push(message) },
  });
  const next = () =>
    new Promise<ConfigLoadResult>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no config change within the wait limit')), WAIT_LIMIT_MS);
      waiters.push((result) => {
        clearTimeout(timer);
        resolve(result);
      });
    });
  return { dir, path, results, warnings, watcher, next };
}

/** A bounded pause for "nothing should happen" checks: several debounce periods. */
const quietPeriod = () => new Promise((resolve) => setTimeout(resolve, DEBOUNCE_MS * 8));

function port(result: ConfigLoadResult): number | undefined {
  return result.ok ? result.config.gateway.port : undefined;
}

describe('createConfigWatcher', () => {
  it('delivers the new config when the file is edited', async () => {
    const t = setup('edit', '{ gateway: { port: 1000 } }');
    t.watcher.start();
    try {
      const change = t.next();
      writeFileSync(t.path, '{ gateway: { port: 2000, auth: { token: "${TOKEN}" } } }');
      const result = await change;
      assert.equal(port(result), 2000);
      assert.equal(result.ok && result.config.gateway.auth.token, 'a-long-enough-token');
      assert.equal(result.ok && result.source, 'file');
    } finally {
      t.watcher.stop();
    }
  });

  it('delivers issues for an invalid edit, then the fixed config', async () => {
    const t = setup('invalid', '{ gateway: { port: 1000 } }');
    t.watcher.start();
    try {
      let change = t.next();
      writeFileSync(t.path, '{\n  gateway: { prot: 1000 },\n}');
      const bad = await change;
      assert.equal(bad.ok, false);
      assert.deepEqual(bad.ok ? [] : bad.issues.map(({ path, line, suggestion }) => ({ path, line, suggestion })), [
        { path: 'gateway.prot', line: 2, suggestion: 'did you mean "port"?' },
      ]);
      change = t.next();
      writeFileSync(t.path, '{ gateway: { port: 3000 } }');
      assert.equal(port(await change), 3000);
    } finally {
      t.watcher.stop();
    }
  });

  it('sees a file replaced by rename (editor save) and a file created after start', async () => {
    const t = setup('rename');
    t.watcher.start();
    try {
      let change = t.next();
      writeFileSync(t.path, '{ gateway: { port: 4000 } }');
      assert.equal(port(await change), 4000);
      change = t.next();
      const temp = join(t.dir, '.hearth.json5.swp');
      writeFileSync(temp, '{ gateway: { port: 5000 } }');
      renameSync(temp, t.path);
      assert.equal(port(await change), 5000);
    } finally {
      t.watcher.stop();
    }
  });

  it('does not call onChange when the content is rewritten unchanged, or for other files', async () => {
    const text = '{ gateway: { port: 6000 } }';
    const t = setup('unchanged', text);
    t.watcher.start();
    try {
      writeFileSync(t.path, text);
      writeFileSync(join(t.dir, 'notes.txt'), 'unrelated');
      await quietPeriod();
      assert.equal(t.results.length, 0);
      // The watcher is alive: a real change still comes through, and it is the only call.
      const change = t.next();
      writeFileSync(t.path, '{ gateway: { port: 6001 } }');
      assert.equal(port(await change), 6001);
      assert.equal(t.results.length, 1);
    } finally {
      t.watcher.stop();
    }
  });

  it('debounces a burst of writes into one call with the final content', async () => {
    const t = setup('burst', '{ gateway: { port: 7000 } }');
    t.watcher.start();
    try {
      const change = t.next();
      for (let value = 7001; value <= 7005; value++) writeFileSync(t.path, `{ gateway: { port: ${value} } }`);
      assert.equal(port(await change), 7005);
      await quietPeriod();
      assert.equal(t.results.length, 1);
    } finally {
      t.watcher.stop();
    }
  });

  it('delivers the defaults when the file is deleted', async () => {
    const t = setup('delete', '{ gateway: { port: 8000 } }');
    t.watcher.start();
    try {
      const change = t.next();
      rmSync(t.path);
      const result = await change;
      assert.equal(result.ok && result.source, 'defaults');
      assert.equal(port(result), 18789);
    } finally {
      t.watcher.stop();
    }
  });

  it('stops: no calls after stop(), even for a change made just before it', async () => {
    const t = setup('stop', '{ gateway: { port: 9000 } }');
    t.watcher.start();
    writeFileSync(t.path, '{ gateway: { port: 9001 } }');
    t.watcher.stop();
    writeFileSync(t.path, '{ gateway: { port: 9002 } }');
    await quietPeriod();
    assert.equal(t.results.length, 0);
    t.watcher.stop(); // idempotent
  });

  it('logs and stays idle when the directory does not exist', () => {
    const warnings: string[] = [];
    const watcher = createConfigWatcher({
      path: join(root, 'no-such-dir', 'hearth.json5'),
      env: {},
      onChange: () => assert.fail('unexpected change'),
      logger: { warn: (_details, message) => warnings.push(message) },
    });
    watcher.start();
    watcher.stop();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /cannot watch the config directory/);
  });

  it('keeps watching when onChange throws', async () => {
    const t = setup('throws', '{ gateway: { port: 1100 } }');
    let calls = 0;
    const waiters: Array<() => void> = [];
    const watcher = createConfigWatcher({
      path: t.path,
      env: {},
      debounceMs: DEBOUNCE_MS,
      onChange() {
        calls++;
        waiters.shift()?.();
        throw new Error('handler bug');
      },
      logger: { warn: (_details, message) => t.warnings.push(message) },
    });
    const nextCall = () =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no call within the wait limit')), WAIT_LIMIT_MS);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    watcher.start();
    try {
      let call = nextCall();
      writeFileSync(t.path, '{ gateway: { port: 1101 } }');
      await call;
      call = nextCall();
      writeFileSync(t.path, '{ gateway: { port: 1102 } }');
      await call;
      assert.equal(calls, 2);
      assert.ok(t.warnings.some((message) => /handler threw/.test(message)));
    } finally {
      watcher.stop();
    }
  });
});
