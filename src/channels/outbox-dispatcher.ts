import type { Channel, ChannelTarget } from '../contracts/channel.js';
import { isChannelError } from '../contracts/channel.js';
import type { OutboxEntry, Store } from '../contracts/store.js';
import { pause as sleepUnlessAborted } from './abort-helpers.js';
import { chunkMarkdown } from './chunk-text.js';
import { deadlineSignal } from '../runtime/deadline.js';

/** A running account as the dispatcher needs it. */
export interface DeliveryAccount {
  channel: Channel;
  isConnected(): boolean;
  textChunkLimit: number | undefined;
  noteOutbound(): void;
  noteSendError(message: string): void;
}

export interface OutboxDispatcherOptions {
  store: Store;
  /** The running account for an outbox channel name (`<platform>:<accountId>`), if any. */
  account(key: string): DeliveryAccount | undefined;
  logger: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
  now?: () => number;
  random?: () => number;
  /** First retry delay and its cap (doubling, jittered). */
  retryDelayMs?: number;
  retryMaxDelayMs?: number;
  /** A message still undelivered this long after it was queued is given up (visibly). */
  maxAgeMs?: number;
  /** The longest one send may take before it counts as failed. */
  sendTimeoutMs?: number;
  /** Messages held in memory; the rest wait in the store and are read when room frees up. */
  maxQueued?: number;
  /** Told of every failed delivery attempt (metrics). Must not throw. */
  onFailure?(channel: string): void;
  /** Told when a message was delivered or given up, with its pieces (tracing). Must not throw. */
  onSettled?(entry: OutboxEntry, outcome: { delivered: boolean; pieces: number; at: number }): void;
}

type AttemptResult = 'delivered' | 'failed' | 'wait' | { retryAt: number };

/** Splits a message into platform-sized pieces in the platform's format. Deterministic, so a resend after a crash skips exactly the pieces already sent. */
export function renderPieces(text: string, channel: Channel, textChunkLimit: number | undefined): string[] {
  const max = channel.format.maxMessageLength;
  const limit = Math.max(16, Math.min(textChunkLimit ?? max, max));
  const pieces: string[] = [];
  for (const chunk of chunkMarkdown(text, limit)) {
    let rendered = channel.format.render(chunk);
    if (rendered.length <= max) {
      pieces.push(rendered);
      continue;
    }
    // Formatting made it longer than the platform allows: split the source smaller until it fits.
    let smaller = Math.floor((limit * max) / rendered.length);
    for (let tries = 0; tries < 8; tries++) {
      const parts = chunkMarkdown(chunk, Math.max(16, smaller)).map((part) => channel.format.render(part));
      if (parts.every((part) => part.length <= max)) {
        pieces.push(...parts);
        rendered = '';
        break;
      }
      smaller = Math.floor(smaller * 0.7);
    }
    if (rendered !== '') pieces.push(...chunkMarkdown(rendered, max));
  }
  return pieces.length > 0 ? pieces : [channel.format.render(text.trim() === '' ? '(empty reply)' : text)];
}

/**
 * Delivers the outbox: every queued message is sent through its account, in order per chat,
 * split to the platform's limit; progress is recorded piece by piece so a crash never sends a
 * piece twice (short of the one in flight). Rate limits and transient failures are retried with
 * backoff (honouring retry-after); refusals and messages too old are given up and kept visible.
 * Messages for an account that is not connected wait until it connects.
 */
