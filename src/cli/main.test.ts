import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliFailure } from './cli-context.js';
import { plainGatewayArgs } from './main.js';

describe('hearth gateway without the command-line parser', () => {
  it('takes `gateway` with --port and --bind, in any order', () => {
    assert.deepEqual(plainGatewayArgs(['gateway']), {});
    assert.deepEqual(plainGatewayArgs(['gateway', '--port', '0']), { port: 0 });
    assert.deepEqual(plainGatewayArgs(['gateway', '--bind', 'lan', '--port', '18789']), { port: 18789, bind: 'lan' });
  });

  it('leaves every other form to commander (help, --port=n, subcommands, unknown or missing values)', () => {
    for (const args of [
      [],
      ['status'],
      ['gateway', 'token'],
      ['gateway', '--help'],
      ['gateway', '--port=1'],
      ['gateway', '--port'],
      ['gateway', '--port', '--bind'],
      ['gateway', '--verbose', '1'],
    ]) {
      assert.equal(plainGatewayArgs(args), null, args.join(' '));
    }
  });

  it('refuses a port that is not a whole number from 0 to 65535, as commander would', () => {
    for (const value of ['abc', '70000', '1.5']) {
      assert.throws(() => plainGatewayArgs(['gateway', '--port', value]), (error: unknown) => error instanceof CliFailure && /--port must be a whole number/.test(error.message));
    }
  });
});
