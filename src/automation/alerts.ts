import type { OperatorAlert } from '../contracts/automation.js';
import type { ChannelTarget } from '../contracts/channel.js';
import { CHAT_SPEC_HINT, parseChatSpec } from '../contracts/chat-spec.js';
import { HearthError } from '../contracts/errors.js';
import type { EnqueueOutboxInput, OutboxEntry, Store } from '../contracts/store.js';
import type { Clock } from '../runtime/clock.js';
import { postJson } from '../runtime/post-json.js';

/** An alert for the operator: recorded once per `dedupeKey`, then sent to a chat and/or a webhook. */
export interface AlertRequest {
  dedupeKey: string;
  event: string;
  /** The JSON a webhook receives. */
  payload: Record<string, unknown>;
  /** What a person reads in a chat and in the log. */
  text: string;
  /** `<platform>[:<account>]:<chat>[:<thread>]`. */
  channel?: string | undefined;
  webhook?: string | undefined;
}

export interface AlertSinkDeps {
  store: Store;
  clock: Clock;
  logger: { warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
  /** Hands a queued chat message to its channel account for delivery now. */
  deliver(entry: OutboxEntry): void;
  /** Webhook attempts before an alert is given up (and logged as such). */
  maxAttempts?: number;
  timeoutMs?: number;
}

/**
 * Parses `telegram:12345`, `telegram:work:12345`, `telegram:work:12345:77` (thread) or
 * `matrix:default:!room:example.org` into the outbox's account key and target.
 */
export function parseChannelSpec(spec: string): { channel: string; target: ChannelTarget } {
  const parsed = parseChatSpec(spec);
  if (!parsed) throw new HearthError('BAD_REQUEST', `"${spec}" is not a chat to alert: ${CHAT_SPEC_HINT}.`);
  return { channel: `${parsed.platform}:${parsed.accountId}`, target: { chatId: parsed.chatId, ...(parsed.threadId ? { threadId: parsed.threadId } : {}) } };
}

/**
 * Operator alerts that are never silent: each is persisted (once per dedupe key, so a restart or
 * a repeated failure does not alert twice), logged at error level, queued durably for its chat
 * through the outbox, and POSTed to its webhook with retries and backoff until it answers 2xx
 * (or is given up after `maxAttempts`, which is logged too).
 */
export function createAlertSink(deps: AlertSinkDeps) {
  const maxAttempts = deps.maxAttempts ?? 8;
  const timeoutMs = deps.timeoutMs ?? 10_000;
  let timer: unknown = null;
  let timerAt = Number.POSITIVE_INFINITY;
  let sending: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const controller = new AbortController();

  const arm = (at: number) => {
    if (stopped || at >= timerAt) return;
    if (timer !== null) deps.clock.clearTimer(timer);
    timerAt = at;
    timer = deps.clock.setTimer(() => {
      timer = null;
      timerAt = Number.POSITIVE_INFINITY;
      kick();
    }, Math.max(0, at - deps.clock.now()));
  };

  const sendOne = async (alert: OperatorAlert) => {
    const now = deps.clock.now();
    let error: string;
    try {
      const status = await postJson(alert.webhook!, alert.payload, { timeoutMs, signal: controller.signal });
      if (status >= 200 && status < 300) {
        await deps.store.recordAlertDelivery(alert.id, { delivered: true, now: deps.clock.now(), retryAt: null });
        return;
      }
      error = `the webhook answered HTTP ${status}`;
    } catch (cause) {
      if (stopped) return;
      error = cause instanceof Error ? cause.message : String(cause);
    }
    const attempts = alert.attempts + 1;
    const retryAt = attempts >= maxAttempts ? null : now + Math.min(600_000, 5000 * 2 ** (attempts - 1));
    await deps.store.recordAlertDelivery(alert.id, { delivered: false, error, now, retryAt });
    if (retryAt === null) {
      deps.logger.error(
        { alert: alert.dedupeKey, webhook: alert.webhook, attempts, error },
        `gave up sending the ${alert.event} alert to its webhook after ${attempts} attempts; check the URL (the alert stays in \`hearth status\`)`,
      );
    } else {
      arm(retryAt);
    }
  };

  const sendDue = async () => {
    do {
      again = false;
      const due = await deps.store.pendingAlerts(deps.clock.now(), 20);
      for (const alert of due) {
        if (stopped) return;
        await sendOne(alert);
      }
      if (due.length === 20) again = true;
    } while (again && !stopped);
  };

  function kick() {
    if (stopped) return;
    if (sending) {
      again = true;
      return;
    }
    sending = sendDue()
      .catch((error) => deps.logger.error({ err: error }, 'sending operator alerts failed; they stay queued'))
      .finally(() => {
        sending = null;
      });
  }

  return {
    /** Records, logs and sends an alert; a repeat of the same dedupe key does nothing. */
    async raise(request: AlertRequest): Promise<{ created: boolean; alert: OperatorAlert }> {
      const now = deps.clock.now();
      let message: EnqueueOutboxInput | undefined;
      if (request.channel) {
        try {
          const { channel, target } = parseChannelSpec(request.channel);
          message = { channel, target: JSON.stringify(target), text: request.text, sessionKey: `alerts:${request.event}`, runId: `alert_${request.dedupeKey}`, now };
        } catch (error) {
          deps.logger.error({ alert: request.dedupeKey, err: error }, 'the alert chat is not valid; the alert is only logged and sent to its webhook');
        }
      }
      const { alert, created, outbox } = await deps.store.raiseAlert(
        { dedupeKey: request.dedupeKey, event: request.event, payload: request.payload, webhook: request.webhook ?? null, now },
        message,
      );
      if (!created) return { created, alert };
      deps.logger.error({ alert: request.dedupeKey, event: request.event, ...request.payload }, request.text);
      if (outbox) deps.deliver(outbox);
      if (alert.webhook) kick();
      return { created, alert };
    },

    /** Sends alerts a previous run left pending. */
    start() {
      kick();
    },

    list: (limit: number) => deps.store.listAlerts(limit),

    /** Settles when no webhook call is in flight (tests). */
    async idle(): Promise<void> {
      while (sending) await sending;
    },

    async stop(): Promise<void> {
      stopped = true;
      if (timer !== null) deps.clock.clearTimer(timer);
      timer = null;
      controller.abort();
      await sending;
    },
  };
}

export type AlertSink = ReturnType<typeof createAlertSink>;