export function createOutboxDispatcher(options: OutboxDispatcherOptions) {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const retryMaxDelayMs = options.retryMaxDelayMs ?? 300_000;
  const maxAgeMs = options.maxAgeMs ?? 24 * 3_600_000;
  const sendTimeoutMs = options.sendTimeoutMs ?? 30_000;
  const maxQueued = options.maxQueued ?? 10_000;
  const stopController = new AbortController();
  /** Waiting messages per chat (`channel|target`), oldest first; a chat's entry goes when it empties. */
  const queues = new Map<string, OutboxEntry[]>();
  const known = new Set<number>();
  const working = new Set<string>();
  /** Chats whose worker was asked to start while it was ending (an account connecting just as it gave up waiting): run again. */
  const restart = new Set<string>();
  const deliveredWaiters = new Map<number, (result: { delivered: boolean; error: string | null }) => void>();
  let overflowed = false;
  let idleWaiters: (() => void)[] = [];

  const chatKey = (entry: OutboxEntry) => `${entry.channel}|${entry.target}`;

  const pause = (ms: number) => sleepUnlessAborted(ms, stopController.signal);

  function enqueue(entry: OutboxEntry): void {
    if (known.has(entry.id) || stopController.signal.aborted) return;
    if (known.size >= maxQueued) {
      overflowed = true;
      return;
    }
    known.add(entry.id);
    const key = chatKey(entry);
    const queue = queues.get(key);
    if (queue) queue.push(entry);
    else queues.set(key, [entry]);
    startWorker(key);
  }

  function startWorker(key: string): void {
    if (stopController.signal.aborted) return;
    if (working.has(key)) {
      restart.add(key);
      return;
    }
    working.add(key);
    void work(key)
      .catch((error) => options.logger.error({ err: error, chat: key }, 'outbox delivery failed unexpectedly'))
      .finally(() => {
        working.delete(key);
        if (restart.delete(key)) startWorker(key);
        if (overflowed && known.size < maxQueued / 2) {
          overflowed = false;
          void refill();
        }
        if (working.size === 0) {
          const waiters = idleWaiters;
          idleWaiters = [];
          for (const resolve of waiters) resolve();
        }
      });
  }

  async function work(key: string): Promise<void> {
    const queue = queues.get(key);
    while (queue && queue.length > 0 && !stopController.signal.aborted) {
      const entry = queue[0] as OutboxEntry;
      if (entry.nextAttemptAt !== null && entry.nextAttemptAt > now()) {
        await pause(entry.nextAttemptAt - now());
        continue;
      }
      const result = await attempt(entry);
      if (result === 'wait') return;
      if (result === 'delivered' || result === 'failed') {
        options.onSettled?.(entry, { delivered: result === 'delivered', pieces: entry.chunksSent, at: now() });
        queue.shift();
        known.delete(entry.id);
        deliveredWaiters.get(entry.id)?.({ delivered: result === 'delivered', error: entry.lastError });
        deliveredWaiters.delete(entry.id);
        continue;
      }
      entry.nextAttemptAt = result.retryAt;
    }
    if (queue && queue.length === 0 && queues.get(key) === queue) queues.delete(key);
  }

  async function attempt(entry: OutboxEntry): Promise<AttemptResult> {
    const account = options.account(entry.channel);
    if (!account?.isConnected()) return 'wait';
    let target: ChannelTarget;
    try {
      target = JSON.parse(entry.target) as ChannelTarget;
      if (typeof target.chatId !== 'string') throw new Error('no chatId');
    } catch {
      return giveUp(entry, `the delivery target ${JSON.stringify(entry.target)} is not valid`);
    }
    const pieces = renderPieces(entry.text, account.channel, account.textChunkLimit);
    try {
      for (let index = entry.chunksSent; index < pieces.length; index++) {
        const deadline = deadlineSignal(sendTimeoutMs, stopController.signal);
        await account.channel.send({ target, text: pieces[index] as string, idempotencyKey: `${entry.id}:${index}` }, deadline.signal).finally(deadline.clear);
        entry.chunksSent = index + 1;
        account.noteOutbound();
        if (index + 1 < pieces.length) await options.store.recordOutboxProgress(entry.id, index + 1);
      }
      await options.store.markDelivered(entry.id, now());
      return 'delivered';
    } catch (error) {
      if (stopController.signal.aborted) return 'wait';
      const message = error instanceof Error ? error.message : String(error);
      entry.attempts += 1;
      entry.lastError = message;
      account.noteSendError(message);
      options.onFailure?.(entry.channel);
      if (isChannelError(error) && error.kind === 'rejected') return giveUp(entry, message);
      if (now() - entry.createdAt > maxAgeMs) return giveUp(entry, `still undelivered after ${Math.round(maxAgeMs / 60_000)} minutes: ${message}`);
      const base = Math.min(retryMaxDelayMs, retryDelayMs * 2 ** Math.min(entry.attempts - 1, 20));
      const backoff = Math.round(base / 2 + (random() * base) / 2);
      const retryAfter = isChannelError(error) ? (error.retryAfterMs ?? 0) : 0;
      const retryAt = now() + Math.max(backoff, retryAfter);
      options.logger.warn({ outboxId: entry.id, channel: entry.channel, attempts: entry.attempts, retryInMs: retryAt - now(), err: message }, 'delivery failed; will retry');
      await options.store.recordDeliveryFailure(entry.id, { error: message, now: now(), retryAt });
      return { retryAt };
    }
  }

  async function giveUp(entry: OutboxEntry, reason: string): Promise<'failed'> {
    entry.lastError = reason;
    options.logger.error({ outboxId: entry.id, channel: entry.channel, runId: entry.runId, err: reason }, 'message given up: it will not be delivered');
    await options.store.recordDeliveryFailure(entry.id, { error: reason, now: now(), retryAt: null });
    return 'failed';
  }

  /** Reads the undelivered messages of the accounts running here (of one account, given its key). */
  async function refill(accountKey?: string): Promise<void> {
    const entries = await options.store.undeliveredOutbox(maxQueued);
    // A full page means more may wait in the store: read again when room frees up.
    if (entries.length >= maxQueued) overflowed = true;
    for (const entry of entries) {
      // Messages of an account that does not run here stay in the store (another node of a cluster may hold it).
      if ((accountKey === undefined || entry.channel === accountKey) && options.account(entry.channel)) enqueue(entry);
    }
  }

  /** Drops what is queued in memory for an account that stopped here; the store keeps it. */
  function forgetAccount(accountKey: string): void {
    for (const [key, queue] of queues) {
      if (!key.startsWith(`${accountKey}|`)) continue;
      for (const entry of queue.splice(0)) known.delete(entry.id);
      queues.delete(key);
    }
  }

  return {
    /** Loads what a previous run left undelivered and starts delivering it. */
    start: () => refill(),
    refill,
    forgetAccount,
    /** Delivers a message that was just committed to the outbox. */
    enqueue,
    /** An account (re)connected: retry the messages that were waiting for it. */
    accountConnected(accountKey: string): void {
      for (const key of queues.keys()) if (key.startsWith(`${accountKey}|`)) startWorker(key);
    },
    /** Resolves when the message is delivered or given up (for `hearth message send`). */
    waitForDelivery(outboxId: number, timeoutMs: number): Promise<{ delivered: boolean; error: string | null } | null> {
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          deliveredWaiters.delete(outboxId);
          resolve(null);
        }, timeoutMs);
        deliveredWaiters.set(outboxId, (result) => {
          clearTimeout(timer);
          resolve(result);
        });
      });
    },
    queuedCount: () => known.size,
    /** Resolves when no delivery is in progress (used by tests and shutdown). */
    idle(): Promise<void> {
      if (working.size === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    stop(): void {
      stopController.abort();
      for (const resolve of deliveredWaiters.values()) resolve({ delivered: false, error: 'the gateway stopped' });
      deliveredWaiters.clear();
      queues.clear();
      known.clear();
    },
  };
}

export type OutboxDispatcher = ReturnType<typeof createOutboxDispatcher>;
