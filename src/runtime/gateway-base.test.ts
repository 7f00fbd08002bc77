import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { prepareGateway } from './gateway-base.js';

/** The first line of the JSON log that `match` accepts, once the asynchronous log file has it (5 s at most). */
async function logLine(path: string, match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      // Not created yet.
    }
    const found = text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find(match);
    if (found) return found;
    if (Date.now() > deadline) assert.fail(`no matching line in ${path}:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('prepareGateway', () => {
  let home = '';
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'hearth-base-'));
  });
  afterEach(() => {
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('logs the config warnings it starts with, naming the key and line', async () => {
    writeFileSync(join(home, 'hearth.json5'), '{\n  agents: { defaults: { model: "ollama/qwen3:8b" } },\n}\n');
    prepareGateway({ env: { HOME: home, HEARTH_HOME: home }, terminal: null });
    const warning = await logLine(join(home, 'logs', 'gateway.log'), (line) => line.key === 'agents.defaults.model');
    assert.equal(warning.level, 40);
    assert.equal(warning.line, 2);
    assert.match(String(warning.msg), /provider "ollama", which is not in models.providers/);
  });
});
