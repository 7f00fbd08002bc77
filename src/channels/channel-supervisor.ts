import type { Channel, ChannelAccountStatus, ChannelRunContext, InboundMessage } from '../contracts/channel.js';
import { isChannelError } from '../contracts/channel.js';
import { pause as sleepUnlessAborted } from './abort-helpers.js';

export interface SupervisorLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ChannelSupervisorOptions {
  channel: Channel;
  /** Persists a received message (resolves once it is safe to acknowledge the platform). */
  receive(message: InboundMessage): Promise<void>;
  /** Where adapters save received files (by content hash). */
  media?: { put(bytes: Uint8Array): Promise<{ ref: string; sha256: string; sizeBytes: number }>; readonly maxBytes: number };
  /** Called each time the account is connected and authenticated. */
  onConnected(): void;
  logger: SupervisorLogger;
  reconnectDelayMs: number;
  reconnectMaxDelayMs: number;
  /** No sign of life for this long → reconnect. */
  stallTimeoutMs: number;
  /** After credentials are refused, wait this long before trying again. */
  authRetryMs?: number;
  /** Suggested fix shown when the credentials are refused. */
  authHint: string;
  now?: () => number;
  random?: () => number;
}

/**
 * Keeps one account connected: runs the adapter, reconnects with jittered exponential backoff
 * when the connection is lost, and aborts a connection that stalls (no progress for the stall
 * timeout). Refused credentials mark the account unhealthy with a suggested fix; only this
 * account is affected. `reconnect(reason)` drops the connection (or the wait before the next
 * try) and connects again at once: the health reconciler's self-recovery. `stop()` ends
 * everything and resolves when the adapter has let go.
 */
