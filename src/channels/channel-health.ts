import type {
  ChannelAccountStatus,
  ChannelDimensionHealth,
  ChannelHealthAlert,
  ChannelHealthDimension,
  ChannelHealthEvent,
  ChannelHealthReport,
  ChannelHealthStatus,
  ChannelProbeResult,
} from '../contracts/channel.js';
import { isChannelError } from '../contracts/channel.js';
import { HearthError } from '../contracts/errors.js';
import { untilAborted } from './abort-helpers.js';

/** `channelHealth` in the config (see channel-schema.ts for the defaults). */
export interface ChannelHealthConfig {
  /** How often every account is checked. */
  intervalMs: number;
  /** An account that handled a message this recently works; otherwise its probe decides. */
  functionalWindowMs: number;
  /** Longest a probe may take before it counts as failed. */
  probeTimeoutMs: number;
  /** Reconnects per degraded episode before the operator is alerted (0: alert at once). */
  maxRecoveryAttempts: number;
}

/** One account as the reconciler sees it; the channel manager lists them. */
export interface ChannelHealthTarget {
  channel: string;
  account: string;
  /** The supervisor's live view (or, for an account that could not start, why). */
  status(): Omit<ChannelAccountStatus, 'outbox'>;
  /** The platform refused the credentials on the last try. */
  credentialsRefused(): boolean;
  /** The adapter's synthetic check, when it has one. */
  probe?(signal: AbortSignal): Promise<ChannelProbeResult>;
  /** Drops the connection and connects (and authenticates) again now; absent when there is nothing to restart. */
  reconnect?(reason: string): void;
  /** What to do when the platform refuses the credentials. */
  authHint: string | null;
}

export interface ChannelHealthOptions {
  accounts(): ChannelHealthTarget[];
  /** Read at every tick, so a config reload takes effect at the next one. */
  config(): ChannelHealthConfig;
  /**
   * Told of each alert (once per degraded episode, after self-recovery did not help) and of the
   * all-clear for an alerted account. Must not throw; a throw is logged and ignored.
   */
  onAlert(event: ChannelHealthEvent): void;
  logger: {
    info(obj: object, msg?: string): void;
    warn(obj: object, msg?: string): void;
    error(obj: object, msg?: string): void;
  };
  now?: () => number;
}

const DIMENSIONS: readonly ChannelHealthDimension[] = ['transport', 'application', 'functional'];
/** Which dimension an alert names when several are bad: the cause before its consequences. */
const FAULT_ORDER: readonly ChannelHealthDimension[] = ['application', 'transport', 'functional'];
const RANK: Record<ChannelHealthStatus, number> = { ok: 0, unknown: 1, degraded: 2, down: 3 };

const isBad = (status: ChannelHealthStatus) => status === 'degraded' || status === 'down';
const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

const RECONNECTING_HINT = "The gateway reconnects by itself; if it keeps failing, check the network and the platform's status page.";
const PROBE_FAILED_HINT = "Check the network and the platform's status page; the gateway reconnects the account by itself.";

interface Episode {
  since: number;
  recoveryAttempts: number;
  lastAttemptAt: number | null;
  alertedAt: number | null;
}

/** What the reconciler remembers per account (dropped when the account goes away). */
interface AccountState {
  dimensions: Record<ChannelHealthDimension, ChannelDimensionHealth>;
  checkedAt: number | null;
  episode: Episode | null;
  lastAlert: ChannelHealthAlert | null;
  recoveredAt: number | null;
  /**
   * The last probe was refused on the credentials while the connection itself stayed logged in
   * (email: IMAP lets the bot in, SMTP does not). Kept until a probe gets past the login or a
   * message goes out after it.
   */
  probeRefused: { at: number; detail: string } | null;
}

const unknown = (detail: string | null = null): ChannelDimensionHealth => ({ status: 'unknown', degradedSince: null, detail, suggestedAction: null });

/** Updates a dimension, keeping `degradedSince` while it stays degraded or down. */
function set(dimension: ChannelDimensionHealth, status: ChannelHealthStatus, detail: string | null, suggestedAction: string | null, now: number): void {
  dimension.degradedSince = isBad(status) ? (isBad(dimension.status) ? dimension.degradedSince : now) : null;
  dimension.status = status;
  dimension.detail = detail;
  dimension.suggestedAction = isBad(status) ? suggestedAction : null;
}

const seconds = (ms: number) => `${Math.max(0, Math.round(ms / 1000))} s`;

/** The dimension an alert or a readiness line names: the worst, cause first. */
function faultOf(dimensions: Record<ChannelHealthDimension, ChannelDimensionHealth>): ChannelHealthDimension | null {
  let fault: ChannelHealthDimension | null = null;
  for (const name of FAULT_ORDER) {
    const status = dimensions[name].status;
    if (isBad(status) && (fault === null || RANK[status] > RANK[dimensions[fault].status])) fault = name;
  }
  return fault;
}

