import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChannelAccountStatus, ChannelHealthEvent, ChannelProbeResult } from '../contracts/channel.js';
import { ChannelError } from '../contracts/channel.js';
import { type ChannelHealthConfig, type ChannelHealthTarget, createChannelHealth } from './channel-health.js';

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

type Status = Omit<ChannelAccountStatus, 'outbox'>;

/** A scripted account: the test sets its status and probe answer; reconnects are counted. */
function fakeAccount(channel = 'telegram', account = 'default') {
  const fake = {
    status: {
      channel,
      accountId: account,
      state: 'connected',
      connected: true,
      authenticated: true,
      botName: '@bot',
      since: 0,
      lastInboundAt: null,
      lastOutboundAt: null,
      lastError: null,
      suggestedAction: null,
      reconnects: 0,
    } as Status,
    refused: false,
    probeAnswer: (): Promise<ChannelProbeResult> => Promise.resolve({ status: 'ok', detail: 'nothing waiting' }),
    probes: 0,
    reconnects: [] as string[],
    target(): ChannelHealthTarget {
      return {
        channel,
        account,
        status: () => ({ ...fake.status }),
        credentialsRefused: () => fake.refused,
        probe: () => {
          fake.probes += 1;
          return fake.probeAnswer();
        },
        reconnect: (reason) => fake.reconnects.push(reason),
        authHint: 'set a new botToken',
      };
    },
  };
  return fake;
}

const deaf = (): Promise<ChannelProbeResult> =>
  Promise.resolve({ status: 'degraded', detail: '3 update(s) have waited at Telegram', suggestedAction: 'make sure no other program polls this bot' });

function setup(accounts: () => ChannelHealthTarget[], config: Partial<ChannelHealthConfig> = {}) {
  let clock = 1_000_000;
  const events: ChannelHealthEvent[] = [];
  const errors: string[] = [];
  const health = createChannelHealth({
    accounts,
    config: () => ({ intervalMs: 60_000, functionalWindowMs: 30 * 60_000, probeTimeoutMs: 1000, maxRecoveryAttempts: 3, ...config }),
    onAlert: (event) => events.push(event),
    logger: { info() {}, warn() {}, error: (_obj, msg) => errors.push(msg ?? '') },
    now: () => clock,
  });
  return {
    health,
    events,
    errors,
    advance: (ms: number) => {
      clock += ms;
    },
    now: () => clock,
  };
}

