import type { Leases } from './leases.js';

export interface LeaseKeeperOptions {
  leases: Leases;
  /** How long a lease lasts without renewal: how soon another node takes over a dead holder's work. */
  ttlMs: number;
  /** The leases this node wants (e.g. every configured channel account); read at each round. */
  wanted(): string[];
  /** This node now holds `name`: start its work. */
  onAcquired(name: string): void;
  /** This node no longer holds `name` (taken over, not wanted, or not renewed in time): stop its work. */
  onLost(name: string, reason: string): void;
  onError?(error: unknown): void;
  now?: () => number;
}

export interface LeaseKeeper {
  /** One round: renew what is held, try for what is wanted. */
  tick(): Promise<void>;
  start(): void;
  /** Stops renewing and releases every held lease, so other nodes take over at once. */
  stop(): Promise<void>;
  held(): string[];
}

/**
 * Keeps this node's leases: every third of the lease's life it renews the ones it holds and tries
 * for the ones it wants. A lease it could not renew within 80 % of its life (the database away, or
 * another node took it) is given up before it expires, so two nodes never both think they hold it.
 */
export function createLeaseKeeper(options: LeaseKeeperOptions): LeaseKeeper {
  const now = options.now ?? Date.now;
  const held = new Map<string, number>();
  let timer: ReturnType<typeof setInterval> | null = null;
  let round: Promise<void> = Promise.resolve();

  function lose(name: string, reason: string): void {
    if (!held.delete(name)) return;
    options.onLost(name, reason);
  }

  async function attempt(name: string): Promise<void> {
    const started = now();
    try {
      const ok = await options.leases.acquire(name, options.ttlMs);
      if (ok && !held.has(name)) {
        held.set(name, started);
        options.onAcquired(name);
      } else if (ok) held.set(name, started);
      else lose(name, 'another node holds it');
    } catch (error) {
      options.onError?.(error);
      const renewedAt = held.get(name);
      if (renewedAt !== undefined && now() - renewedAt > options.ttlMs * 0.8) lose(name, 'not renewed in time (the database did not answer)');
    }
  }

  async function tick(): Promise<void> {
    const wanted = new Set(options.wanted());
    for (const name of [...held.keys()]) {
      if (wanted.has(name)) continue;
      lose(name, 'no longer wanted');
      await options.leases.release(name).catch((error: unknown) => options.onError?.(error));
    }
    for (const name of wanted) await attempt(name);
  }

  return {
    tick,
    start() {
      round = tick();
      timer = setInterval(() => {
        round = round.then(tick);
      }, Math.max(50, Math.floor(options.ttlMs / 3)));
      timer.unref?.();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await round;
      for (const name of [...held.keys()]) {
        lose(name, 'this node is stopping');
        await options.leases.release(name).catch((error: unknown) => options.onError?.(error));
      }
    },
    held: () => [...held.keys()],
  };
}
