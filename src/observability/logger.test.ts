import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger, formatLogLine, serializeError } from './logger.js';

/** The log file once it holds `text` in a whole line: it is opened and written in the background, so this flushes and reads again until then (5 s at most). */
async function logFileWith(path: string, flush: () => void, text: string): Promise<string> {
  const deadline = Date.now() + 5000;
  for (;;) {
    flush();
    const file = existsSync(path) ? readFileSync(path, 'utf8') : '';
    if (file.includes(text) && file.endsWith('\n')) return file;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${text} in ${path}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('secrets are redacted in the log file and on the terminal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-log-'));
  let terminal = '';
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      terminal += chunk;
      callback();
    },
  });
  try {
    const { logger, flush } = createLogger({ level: 'info', logsDir: dir, terminal: sink });
    logger.info({ apiKey: 'sk-secret-1', provider: { apiKey: 'sk-secret-2' }, headers: { authorization: 'Bearer tok-3' }, auth: { token: 'tok-4' } }, 'provider configured');
    const file = await logFileWith(join(dir, 'gateway.log'), flush, '"msg":"provider configured"');
    for (const secret of ['sk-secret-1', 'sk-secret-2', 'tok-3', 'tok-4']) {
      assert.ok(!file.includes(secret), `${secret} leaked into the log file`);
      assert.ok(!terminal.includes(secret), `${secret} leaked onto the terminal`);
    }
    assert.match(file, /"msg":"provider configured"/);
    assert.match(terminal, /INFO {2}provider configured/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a logged error is typed by its name, which survives the bundle, not by its class name, which the bundle minifies', () => {
  // What the bundle makes of `class StoreDamaged extends Error { override readonly name = 'StoreDamaged' }`.
  const e = class extends Error {
    override readonly name = 'StoreDamaged';
  };
  const fields = serializeError(new e('the database is damaged'));
  assert.equal(fields.type, 'StoreDamaged');
  assert.equal(fields.message, 'the database is damaged');
  assert.equal(serializeError(new TypeError('bad')).type, 'TypeError');
  class UnnamedError extends Error {}
  assert.equal(serializeError(new UnnamedError('x')).type, 'UnnamedError', 'without a name of its own, the class name as before');
});

test('terminal lines are readable', () => {
  const line = formatLogLine(JSON.stringify({ level: 40, time: 0, msg: 'config edit rejected', path: '/x/hearth.json5' }));
  assert.match(line, /WARN {2}config edit rejected {2}path=\/x\/hearth\.json5/);
});