/** Transport and application from the supervisor's view; functional only where that alone decides. */
function observe(target: ChannelHealthTarget, state: AccountState, at: number, functionalWindowMs: number): void {
  const status = target.status();
  const { transport, application, functional } = state.dimensions;
  if (status.connected) set(transport, 'ok', status.botName ? `connected as ${status.botName}` : 'connected', null, at);
  else if (status.state === 'starting') set(transport, 'unknown', 'connecting', null, at);
  else if (status.state === 'unhealthy' || status.state === 'stopped') {
    set(transport, 'down', status.lastError ?? status.state, status.suggestedAction ?? RECONNECTING_HINT, at);
  } else set(transport, 'degraded', `reconnecting${status.lastError ? `: ${status.lastError}` : ''}`, status.suggestedAction ?? RECONNECTING_HINT, at);

  if (state.probeRefused && status.lastOutboundAt !== null && status.lastOutboundAt > state.probeRefused.at) state.probeRefused = null;
  if (target.credentialsRefused()) set(application, 'down', status.lastError ?? 'the platform refused the credentials', status.suggestedAction ?? target.authHint, at);
  else if (state.probeRefused) set(application, 'down', state.probeRefused.detail, target.authHint, at);
  else if (status.authenticated) set(application, 'ok', 'the platform accepted the credentials', null, at);
  else set(application, 'unknown', 'not authenticated yet', null, at);

  if (transport.status !== 'ok') {
    // Bad until a check proves otherwise: a reconnect (ours, to recover) must not reset degradedSince.
    if (!isBad(functional.status)) set(functional, 'unknown', 'not checked while the connection is not open', null, at);
  } else if (status.lastInboundAt !== null && at - status.lastInboundAt <= functionalWindowMs) {
    set(functional, 'ok', `handled a message ${seconds(at - status.lastInboundAt)} ago`, null, at);
  }
}

/** The adapter's probe, bounded by `probeTimeoutMs` and cut short when the gateway stops. */
async function runProbe(
  target: ChannelHealthTarget,
  config: ChannelHealthConfig,
  stopSignal: AbortSignal,
): Promise<{ status: ChannelHealthStatus; detail: string; suggestedAction: string | null; refused?: string; failed?: true }> {
  const window = `no message handled in the last ${seconds(config.functionalWindowMs)}`;
  if (!target.probe) return { status: 'unknown', detail: `${window}, and this channel has no probe`, suggestedAction: null };
  const deadline = new AbortController();
  const onStop = () => deadline.abort(new Error('the gateway is stopping'));
  stopSignal.addEventListener('abort', onStop, { once: true });
  const timeout = setTimeout(() => deadline.abort(new Error(`the probe did not answer within ${config.probeTimeoutMs} ms`)), config.probeTimeoutMs);
  try {
    // An adapter that ignores its signal still cannot hold the tick past the timeout.
    const result = await untilAborted(target.probe(deadline.signal), deadline.signal, () => deadline.signal.reason as Error);
    return { status: result.status, detail: `${window}; probe: ${result.detail}`, suggestedAction: result.suggestedAction ?? null };
  } catch (error) {
    const refused = isChannelError(error) && error.kind === 'auth';
    return { status: 'degraded', detail: `${window}; probe failed: ${errorText(error)}`, suggestedAction: refused ? target.authHint : PROBE_FAILED_HINT, ...(refused ? { refused: errorText(error) } : { failed: true }) };
  } finally {
    clearTimeout(timeout);
    stopSignal.removeEventListener('abort', onStop);
  }
}

/** What the episode logic needs from the reconciler. */
interface EpisodeContext {
  logger: ChannelHealthOptions['logger'];
  now(): number;
  emit(event: ChannelHealthEvent): void;
  maxRecoveryAttempts(): number;
}

