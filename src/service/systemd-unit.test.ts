import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkUnitAfterUpdate, environmentNames, renderUnit } from './systemd-unit.js';

test('the variables a unit sets are read by name from every Environment= line, quoted or not', () => {
  const unit = '[Service]\nEnvironment=HEARTH_HOME=/h\nEnvironment="A=1 2" B=3\n  Environment = C=x\nEnvironmentFile=/e\n';
  assert.deepEqual(environmentNames(unit), ['A', 'B', 'C', 'HEARTH_HOME']);
});

test('a new unit keeps the variables of the unit it replaces, and its own HEARTH_HOME once', () => {
  const unit = renderUnit({ node: '/usr/bin/node', pkg: '/opt/hearth', home: '/h', environmentFile: '/h/service.env' }, '[Service]\nEnvironment=HEARTH_HOME=/old\nEnvironment=TZ=UTC\n');
  assert.deepEqual(environmentNames(unit), ['HEARTH_HOME', 'TZ']);
  assert.match(unit, /Environment=HEARTH_HOME=\/h\n/u);
  assert.match(unit, /ExecStart=\/usr\/bin\/node \/opt\/hearth\/bin\/hearth\.js service/u);
});

test('a unit that lost a variable during an update is written back as it was; an intact one is left alone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-unit-'));
  try {
    const path = join(dir, 'hearth.service');
    const before = '[Service]\nEnvironment=OPENAI_API_KEY=sk-1\nEnvironment=TZ=UTC\n';
    writeFileSync(path, '[Service]\nEnvironment=TZ=UTC\n');
    assert.deepEqual(checkUnitAfterUpdate(path, before), ['OPENAI_API_KEY']);
    assert.equal(readFileSync(path, 'utf8'), before);
    writeFileSync(path, `${before}Environment=EXTRA=1\n`);
    assert.deepEqual(checkUnitAfterUpdate(path, before), []);
    assert.match(readFileSync(path, 'utf8'), /EXTRA=1/u, 'an added variable is not undone');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
