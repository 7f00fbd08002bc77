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
  /**
   * How long a lane is kept after its last turn before its lease is given back: the next message
   * of a conversation usually follows soon, and keeping the lane spares two writes per turn.
   * Another node with a turn for it tells this node, which takes the turn up. Default 0.
   */
  lingerMs?: number;
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
  /** Lanes with no turn left here, kept until their timer gives them back (a claim cancels it). */
  const lingering = new Map<string, ReturnType<typeof setTimeout>>();
  const lingerMs = options.lingerMs ?? 0;

  const lose = (lane: string, reason: string) => {
    clearTimeout(lingering.get(lane));
    lingering.delete(lane);
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
      const timer = lingering.get(lane);
      if (timer) {
        clearTimeout(timer);
        lingering.delete(lane);
      }
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
      if (!held.has(lane) || lingering.has(lane)) return;
      if (lingerMs <= 0) {
        held.delete(lane);
        giveBack(lane);
        return;
      }
      const timer = setTimeout(() => {
        lingering.delete(lane);
        if (held.delete(lane)) giveBack(lane);
      }, lingerMs);
      timer.unref?.();
      lingering.set(lane, timer);
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
      for (const timer of lingering.values()) clearTimeout(timer);
      lingering.clear();
      const lanes = [...held.keys()];
      held.clear();
      await Promise.all(lanes.map((lane) => options.leases.release(leaseName(lane)).catch(options.onError)));
    },
  };
}
