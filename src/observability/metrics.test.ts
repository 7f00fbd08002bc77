import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProviderHealth } from '../providers/circuit-breaker.js';
import { createMetrics, withoutPlaceholderSamples } from './metrics.js';

const TIMEOUT = { timeout: 10_000 };

function metricsWith(providers: ProviderHealth[]) {
  return createMetrics({ outboxCounts: async () => [], channels: async () => [], cronJobs: () => [], providers: () => providers });
}

test('metrics: the first scrapes print no event-loop placeholders (NaN, 2^63 ns, a lag of exactly 0)', TIMEOUT, async () => {
  const metrics = metricsWith([]);
  for (const text of [await metrics.render(), await metrics.render()]) {
    assert.doesNotMatch(text, /\bNaN\b/iu);
    assert.doesNotMatch(text, /9223372036/u);
    assert.doesNotMatch(text, /^hearth_nodejs_eventloop_lag_seconds 0$/mu);
    assert.match(text, /^# HELP hearth_nodejs_eventloop_lag_min_seconds/mu);
  }
});

test('metrics: real event-loop figures are kept', () => {
  const text = ['# HELP hearth_nodejs_eventloop_lag_min_seconds x', 'hearth_nodejs_eventloop_lag_min_seconds 0.0101', 'hearth_nodejs_eventloop_lag_mean_seconds 0.0102', 'hearth_nodejs_eventloop_lag_seconds 0.0013'].join('\n');
  assert.equal(withoutPlaceholderSamples(text), text);
});

test('metrics: breaker state, failures in a row and last success/failure per provider', TIMEOUT, async () => {
  const metrics = metricsWith([
    { provider: 'hung', state: 'open', consecutiveFailures: 3, probeAt: 2_000_000, lastSuccessAt: null, lastFailureAt: 1_000_000, lastError: { code: 'PROVIDER_TIMEOUT', message: 'x' }, opened: 1 },
    { provider: 'ok', state: 'closed', consecutiveFailures: 0, probeAt: null, lastSuccessAt: 1_500_000, lastFailureAt: null, lastError: null, opened: 0 },
  ]);
  const text = await metrics.render();
  assert.match(text, /^hearth_provider_breaker_state\{provider="hung",state="open"\} 1$/mu);
  assert.match(text, /^hearth_provider_breaker_state\{provider="hung",state="closed"\} 0$/mu);
  assert.match(text, /^hearth_provider_breaker_state\{provider="ok",state="closed"\} 1$/mu);
  assert.match(text, /^hearth_provider_consecutive_failures\{provider="hung"\} 3$/mu);
  assert.match(text, /^hearth_provider_breaker_opened_total\{provider="hung"\} 1$/mu);
  assert.match(text, /^hearth_provider_last_failure_timestamp\{provider="hung"\} 1000$/mu);
  assert.match(text, /^hearth_provider_last_success_timestamp\{provider="ok"\} 1500$/mu);
  assert.doesNotMatch(text, /^hearth_provider_last_success_timestamp\{provider="hung"\}/mu);
});

test('metrics: memory index lag is the age of the oldest change still waiting, else the last measured lag', TIMEOUT, async () => {
  const agent = (name: string, waitingSinceMs: number, lastIndexLagMs: number | null) => ({ agentId: name, files: 1, chunks: 2, pending: 0, embeddingFailures: 0, lastIndexLagMs, waitingSinceMs, searchSeconds: [] });
  const metrics = createMetrics({ outboxCounts: async () => [], channels: async () => [], cronJobs: () => [], memory: () => [agent('stuck', 45_000, 800), agent('fine', 0, 800), agent('new', 0, null)] });
  const text = await metrics.render();
  assert.match(text, /^hearth_memory_index_lag_seconds\{agent="stuck"\} 45$/mu);
  assert.match(text, /^hearth_memory_index_lag_seconds\{agent="fine"\} 0\.8$/mu);
  assert.doesNotMatch(text, /^hearth_memory_index_lag_seconds\{agent="new"\}/mu);
  assert.match(text, /^hearth_memory_chunks\{agent="stuck"\} 2$/mu);
});
