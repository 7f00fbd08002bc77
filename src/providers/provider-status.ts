import type { ProviderHealth } from './circuit-breaker.js';

/** A readiness entry as `/readyz` and `health` show it. */
export interface ModelsReadiness {
  status: 'ok' | 'degraded' | 'down' | 'starting';
  detail?: string;
}

const ago = (at: number, now: number) => `${Math.max(0, Math.round((now - at) / 1000))} s ago`;

/** Whether the provider's last call failed (and nothing succeeded since) or its breaker is not closed. */
export function providerInTrouble(health: ProviderHealth): boolean {
  if (health.state !== 'closed') return true;
  return health.lastFailureAt !== null && (health.lastSuccessAt === null || health.lastFailureAt > health.lastSuccessAt);
}

/**
 * One line about a provider: its breaker, its last success and its last failure (with the error's
 * message, or only its code for `brief`, which unauthenticated `/readyz` shows).
 */
export function describeProvider(health: ProviderHealth, now: number, brief = false): string {
  const parts: string[] = [];
  if (health.state === 'open') {
    parts.push(`not answering: breaker open after ${health.consecutiveFailures} failed calls in a row, next probe in ${Math.max(0, Math.ceil(((health.probeAt ?? now) - now) / 1000))} s`);
  } else if (health.state === 'half-open') {
    parts.push(`not answering: breaker half-open after ${health.consecutiveFailures} failed calls in a row, the next call probes it`);
  } else {
    parts.push('breaker closed');
  }
  parts.push(health.lastSuccessAt === null ? 'no answer yet' : `last answer ${ago(health.lastSuccessAt, now)}`);
  if (health.lastFailureAt !== null && health.lastError) parts.push(`last failure ${ago(health.lastFailureAt, now)}: ${brief ? health.lastError.code : health.lastError.message}`);
  return `${health.provider}: ${parts.join('; ')}`;
}

/**
 * The `models` readiness: what the configuration says (`base`: a model for every agent?) plus what
 * the calls showed. A provider whose breaker is open or whose last call failed makes it degraded
 * (still ready: the other providers and the fallbacks keep answering).
 */
export function modelsReadiness(base: ModelsReadiness, providers: readonly ProviderHealth[], now: number): ModelsReadiness {
  const troubled = providers.filter(providerInTrouble);
  if (troubled.length === 0) return base;
  const detail = troubled.map((health) => describeProvider(health, now, true)).join(' | ');
  return { status: base.status === 'ok' ? 'degraded' : base.status, detail: base.detail ? `${detail} | ${base.detail}` : detail };
}