/** The episode logic: grace tick, bounded reconnects, one alert, the all-clear. */
function reconcile(episodes: EpisodeContext, target: ChannelHealthTarget, state: AccountState): void {
  const { logger, emit, maxRecoveryAttempts } = episodes;
  const at = episodes.now();
  const key = `${target.channel}:${target.account}`;
  const fault = faultOf(state.dimensions);
  const episode = state.episode;
  if (fault === null) {
    if (!episode) return;
    state.episode = null;
    state.recoveredAt = at;
    logger.info({ channel: key, degradedForMs: at - episode.since, recoveryAttempts: episode.recoveryAttempts }, 'channel account healthy again');
    if (episode.alertedAt !== null) emit({ event: 'channel.health.recovered', channel: target.channel, account: target.account, degradedSince: episode.since, recoveryAttempts: episode.recoveryAttempts, at });
    return;
  }
  const dimension = state.dimensions[fault];
  const log = { channel: key, dimension: fault, status: dimension.status, detail: dimension.detail, suggestedAction: dimension.suggestedAction };
  if (!episode) {
    state.episode = { since: dimension.degradedSince ?? at, recoveryAttempts: 0, lastAttemptAt: null, alertedAt: null };
    logger.warn(log, `channel account ${fault} ${dimension.status}`);
    return;
  }
  if (episode.alertedAt !== null) return;
  const max = maxRecoveryAttempts();
  if (target.reconnect && episode.recoveryAttempts < max) {
    episode.recoveryAttempts += 1;
    episode.lastAttemptAt = at;
    logger.warn({ ...log, attempt: episode.recoveryAttempts, of: max }, 'channel account still unhealthy; reconnecting it');
    target.reconnect(`health check: ${fault} ${dimension.status}${dimension.detail ? ` (${dimension.detail})` : ''}`);
    return;
  }
  episode.alertedAt = at;
  const alert: ChannelHealthAlert = {
    event: 'channel.health',
    channel: target.channel,
    account: target.account,
    dimension: fault,
    status: dimension.status as ChannelHealthAlert['status'],
    degradedSince: dimension.degradedSince ?? episode.since,
    detail: dimension.detail,
    suggestedAction: dimension.suggestedAction,
    recoveryAttempts: episode.recoveryAttempts,
    at,
  };
  state.lastAlert = alert;
  // The alert sink logs it (once), records it and sends it on.
  emit(alert);
}

/** A copy of an account's state for `channels.health.*` and `/readyz`. */
function report(target: ChannelHealthTarget, state: AccountState, maxRecoveryAttempts: number): ChannelHealthReport {
  const dimensions = {
    transport: { ...state.dimensions.transport },
    application: { ...state.dimensions.application },
    functional: { ...state.dimensions.functional },
  };
  const status = DIMENSIONS.map((name) => dimensions[name].status).reduce((worst, item) => (RANK[item] > RANK[worst] ? item : worst), 'ok' as ChannelHealthStatus);
  const episode = state.episode;
  return {
    channel: target.channel,
    account: target.account,
    status,
    dimensions,
    checkedAt: state.checkedAt,
    episode: episode ? { ...episode, maxRecoveryAttempts } : null,
    lastAlert: state.lastAlert,
    recoveredAt: state.recoveredAt,
  };
}

/** Degraded while an account is not connected yet or any dimension is degraded or down. */
function readinessOf(reports: ChannelHealthReport[]): { status: 'ok' | 'degraded'; detail: string } {
  if (reports.length === 0) return { status: 'ok', detail: 'no channels configured' };
  const problems: string[] = [];
  for (const item of reports) {
    const name = `${item.channel}:${item.account}`;
    const fault = faultOf(item.dimensions);
    if (fault !== null) {
      const dimension = item.dimensions[fault];
      problems.push(`${name} ${fault} ${dimension.status}: ${dimension.detail ?? 'no detail'}${dimension.suggestedAction ? ` — ${dimension.suggestedAction}` : ''}`);
    } else if (item.dimensions.transport.status !== 'ok') {
      problems.push(`${name} ${item.dimensions.transport.detail ?? 'not connected'}`);
    }
  }
  return problems.length === 0 ? { status: 'ok', detail: `${reports.length} connected` } : { status: 'degraded', detail: problems.join('; ') };
}

/**
 * Channel health reconciliation. Every `intervalMs` (one unref'd timer, the next tick scheduled
 * only after the last one finished) each account is checked on three dimensions: transport,
 * application, functional — functional is "handled a message within `functionalWindowMs`", else
 * the adapter's probe. A degraded account gets one tick of grace (a reconnect in progress, a
 * message just about to arrive), then up to `maxRecoveryAttempts` reconnects, one per tick; if it
 * is still degraded after them, the operator is alerted once for this episode. When it is healthy
 * again the episode ends (an alerted one with an all-clear event). Between ticks, `list`/`get`
 * show the live connection state and the last check's functional result.
 */