describe('channel health', () => {
  it('counts a message handled within the window as working without probing, and probes a quiet account', async () => {
    const fake = fakeAccount();
    const { health, advance, now } = setup(() => [fake.target()]);
    fake.status.lastInboundAt = now() - 60_000;
    await health.tick();
    assert.equal(fake.probes, 0, 'a recent message is proof enough');
    assert.equal(health.get('telegram', 'default').dimensions.functional.status, 'ok');

    advance(30 * 60_000);
    await health.tick();
    assert.equal(fake.probes, 1, 'quiet for the whole window: the probe decides');
    const report = health.get('telegram', 'default');
    assert.equal(report.status, 'ok');
    assert.match(report.dimensions.functional.detail ?? '', /nothing waiting/u);
    assert.equal(report.checkedAt, now());
  });

  it('records degradedSince and the suggested action, keeps degradedSince while degraded, and clears it when ok', async () => {
    const fake = fakeAccount();
    const { health, advance, now } = setup(() => [fake.target()]);
    fake.probeAnswer = deaf;
    await health.tick();
    const since = now();
    let functional = health.get('telegram', 'default').dimensions.functional;
    assert.equal(functional.status, 'degraded');
    assert.equal(functional.degradedSince, since);
    assert.equal(functional.suggestedAction, 'make sure no other program polls this bot');
    advance(60_000);
    await health.tick();
    functional = health.get('telegram', 'default').dimensions.functional;
    assert.equal(functional.degradedSince, since, 'the episode start is kept');

    // A reconnect (the recovery itself) does not make it look new: still degraded, same start.
    Object.assign(fake.status, { state: 'reconnecting', connected: false });
    functional = health.get('telegram', 'default').dimensions.functional;
    assert.deepEqual([functional.status, functional.degradedSince], ['degraded', since]);
    Object.assign(fake.status, { state: 'connected', connected: true });
    advance(60_000);
    await health.tick();
    assert.equal(health.get('telegram', 'default').dimensions.functional.degradedSince, since);

    fake.probeAnswer = () => Promise.resolve({ status: 'ok', detail: 'nothing waiting' });
    advance(60_000);
    await health.tick();
    functional = health.get('telegram', 'default').dimensions.functional;
    assert.deepEqual([functional.status, functional.degradedSince, functional.suggestedAction], ['ok', null, null]);

    // An account that was fine and loses its connection is no longer known to work.
    Object.assign(fake.status, { state: 'reconnecting', connected: false });
    assert.equal(health.get('telegram', 'default').dimensions.functional.status, 'unknown');
  });

  it('reconnects a degraded account after one tick of grace, at most maxRecoveryAttempts times, then alerts once', async () => {
    const fake = fakeAccount();
    const { health, advance, events } = setup(() => [fake.target()], { maxRecoveryAttempts: 2 });
    fake.probeAnswer = deaf;
    await health.tick();
    assert.deepEqual(fake.reconnects, [], 'the first tick only notices');
    assert.equal(health.get('telegram', 'default').episode?.recoveryAttempts, 0);
    for (let attempt = 1; attempt <= 2; attempt++) {
      advance(60_000);
      await health.tick();
      assert.equal(fake.reconnects.length, attempt);
      assert.deepEqual(events, [], 'no alert while self-recovery has attempts left');
    }
    assert.match(fake.reconnects[0] ?? '', /functional degraded/u);
    for (let tick = 0; tick < 4; tick++) {
      advance(60_000);
      await health.tick();
    }
    assert.equal(fake.reconnects.length, 2, 'recovery is bounded');
    assert.equal(events.length, 1, 'one alert per episode');
    const alert = events[0];
    assert.equal(alert?.event, 'channel.health');
    if (alert?.event !== 'channel.health') return;
    assert.deepEqual(
      { channel: alert.channel, account: alert.account, dimension: alert.dimension, status: alert.status, recoveryAttempts: alert.recoveryAttempts, suggestedAction: alert.suggestedAction },
      { channel: 'telegram', account: 'default', dimension: 'functional', status: 'degraded', recoveryAttempts: 2, suggestedAction: 'make sure no other program polls this bot' },
    );
    const report = health.get('telegram', 'default');
    assert.equal(report.lastAlert?.at, report.episode?.alertedAt);

    fake.probeAnswer = () => Promise.resolve({ status: 'ok', detail: 'nothing waiting' });
    advance(60_000);
    await health.tick();
    assert.equal(events.length, 2);
    assert.deepEqual(events[1], { event: 'channel.health.recovered', channel: 'telegram', account: 'default', degradedSince: alert.degradedSince, recoveryAttempts: 2, at: alert.at + 4 * 60_000 });
    const recovered = health.get('telegram', 'default');
    assert.equal(recovered.episode, null);
    assert.equal(recovered.recoveredAt, alert.at + 4 * 60_000);
    assert.ok(recovered.lastAlert, 'the last alert stays visible after the recovery');

    // A new episode starts over: grace, attempts, then a new alert.
    fake.probeAnswer = deaf;
    for (let tick = 0; tick < 4; tick++) {
      advance(60_000);
      await health.tick();
    }
    assert.equal(fake.reconnects.length, 4);
    assert.equal(events.length, 3);
  });

  it('a one-tick blip is neither reconnected nor alerted, and its all-clear is only logged', async () => {
    const fake = fakeAccount();
    const { health, advance, events } = setup(() => [fake.target()]);
    fake.probeAnswer = deaf;
    await health.tick();
    fake.probeAnswer = () => Promise.resolve({ status: 'ok', detail: 'nothing waiting' });
    advance(60_000);
    await health.tick();
    assert.deepEqual(fake.reconnects, []);
    assert.deepEqual(events, []);
    assert.equal(health.get('telegram', 'default').episode, null);
  });

  it('names refused credentials as the application fault, with the fix', async () => {
    const fake = fakeAccount();
    const { health, advance, events } = setup(() => [fake.target()], { maxRecoveryAttempts: 1 });
    Object.assign(fake.status, { state: 'unhealthy', connected: false, authenticated: false, lastError: 'Telegram refused: 401 Unauthorized', suggestedAction: 'set a new botToken' });
    fake.refused = true;
    await health.tick();
    const report = health.get('telegram', 'default');
    assert.equal(report.dimensions.application.status, 'down');
    assert.equal(report.dimensions.transport.status, 'down');
    assert.equal(report.dimensions.functional.status, 'unknown', 'messages cannot be judged without a connection');
    assert.equal(fake.probes, 0);
    advance(60_000);
    await health.tick();
    assert.equal(fake.reconnects.length, 1, 're-authentication is tried');
    advance(60_000);
    await health.tick();
    const alert = events[0];
    assert.equal(alert?.event === 'channel.health' && alert.dimension, 'application');
    assert.equal(alert?.event === 'channel.health' && alert.suggestedAction, 'set a new botToken');
  });

  it('alerts without reconnecting an account that has nothing to reconnect', async () => {
    const target: ChannelHealthTarget = {
      channel: 'discord',
      account: 'default',
      status: () => ({
        channel: 'discord',
        accountId: 'default',
        state: 'unhealthy',
        connected: false,
        authenticated: false,
        botName: null,
        since: 0,
        lastInboundAt: null,
        lastOutboundAt: null,
        lastError: 'channels.discord.token is not set',
        suggestedAction: 'Fix channels.discord in the config: channels.discord.token is not set',
        reconnects: 0,
      }),
      credentialsRefused: () => false,
      authHint: null,
    };
    const { health, advance, events } = setup(() => [target]);
    await health.tick();
    advance(60_000);
    await health.tick();
    assert.equal(events.length, 1);
    assert.equal(events[0]?.event === 'channel.health' && events[0].dimension, 'transport');
    assert.equal(events[0]?.event === 'channel.health' && events[0].recoveryAttempts, 0);
  });

  it('counts a probe that does not answer in time, or fails, as degraded', async () => {
    const fake = fakeAccount();
    const { health } = setup(() => [fake.target()], { probeTimeoutMs: 100 });
    fake.probeAnswer = () => new Promise(() => {});
    const started = Date.now();
    await health.tick();
    assert.ok(Date.now() - started < 2000, 'the tick is not held by a probe that never answers');
    let functional = health.get('telegram', 'default').dimensions.functional;
    assert.equal(functional.status, 'degraded');
    assert.match(functional.detail ?? '', /did not answer within 100 ms/u);

    fake.probeAnswer = () => Promise.reject(new ChannelError('auth', 'Telegram refused: 401 Unauthorized'));
    const probed = await health.probe('telegram', 'default');
    functional = probed.dimensions.functional;
    assert.match(functional.detail ?? '', /probe failed: Telegram refused/u);
    assert.equal(functional.suggestedAction, 'set a new botToken');
  });

  it('a probe refused on the credentials while the connection stays logged in marks the application down with the fix, until a probe or a sent message gets past the login', async () => {
    const fake = fakeAccount('email', 'default');
    const { health, advance, now, events } = setup(() => [fake.target()], { maxRecoveryAttempts: 0 });
    fake.probeAnswer = () => Promise.reject(new ChannelError('auth', 'the SMTP server smtp.example.org refused the login of bot@example.org'));
    let report = await health.probe('email', 'default');
    assert.equal(report.dimensions.transport.status, 'ok', 'the IMAP connection is still open');
    assert.equal(report.dimensions.application.status, 'down');
    assert.match(report.dimensions.application.detail ?? '', /refused the login of bot@example\.org/u);
    assert.equal(report.dimensions.application.suggestedAction, 'set a new botToken');
    assert.equal(health.get('email', 'default').dimensions.application.status, 'down', 'the live view keeps it between checks');
    await health.tick();
    await health.tick();
    assert.equal(events[0]?.event === 'channel.health' && events[0].dimension, 'application', 'the alert names the credentials, not the traffic');

    // A probe that times out says nothing about the login: still down.
    fake.probeAnswer = () => Promise.reject(new ChannelError('transient', 'timed out'));
    assert.equal((await health.probe('email', 'default')).dimensions.application.status, 'down');
    fake.probeAnswer = () => Promise.resolve({ status: 'ok', detail: 'SMTP accepts the login' });
    report = await health.probe('email', 'default');
    assert.equal(report.dimensions.application.status, 'ok');

    fake.probeAnswer = () => Promise.reject(new ChannelError('auth', 'refused'));
    assert.equal((await health.probe('email', 'default')).dimensions.application.status, 'down');
    advance(1000);
    fake.status.lastOutboundAt = now();
    assert.equal(health.get('email', 'default').dimensions.application.status, 'ok', 'a reply went out since: the login works again');
  });

  it('probe checks now without starting recovery; an unknown account names the configured ones', async () => {
    const fake = fakeAccount();
    const { health } = setup(() => [fake.target()], { maxRecoveryAttempts: 1 });
    fake.probeAnswer = deaf;
    for (let i = 0; i < 3; i++) await health.probe('telegram', 'default');
    assert.equal(fake.probes, 3);
    assert.deepEqual(fake.reconnects, []);
    assert.equal(health.get('telegram', 'default').episode, null);
    assert.throws(() => health.get('telegram', 'work'), /No channel account telegram:work\. Configured: telegram:default\./u);
  });

  it('readiness names the account, the dimension and the suggested action', async () => {
    const fake = fakeAccount();
    const { health } = setup(() => [fake.target()]);
    assert.deepEqual(createChannelHealth({ accounts: () => [], config: () => ({ intervalMs: 1000, functionalWindowMs: 1000, probeTimeoutMs: 100, maxRecoveryAttempts: 0 }), onAlert() {}, logger: { info() {}, warn() {}, error() {} } }).readiness(), {
      status: 'ok',
      detail: 'no channels configured',
    });
    await health.tick();
    assert.deepEqual(health.readiness(), { status: 'ok', detail: '1 connected' });
    // A connection being opened shows at once, without waiting for a tick.
    Object.assign(fake.status, { state: 'starting', connected: false });
    assert.deepEqual(health.readiness(), { status: 'degraded', detail: 'telegram:default connecting' });
    Object.assign(fake.status, { state: 'connected', connected: true });

    fake.probeAnswer = deaf;
    await health.tick();
    const ready = health.readiness();
    assert.equal(ready.status, 'degraded');
    assert.match(ready.detail, /^telegram:default functional degraded: .*3 update\(s\) have waited.* — make sure no other program polls this bot$/u);
  });

  it('forgets accounts that are gone, and the timer runs ticks until stopped', async () => {
    const first = fakeAccount('telegram', 'a');
    const second = fakeAccount('telegram', 'b');
    let accounts = [first.target(), second.target()];
    const { health } = setup(() => accounts);
    await health.tick();
    assert.equal(health.list().length, 2);
    accounts = [first.target()];
    assert.deepEqual(
      health.list().map((report) => report.account),
      ['a'],
    );

    const timed = createChannelHealth({
      accounts: () => [first.target()],
      config: () => ({ intervalMs: 100, functionalWindowMs: 0, probeTimeoutMs: 50, maxRecoveryAttempts: 0 }),
      onAlert() {},
      logger: { info() {}, warn() {}, error() {} },
    });
    const before = first.probes;
    const started = performance.now();
    timed.start();
    timed.start();
    // Timers never fire early, so three ticks take at least three intervals with one timer (a busy
    // machine only makes them later); a second timer would bring the third tick at two intervals.
    await until(() => first.probes - before >= 3, 'three ticks');
    const elapsed = performance.now() - started;
    timed.stop();
    assert.ok(elapsed >= 290, `one timer, one tick per interval (3 ticks in ${Math.round(elapsed)} ms)`);
    const ran = first.probes - before;
    // Nothing to wait for when nothing should happen: give a stray timer two and a half intervals.
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(first.probes - before, ran, 'no tick after stop');
  });

  it('an alert handler that throws does not break the checks', async () => {
    const fake = fakeAccount();
    let clock = 0;
    const health = createChannelHealth({
      accounts: () => [fake.target()],
      config: () => ({ intervalMs: 1000, functionalWindowMs: 0, probeTimeoutMs: 100, maxRecoveryAttempts: 0 }),
      onAlert: () => {
        throw new Error('sink down');
      },
      logger: { info() {}, warn() {}, error() {} },
      now: () => clock,
    });
    fake.probeAnswer = deaf;
    await health.tick();
    clock += 1000;
    await health.tick();
    assert.ok(health.get('telegram', 'default').lastAlert, 'the alert is recorded all the same');
  });
});
