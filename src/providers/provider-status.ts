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

/** One step of an agent's failover order as `status` shows it. */
export interface FailoverStep {
  ref: string;
  provider: string;
  /** The provider's breaker; `unknown` before its first call. */
  state: ProviderHealth['state'] | 'unknown';
  /** While the breaker is open: how long until the next call may probe it (ms). */
  retryInMs: number | null;
  lastError: string | null;
}

/** A provider's health with the time left before its breaker lets a probe through. */
export function withRetryIn(health: ProviderHealth, now: number): ProviderHealth & { retryInMs: number | null } {
  return { ...health, retryInMs: health.state === 'open' && health.probeAt !== null ? Math.max(0, health.probeAt - now) : null };
}

/** An agent's model refs in the order the router tries them, each with its provider's breaker state and cool-down. */
export function failoverOrder(refs: readonly string[], providers: readonly ProviderHealth[], now: number): FailoverStep[] {
  const byId = new Map(providers.map((health) => [health.provider, health]));
  return refs.map((ref) => {
    const provider = ref.slice(0, Math.max(0, ref.indexOf('/')));
    const health = byId.get(provider);
    if (!health) return { ref, provider, state: 'unknown', retryInMs: null, lastError: null };
    return { ref, provider, state: health.state, retryInMs: withRetryIn(health, now).retryInMs, lastError: providerInTrouble(health) ? (health.lastError?.code ?? null) : null };
  });
}

/** `a → b (breaker open, retry in 12 s) → c` */
export function describeFailover(steps: readonly FailoverStep[]): string {
  return steps
    .map((step) => {
      if (step.state === 'open') return `${step.ref} (breaker open${step.retryInMs === null ? '' : `, retry in ${Math.ceil(step.retryInMs / 1000)} s`}${step.lastError ? `, ${step.lastError}` : ''})`;
      if (step.state === 'half-open') return `${step.ref} (breaker half-open: the next call probes it)`;
      return step.lastError ? `${step.ref} (last call failed: ${step.lastError})` : step.ref;
    })
    .join(' → ');
}
