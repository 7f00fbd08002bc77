import { HearthError } from '../contracts/errors.js';

/** `models.breaker`: when a provider that stops answering is skipped, and for how long. */
export interface BreakerConfig {
  /** Timeouts or connection failures in a row that open the breaker. */
  failureThreshold: number;
  /** How long an open breaker fails calls fast before one call is let through as a probe. */
  openMs: number;
  /** Each failed probe doubles the open time, up to this. */
  maxOpenMs: number;
}

export const DEFAULT_BREAKER_CONFIG: BreakerConfig = { failureThreshold: 3, openMs: 30_000, maxOpenMs: 300_000 };

/** closed: calls go through; open: calls fail fast; half-open: one probe call goes through. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** What `status`, `/readyz`, `/metrics` and `doctor` show about one provider. */
export interface ProviderHealth {
  provider: string;
  state: BreakerState;
  consecutiveFailures: number;
  /** While open: when the next probe may go (ms since the epoch). */
  probeAt: number | null;
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  lastError: { code: string; message: string } | null;
  /** How many times the breaker has opened since the gateway started. */
  opened: number;
}

/** The answer to "may this call go to the provider?". */
export type Admission = { allowed: true; probe: boolean } | { allowed: false; error: HearthError };

/** One call's end as the breaker sees it: the provider answered, did not answer, or the caller left. */
export type CallOutcome = 'answered' | 'unanswered' | 'abandoned';

/** The breaker of one provider. `admit()` before each call; exactly one `settle()` per admitted call. */
export interface CircuitBreaker {
  admit(): Admission;
  settle(outcome: CallOutcome, admission: { probe: boolean }, error?: { code: string; message: string }): void;
  health(): ProviderHealth;
}

/** Breakers by provider id; at most `maxProviders`, the least recently used dropped beyond it. */
export interface CircuitBreakers {
  get(providerId: string): CircuitBreaker;
  list(): ProviderHealth[];
  /** Drops the breakers of providers no longer configured. */
  retain(providerIds: readonly string[]): void;
}

/** Error codes that mean the provider did not answer at all (as opposed to answering with a refusal). */
const UNANSWERED_CODES: readonly string[] = ['PROVIDER_TIMEOUT', 'PROVIDER_NETWORK'];

/** How a finished call counts for the breaker. */
export function callOutcomeOf(error: { code: string } | undefined, aborted: boolean): CallOutcome {
  if (aborted) return 'abandoned';
  if (error && UNANSWERED_CODES.includes(error.code)) return 'unanswered';
  return 'answered';
}

interface BreakerOptions {
  config: () => BreakerConfig;
  now: () => number;
}

function createCircuitBreaker(provider: string, options: BreakerOptions): CircuitBreaker {
  let state: BreakerState = 'closed';
  let consecutiveFailures = 0;
  let openForMs = 0;
  let probeAt = 0;
  let probing = false;
  let opened = 0;
  let lastSuccessAt: number | null = null;
  let lastFailureAt: number | null = null;
  let lastError: { code: string; message: string } | null = null;

  const open = (at: number, forMs: number) => {
    state = 'open';
    openForMs = forMs;
    probeAt = at + forMs;
    opened += 1;
  };

  /** An open breaker whose wait is over is half-open: the next call probes. */
  const current = (): BreakerState => (state === 'open' && options.now() >= probeAt ? 'half-open' : state);

  const unavailable = (at: number): HearthError => {
    const seconds = Math.max(1, Math.ceil((probeAt - at) / 1000));
    const why = lastError ? ` Last error: ${lastError.message}` : '';
    return new HearthError(
      'PROVIDER_UNAVAILABLE',
      `The provider '${provider}' stopped answering (${consecutiveFailures} failed calls in a row), so Hearth sends it nothing for now and tries it again within ${seconds} s. Check that the server at models.providers.${provider}.baseUrl is up, or add a fallback model (agents.defaults.fallbacks) to keep answering meanwhile.${why}`,
      { retryable: true, retryAfterMs: Math.max(0, probeAt - at), details: { providerId: provider, breaker: 'open' } },
    );
  };

  return {
    admit() {
      const at = options.now();
      const now = current();
      if (now === 'closed') return { allowed: true, probe: false };
      if (now === 'half-open' && !probing) {
        state = 'half-open';
        probing = true;
        return { allowed: true, probe: true };
      }
      return { allowed: false, error: unavailable(at) };
    },
    settle(outcome, admission, error) {
      const at = options.now();
      if (admission.probe) probing = false;
      if (outcome === 'abandoned') {
        // A probe whose caller left proves nothing: the next call probes again.
        return;
      }
      // A conversation too long for the model says nothing about the provider.
      if (error && error.code !== 'CONTEXT_OVERFLOW') {
        lastFailureAt = at;
        lastError = { code: error.code, message: error.message };
      }
      if (outcome === 'answered') {
        if (!error) lastSuccessAt = at;
        consecutiveFailures = 0;
        state = 'closed';
        openForMs = 0;
        return;
      }
      consecutiveFailures += 1;
      const config = options.config();
      if (admission.probe) open(at, Math.min(config.maxOpenMs, Math.max(config.openMs, openForMs * 2)));
      else if (state === 'closed' && consecutiveFailures >= config.failureThreshold) open(at, config.openMs);
    },
    health() {
      const now = current();
      return {
        provider,
        state: now,
        consecutiveFailures,
        probeAt: now === 'closed' ? null : probeAt,
        lastSuccessAt,
        lastFailureAt,
        lastError,
        opened,
      };
    },
  };
}

/** The breakers of a model router. `config` is read at each decision, so a reload applies at once. */
export function createCircuitBreakers(options: { config?: () => BreakerConfig; now?: () => number; maxProviders?: number } = {}): CircuitBreakers {
  const settings: BreakerOptions = { config: options.config ?? (() => DEFAULT_BREAKER_CONFIG), now: options.now ?? Date.now };
  const maxProviders = options.maxProviders ?? 256;
  const breakers = new Map<string, CircuitBreaker>();
  return {
    get(providerId) {
      let breaker = breakers.get(providerId);
      if (breaker) {
        breakers.delete(providerId);
      } else {
        breaker = createCircuitBreaker(providerId, settings);
        if (breakers.size >= maxProviders) breakers.delete(breakers.keys().next().value as string);
      }
      breakers.set(providerId, breaker);
      return breaker;
    },
    list: () => [...breakers.values()].map((breaker) => breaker.health()).sort((a, b) => a.provider.localeCompare(b.provider)),
    retain(providerIds) {
      const keep = new Set(providerIds);
      for (const id of breakers.keys()) if (!keep.has(id)) breakers.delete(id);
    },
  };
}
