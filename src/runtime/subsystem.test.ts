import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSubsystemHost, defineSubsystem, type Subsystem } from './subsystem.js';

function recorder() {
  const events: string[] = [];
  const errors: string[] = [];
  const logger = { error: (_details: object, message: string) => errors.push(message) };
  const tracked = (name: string, options: { failStart?: boolean; failStop?: boolean } = {}): Subsystem<{ before?: string }, string> =>
    defineSubsystem({
      name,
      async start(deps: { before?: string }) {
        events.push(`start ${name}${deps.before ? ` after ${deps.before}` : ''}`);
        if (options.failStart) throw new Error(`${name} cannot start`);
        return {
          api: `${name}-api`,
          health: () => ({ status: 'ok' as const, detail: name }),
          drain: () => void events.push(`drain ${name}`),
          stop: () => {
            events.push(`stop ${name}`);
            if (options.failStop) throw new Error(`${name} cannot stop`);
          },
        };
      },
    });
  return { events, errors, logger, tracked };
}

describe('subsystem host', () => {
  it('starts in order, hands each API to the next, drains then stops newest first', async () => {
    const { events, logger, tracked } = recorder();
    const host = createSubsystemHost(logger);
    const store = await host.start(tracked('store'), {});
    const turns = await host.start(tracked('turns'), { before: store });
    await host.start(tracked('gateway'), { before: turns });
    assert.deepEqual(host.health(), {
      store: { status: 'ok', detail: 'store' },
      turns: { status: 'ok', detail: 'turns' },
      gateway: { status: 'ok', detail: 'gateway' },
    });
    await Promise.all([host.stop(), host.stop()]);
    assert.deepEqual(events, [
      'start store',
      'start turns after store-api',
      'start gateway after turns-api',
      'drain gateway',
      'drain turns',
      'drain store',
      'stop gateway',
      'stop turns',
      'stop store',
    ]);
  });

  it('a subsystem that fails to start stops the ones already started, and the error reaches the caller', async () => {
    const { events, logger, tracked } = recorder();
    const host = createSubsystemHost(logger);
    await host.start(tracked('store'), {});
    await assert.rejects(host.start(tracked('gateway', { failStart: true }), {}), /gateway cannot start/);
    assert.deepEqual(events, ['start store', 'start gateway', 'drain store', 'stop store']);
    await assert.rejects(host.start(tracked('late'), {}), /cannot start late: the gateway is stopping/);
  });

  it('a subsystem that fails to stop is logged and the others still stop', async () => {
    const { events, errors, logger, tracked } = recorder();
    const host = createSubsystemHost(logger);
    await host.start(tracked('store'), {});
    await host.start(tracked('channels', { failStop: true }), {});
    await host.stop();
    assert.deepEqual(events.slice(-2), ['stop channels', 'stop store']);
    assert.deepEqual(errors, ['channels failed to stop; stopping the rest']);
  });
});
