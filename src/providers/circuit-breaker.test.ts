import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isHearthError } from '../contracts/errors.js';
import { type Admission, callOutcomeOf, createCircuitBreakers } from './circuit-breaker.js';

const TIMEOUT = { code: 'PROVIDER_TIMEOUT', message: 'sent nothing for 100 ms' };

function setup() {
  const clock = { now: 1_000_000 };
  const breakers = createCircuitBreakers({ config: () => ({ failureThreshold: 3, openMs: 10_000, maxOpenMs: 25_000 }), now: () => clock.now });
  return { clock, breakers, breaker: breakers.get('slow') };
}

function admitted(admission: Admission): { probe: boolean } {
  assert.equal(admission.allowed, true, admission.allowed ? '' : admission.error.message);
  return admission as { allowed: true; probe: boolean };
}

test('breaker: opens after the threshold of timeouts in a row and then fails fast with PROVIDER_UNAVAILABLE', () => {
  const { clock, breaker } = setup();
  for (let index = 0; index < 2; index += 1) breaker.settle('unanswered', admitted(breaker.admit()), TIMEOUT);
  assert.equal(breaker.health().state, 'closed');
  breaker.settle('unanswered', admitted(breaker.admit()), TIMEOUT);
  const health = breaker.health();
  assert.equal(health.state, 'open');
  assert.equal(health.consecutiveFailures, 3);
  assert.equal(health.probeAt, clock.now + 10_000);
  assert.equal(health.opened, 1);
  assert.deepEqual(health.lastError, TIMEOUT);
  const refused = breaker.admit();
  assert.equal(refused.allowed, false);
  assert.ok(!refused.allowed && isHearthError(refused.error));
  assert.equal(!refused.allowed && refused.error.code, 'PROVIDER_UNAVAILABLE');
  assert.equal(!refused.allowed && refused.error.retryAfterMs, 10_000);
  assert.match(!refused.allowed ? refused.error.message : '', /models\.providers\.slow\.baseUrl/);
});

test('breaker: an answer in between resets the count, so failures must be in a row', () => {
  const { breaker } = setup();
  breaker.settle('unanswered', admitted(breaker.admit()), TIMEOUT);
  breaker.settle('unanswered', admitted(breaker.admit()), TIMEOUT);
  breaker.settle('answered', admitted(breaker.admit()));
  breaker.settle('unanswered', admitted(breaker.admit()), TIMEOUT);
  breaker.settle('unanswered', admitted(breaker.admit()), TIMEOUT);
  assert.equal(breaker.health().state, 'closed');
  assert.equal(breaker.health().consecutiveFailures, 2);
  assert.notEqual(breaker.health().lastSuccessAt, null);
});

test('breaker: half-open after the wait lets exactly one probe through; an answer closes it', () => {
  const { clock, breaker } = setup();
  for (let index = 0; index < 3; index += 1) breaker.settle('unanswered', admitted(breaker.admit()), TIMEOUT);
  clock.now += 9_999;
  assert.equal(breaker.admit().allowed, false);
  clock.now += 1;
  assert.equal(breaker.health().state, 'half-open');
  const probe = admitted(breaker.admit());
  assert.equal(probe.probe, true);
  assert.equal(breaker.admit().allowed, false, 'a second call waits for the probe');
  breaker.settle('answered', probe);
  const health = breaker.health();
  assert.equal(health.state, 'closed');
  assert.equal(health.consecutiveFailures, 0);
  assert.equal(health.lastSuccessAt, clock.now);
  assert.equal(admitted(breaker.admit()).probe, false);
});

test('breaker: a failed probe opens it again for twice as long, capped at maxOpenMs', () => {
  const { clock, breaker } = setup();
  for (let index = 0; index < 3; index += 1) breaker.settle('unanswered', admitted(breaker.admit()), TIMEOUT);
  const waits: number[] = [];
  for (let round = 0; round < 3; round += 1) {
    const probeAt = breaker.health().probeAt ?? 0;
    clock.now = probeAt;
    breaker.settle('unanswered', admitted(breaker.admit()), TIMEOUT);
    waits.push((breaker.health().probeAt ?? 0) - clock.now);
    assert.equal(breaker.health().state, 'open');
  }
  assert.deepEqual(waits, [20_000, 25_000, 25_000]);
  assert.equal(breaker.health().opened, 4);
});

test('breaker: a probe whose caller left proves nothing and the next call probes again', () => {
  const { clock, breaker } = setup();
  for (let index = 0; index < 3; index += 1) breaker.settle('unanswered', admitted(breaker.admit()), TIMEOUT);
  clock.now += 10_000;
  breaker.settle('abandoned', admitted(breaker.admit()));
  assert.equal(breaker.health().state, 'half-open');
  assert.equal(admitted(breaker.admit()).probe, true);
});

test('breaker: refusals (auth, rate limits) are answers, only timeouts and connection failures count', () => {
  assert.equal(callOutcomeOf({ code: 'PROVIDER_TIMEOUT' }, false), 'unanswered');
  assert.equal(callOutcomeOf({ code: 'PROVIDER_NETWORK' }, false), 'unanswered');
  assert.equal(callOutcomeOf({ code: 'PROVIDER_RATE_LIMITED' }, false), 'answered');
  assert.equal(callOutcomeOf({ code: 'PROVIDER_AUTH' }, false), 'answered');
  assert.equal(callOutcomeOf(undefined, false), 'answered');
  assert.equal(callOutcomeOf({ code: 'PROVIDER_TIMEOUT' }, true), 'abandoned');
  const { breaker } = setup();
  for (let index = 0; index < 5; index += 1) breaker.settle('answered', admitted(breaker.admit()), { code: 'PROVIDER_AUTH', message: 'bad key' });
  const health = breaker.health();
  assert.equal(health.state, 'closed');
  assert.equal(health.lastError?.code, 'PROVIDER_AUTH');
  assert.equal(health.lastSuccessAt, null);
});

test('breakers: one per provider, bounded, and dropped when the provider leaves the config', () => {
  const breakers = createCircuitBreakers({ maxProviders: 2 });
  breakers.get('a');
  breakers.get('b');
  breakers.get('a');
  breakers.get('c');
  assert.deepEqual(breakers.list().map((health) => health.provider), ['a', 'c']);
  breakers.retain(['c']);
  assert.deepEqual(breakers.list().map((health) => health.provider), ['c']);
});
