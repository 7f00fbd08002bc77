import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { type GatewayAddress, gatewayAddressPath, readGatewayAddress, removeGatewayAddress, writeGatewayAddress } from './gateway-address-file.js';

describe('gateway address file', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-address-'));
  });
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const address = (pid: number): GatewayAddress => ({ pid, host: '127.0.0.1', port: 40123, url: 'http://127.0.0.1:40123', startedAt: 1 });

  it('reads back what the running gateway wrote, owner-only', () => {
    writeGatewayAddress(dir, address(process.pid));
    assert.deepEqual(readGatewayAddress(dir), address(process.pid));
    if (process.platform !== 'win32') assert.equal(statSync(gatewayAddressPath(dir)).mode & 0o777, 0o600);
  });

  it('ignores a file whose process is gone', () => {
    writeGatewayAddress(dir, address(4242));
    assert.equal(readGatewayAddress(dir, () => false), undefined);
    assert.deepEqual(readGatewayAddress(dir, (pid) => pid === 4242), address(4242));
  });

  it('ignores a missing, unreadable or malformed file', () => {
    assert.equal(readGatewayAddress(dir), undefined);
    writeFileSync(gatewayAddressPath(dir), '{"pid": 1, "port": "x"');
    assert.equal(readGatewayAddress(dir), undefined);
    writeFileSync(gatewayAddressPath(dir), JSON.stringify({ ...address(process.pid), url: 'file:///etc/passwd' }));
    assert.equal(readGatewayAddress(dir), undefined);
  });

  it('is removed only by the process it names', () => {
    writeGatewayAddress(dir, address(4242));
    removeGatewayAddress(dir, process.pid);
    assert.ok(existsSync(gatewayAddressPath(dir)), 'another gateway\'s file was removed');
    removeGatewayAddress(dir, 4242);
    assert.equal(existsSync(gatewayAddressPath(dir)), false);
  });
});