export function createChannelSupervisor(options: ChannelSupervisorOptions) {
  const { channel, logger } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const stopController = new AbortController();
  const log = { channel: channel.platform, accountId: channel.accountId };
  const status: Omit<ChannelAccountStatus, 'outbox'> = {
    channel: channel.platform,
    accountId: channel.accountId,
    state: 'starting',
    connected: false,
    authenticated: false,
    botName: null,
    since: now(),
    lastInboundAt: null,
    lastOutboundAt: null,
    lastError: null,
    suggestedAction: null,
    reconnects: 0,
  };
  let botId: string | null = null;
  let loop: Promise<void> | null = null;
  /** The platform refused the credentials on the last try (cleared when it accepts them). */
  let credentialsRefused = false;
  /** The connection being served, and the wait between two tries: what `reconnect` cuts short. */
  let attempt: AbortController | null = null;
  let wake: AbortController | null = null;
  /** Set by `reconnect` until the loop honours it. */
  let reconnectReason: string | null = null;

  const setState = (state: ChannelAccountStatus['state']) => {
    if (status.state !== state) status.since = now();
    status.state = state;
  };

  /** Sleeps for `ms` unless stopped or asked to reconnect first. */
  async function pause(ms: number): Promise<void> {
    if (stopController.signal.aborted || reconnectReason !== null) return;
    const controller = new AbortController();
    wake = controller;
    const onStop = () => controller.abort();
    stopController.signal.addEventListener('abort', onStop, { once: true });
    try {
      await sleepUnlessAborted(ms, controller.signal);
    } finally {
      stopController.signal.removeEventListener('abort', onStop);
      if (wake === controller) wake = null;
    }
  }

  async function runOnce(): Promise<void> {
    const current = new AbortController();
    attempt = current;
    const onStop = () => current.abort(new Error('stopped'));
    stopController.signal.addEventListener('abort', onStop, { once: true });
    let lastProgress = now();
    let stalled = false;
    const watchdog = setInterval(
      () => {
        if (now() - lastProgress > options.stallTimeoutMs) {
          stalled = true;
          clearInterval(watchdog);
          current.abort(new Error(`no sign of life for ${options.stallTimeoutMs} ms`));
        }
      },
      Math.max(50, Math.floor(options.stallTimeoutMs / 4)),
    );
    const context: ChannelRunContext = {
      signal: current.signal,
      receive: async (message) => {
        lastProgress = now();
        status.lastInboundAt = now();
        await options.receive(message);
      },
      reject: (reason, payload) => {
        lastProgress = now();
        logger.warn({ ...log, reason, payload: preview(payload) }, 'skipped a platform payload that could not be understood');
      },
      connected: (info) => {
        lastProgress = now();
        botId = info.botId;
        status.botName = info.botName;
        status.connected = true;
        status.authenticated = true;
        credentialsRefused = false;
        status.suggestedAction = null;
        setState('connected');
        logger.info({ ...log, bot: info.botName }, 'channel connected');
        options.onConnected();
      },
      progress: () => {
        lastProgress = now();
      },
      ...(options.media ? { saveMedia: (bytes: Uint8Array) => (options.media as NonNullable<typeof options.media>).put(bytes), mediaMaxBytes: options.media.maxBytes } : {}),
    };
    try {
      await channel.run(context);
      if (!stopController.signal.aborted) throw new Error(stalled ? `no sign of life for ${options.stallTimeoutMs} ms` : 'the connection ended');
    } catch (error) {
      if (stopController.signal.aborted) return;
      if (stalled) throw new Error(`the connection stalled: no sign of life for ${options.stallTimeoutMs} ms`, { cause: error });
      throw error;
    } finally {
      clearInterval(watchdog);
      stopController.signal.removeEventListener('abort', onStop);
      if (attempt === current) attempt = null;
      status.connected = false;
    }
  }

  async function supervise(): Promise<void> {
    let failures = 0;
    while (!stopController.signal.aborted) {
      const wasConnectedBefore = status.state === 'connected';
      // A reconnect asked for during the wait is honoured by this new try.
      reconnectReason = null;
      try {
        await runOnce();
        if (stopController.signal.aborted) break;
      } catch (error) {
        if (stopController.signal.aborted) break;
        if (reconnectReason !== null) {
          // Asked for, not a failure: no backoff, and a working connection starts a fresh failure count.
          if (wasConnectedBefore || status.state === 'connected') failures = 0;
          status.reconnects += 1;
          setState('reconnecting');
          logger.info({ ...log, reason: reconnectReason }, 'channel reconnecting on request');
          continue;
        }
        const message = error instanceof Error ? error.message : String(error);
        status.lastError = message;
        if (isChannelError(error) && error.kind === 'auth') {
          status.authenticated = false;
          credentialsRefused = true;
          status.suggestedAction = options.authHint;
          setState('unhealthy');
          logger.error({ ...log, err: message }, `channel credentials refused: ${options.authHint}`);
          await pause(options.authRetryMs ?? 300_000);
          continue;
        }
        if (wasConnectedBefore || status.state === 'connected') failures = 0;
        failures += 1;
        const base = Math.min(options.reconnectMaxDelayMs, options.reconnectDelayMs * 2 ** Math.min(failures - 1, 20));
        const retryAfter = isChannelError(error) ? (error.retryAfterMs ?? 0) : 0;
        const delay = Math.max(retryAfter, Math.round(base / 2 + (random() * base) / 2));
        status.reconnects += 1;
        status.suggestedAction = failures >= 5 ? 'The platform keeps dropping the connection: check the network and the platform status page.' : null;
        setState(failures >= 5 ? 'unhealthy' : 'reconnecting');
        logger.warn({ ...log, err: message, retryInMs: delay, failures }, 'channel connection lost; reconnecting');
        await pause(delay);
      }
    }
  }

  return {
    key: `${channel.platform}:${channel.accountId}`,
    channel,
    start(): void {
      if (loop) return;
      loop = supervise().catch((error) => logger.error({ ...log, err: error }, 'channel supervisor failed'));
    },
    /** Stops the account and releases its client; resolves when both are done. */
    async stop(): Promise<void> {
      stopController.abort();
      await loop;
      setState('stopped');
      await channel.close().catch((error) => logger.warn({ ...log, err: error }, 'channel close failed'));
    },
    status(): Omit<ChannelAccountStatus, 'outbox'> {
      return { ...status };
    },
    /**
     * Drops the connection, or cuts short the wait before the next try (backoff, or the pause
     * after refused credentials), and connects — and authenticates — again at once.
     */
    reconnect(reason: string): void {
      if (stopController.signal.aborted || !loop) return;
      reconnectReason = reason;
      attempt?.abort(new Error(reason));
      wake?.abort();
    },
    /** The platform refused the credentials on the last try. */
    credentialsRefused: () => credentialsRefused,
    botId: () => botId,
    isConnected: () => status.connected,
    noteOutbound(): void {
      status.lastOutboundAt = now();
    },
    noteSendError(message: string): void {
      status.lastError = message;
    },
  };
}

export type ChannelSupervisor = ReturnType<typeof createChannelSupervisor>;

function preview(payload: unknown): string {
  let text: string;
  try {
    text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  } catch {
    text = String(payload);
  }
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