export function createChannelHealth(options: ChannelHealthOptions) {
  const { logger } = options;
  const now = options.now ?? Date.now;
  const states = new Map<string, AccountState>();
  const stopController = new AbortController();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;

  const keyOf = (target: Pick<ChannelHealthTarget, 'channel' | 'account'>) => `${target.channel}:${target.account}`;

  function stateOf(target: ChannelHealthTarget): AccountState {
    const key = keyOf(target);
    let state = states.get(key);
    if (!state) {
      state = {
        dimensions: { transport: unknown(), application: unknown(), functional: unknown('not checked yet') },
        checkedAt: null,
        episode: null,
        lastAlert: null,
        recoveredAt: null,
        probeRefused: null,
      };
      states.set(key, state);
    }
    return state;
  }

  /** The accounts now; forgets the ones that are gone (the map never outgrows the config). */
  function targets(): ChannelHealthTarget[] {
    const list = options.accounts();
    const keys = new Set(list.map(keyOf));
    for (const key of states.keys()) if (!keys.has(key)) states.delete(key);
    return list;
  }

  /** Observes, then runs the probe when no message was handled within the window. */
  async function check(target: ChannelHealthTarget, state: AccountState): Promise<void> {
    const started = now();
    observe(target, state, started, options.config().functionalWindowMs);
    const config = options.config();
    const { lastInboundAt } = target.status();
    const recent = lastInboundAt !== null && started - lastInboundAt <= config.functionalWindowMs;
    if (state.dimensions.transport.status === 'ok' && !recent) {
      const result = await runProbe(target, config, stopController.signal);
      set(state.dimensions.functional, result.status, result.detail, result.suggestedAction, now());
      // A probe that failed otherwise (timeout, network) does not tell whether the login works now.
      if (result.refused !== undefined) state.probeRefused = { at: now(), detail: `the probe was refused: ${result.refused}` };
      else if (!result.failed) state.probeRefused = null;
    }
    // The connection may have dropped, or a message arrived, while the probe ran.
    observe(target, state, now(), config.functionalWindowMs);
    state.checkedAt = now();
  }

  function emit(event: ChannelHealthEvent): void {
    try {
      options.onAlert(event);
    } catch (error) {
      logger.error({ err: error, channel: `${event.channel}:${event.account}` }, 'the channel health alert handler failed; the alert is in this log only');
    }
  }
  const episodes: EpisodeContext = { logger, now, emit, maxRecoveryAttempts: () => options.config().maxRecoveryAttempts };

  function find(channel: string, account: string): ChannelHealthTarget {
    const list = targets();
    const target = list.find((item) => item.channel === channel && item.account === account);
    if (target) return target;
    const known = list.map(keyOf);
    throw new HearthError(
      'NOT_FOUND',
      `No channel account ${channel}:${account}.${known.length > 0 ? ` Configured: ${known.join(', ')}.` : ' Configure one under channels in the config.'}`,
    );
  }

  /** One reconciliation of every account; a call while one runs joins it. */
  function tick(): Promise<void> {
    running ??= (async () => {
      try {
        const list = targets();
        await Promise.all(list.map((target) => check(target, stateOf(target))));
        if (stopController.signal.aborted) return;
        for (const target of list) if (states.has(keyOf(target))) reconcile(episodes, target, stateOf(target));
      } catch (error) {
        logger.error({ err: error }, 'channel health check failed; it runs again at the next interval');
      } finally {
        running = null;
      }
    })();
    return running;
  }

  function schedule(): void {
    if (stopController.signal.aborted) return;
    timer = setTimeout(() => {
      timer = null;
      void tick().then(schedule);
    }, options.config().intervalMs);
    timer.unref();
  }

  /** Every account, transport and application as of now, functional as of the last check. */
  function list(): ChannelHealthReport[] {
    const at = now();
    return targets().map((target) => {
      const state = stateOf(target);
      observe(target, state, at, options.config().functionalWindowMs);
      return report(target, state, options.config().maxRecoveryAttempts);
    });
  }

  return {
    /** Starts the periodic check (the first one after one interval). */
    start(): void {
      if (timer || running || stopController.signal.aborted) return;
      schedule();
    },
    /** Stops the timer and cuts short any probe in flight. */
    stop(): void {
      stopController.abort();
      if (timer) clearTimeout(timer);
      timer = null;
    },
    tick,
    list,
    /** One account; throws NOT_FOUND naming the configured ones. */
    get(channel: string, account: string): ChannelHealthReport {
      const target = find(channel, account);
      const state = stateOf(target);
      observe(target, state, now(), options.config().functionalWindowMs);
      return report(target, state, options.config().maxRecoveryAttempts);
    },
    /** Checks one account now, probe included (no recovery: that is the tick's job). */
    async probe(channel: string, account: string): Promise<ChannelHealthReport> {
      const target = find(channel, account);
      const state = stateOf(target);
      await check(target, state);
      return report(target, state, options.config().maxRecoveryAttempts);
    },
    /** For /readyz: degraded while an account is not connected yet or any dimension is degraded or down. */
    readiness: () => readinessOf(list()),
  };
}

export type ChannelHealth = ReturnType<typeof createChannelHealth>;
