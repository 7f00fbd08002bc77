import type { Channel, ChannelTarget } from '../contracts/channel.js';

export interface TypingAccount {
  channel: Channel;
  typingIntervalMs: number;
  isConnected(): boolean;
}

/**
 * Shows "typing…" in a chat while its turn runs: first shown `startDelayMs` (100 ms) into the
 * run — too soon for anyone to notice, late enough that a reply that is already there needs no
 * extra platform call — then renewed every interval (platforms clear it after a few seconds),
 * stopped when the run ends however it ends (reply, error, abort) and in any case after
 * `maxDurationMs`. One entry per running turn.
 */
export function createTypingIndicators(options: {
  account(key: string): TypingAccount | undefined;
  logger: { warn(obj: object, msg?: string): void };
  maxDurationMs: number;
  startDelayMs?: number;
}) {
  const startDelayMs = options.startDelayMs ?? 100;
  const running = new Map<string, { timer: NodeJS.Timeout; first: NodeJS.Timeout; deadline: NodeJS.Timeout; controller: AbortController; accountKey: string }>();

  const stop = (runId: string) => {
    const entry = running.get(runId);
    if (!entry) return;
    running.delete(runId);
    clearInterval(entry.timer);
    clearTimeout(entry.first);
    clearTimeout(entry.deadline);
    entry.controller.abort();
  };

  return {
    start(runId: string, accountKey: string, targetJson: string): void {
      const account = options.account(accountKey);
      if (!account?.channel.typing || running.has(runId)) return;
      let target: ChannelTarget;
      try {
        target = JSON.parse(targetJson) as ChannelTarget;
      } catch {
        return;
      }
      const controller = new AbortController();
      let failures = 0;
      const pulse = () => {
        const current = options.account(accountKey);
        if (!current?.channel.typing || !current.isConnected()) return;
        current.channel.typing(target, controller.signal).catch((error) => {
          failures += 1;
          // One warning per turn is enough: typing is a courtesy, the reply is what matters.
          if (failures === 1 && !controller.signal.aborted) options.logger.warn({ runId, channel: accountKey, err: error instanceof Error ? error.message : String(error) }, 'typing indicator failed');
        });
      };
      const timer = setInterval(pulse, account.typingIntervalMs);
      const first = setTimeout(pulse, startDelayMs);
      const deadline = setTimeout(() => stop(runId), options.maxDurationMs);
      running.set(runId, { timer, first, deadline, controller, accountKey });
    },
    stop,
    /** Stops every indicator of an account (it is being stopped or restarted). */
    stopAccount(accountKey: string): void {
      for (const [runId, entry] of running) if (entry.accountKey === accountKey) stop(runId);
    },
    stopAll(): void {
      for (const runId of [...running.keys()]) stop(runId);
    },
    activeCount: () => running.size,
  };
}

export type TypingIndicators = ReturnType<typeof createTypingIndicators>;
