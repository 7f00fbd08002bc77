import type { Leases } from './leases.js';

/**
 * Which node runs a session's turns. A node runs a session's turns only while it holds the
 * session's lease (`session:<key>`); it takes the lease when it has a turn of the session to run
 * and the lease is free or expired, renews it in one statement for every session it holds, and
 * gives it up as soon as it has no turn of that session left. So a session's turns run on one
 * node at a time, in the order they were accepted, and a dead node's sessions pass to another
 * node once their leases expire.
 */
export interface SessionOwnership {
  /** Whether this node may run the lane's turns now (taking its lease when free). */
  claim(lane: string): Promise<boolean>;
  /** This node has no turn of the lane left queued or running: let another node take it. */
  release(lane: string): void;
  /** The lanes this node holds. */
  held(): string[];
  /** Renews every held lease; a lease that could not be renewed in time is reported lost. */
  renew(): Promise<void>;
  /** Releases every lease (the node is stopping). */
  releaseAll(): Promise<void>;
}

export interface SessionOwnershipOptions {
  leases: Leases;
  ttlMs: number;
  /** A lane this node held was taken by another node or not renewed in time. */
  onLost(lane: string, reason: string): void;
  onError(error: unknown): void;
  now?: () => number;
}

const leaseName = (lane: string) => `session:${lane}`;
const laneOf = (name: string) => name.slice('session:'.length);

export function createSessionOwnership(options: SessionOwnershipOptions): SessionOwnership {
  const now = options.now ?? Date.now;
  /** Held lanes, with when their lease was last taken or renewed. */
  const held = new Map<string, number>();
  /** Lanes whose lease is being given back: a claim of the lane waits for that first. */
  const releasing = new Map<string, Promise<void>>();

  const lose = (lane: string, reason: string) => {
    if (!held.delete(lane)) return;
    options.onLost(lane, reason);
  };
  const giveBack = (lane: string) => {
    const done = options.leases
      .release(leaseName(lane))
      .catch(options.onError)
      .finally(() => {
        if (releasing.get(lane) === done) releasing.delete(lane);
      });
    releasing.set(lane, done);
  };

  return {
    async claim(lane) {
      if (held.has(lane)) return true;
      await releasing.get(lane);
      if (held.has(lane)) return true;
      const started = now();
      const ok = await options.leases.acquire(leaseName(lane), options.ttlMs);
      if (!ok) return false;
      held.set(lane, started);
      return true;
    },
    release(lane) {
      if (!held.delete(lane)) return;
      giveBack(lane);
    },
    held: () => [...held.keys()],
    async renew() {
      const names = [...held.keys()];
      if (names.length === 0) return;
      const started = now();
      try {
        const renewed = new Set((await options.leases.renew(names.map(leaseName), options.ttlMs)).map(laneOf));
        for (const lane of names) {
          if (!held.has(lane)) continue;
          if (renewed.has(lane)) held.set(lane, started);
          else lose(lane, 'another node holds it');
        }
      } catch (error) {
        options.onError(error);
        for (const lane of names) {
          const renewedAt = held.get(lane);
          if (renewedAt !== undefined && now() - renewedAt > options.ttlMs * 0.8) lose(lane, 'not renewed in time (the database did not answer)');
        }
      }
    },
    async releaseAll() {
      const lanes = [...held.keys()];
      held.clear();
      await Promise.all(lanes.map((lane) => options.leases.release(leaseName(lane)).catch(options.onError)));
    },
  };
}
