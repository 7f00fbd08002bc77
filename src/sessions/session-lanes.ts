/**
 * Schedules turns: one at a time per session (its lane, FIFO), at most `maxConcurrent` turns
 * across all sessions, and at most `providerShare` of them (rounded up) for one model provider, so
 * a provider that stops answering cannot hold every slot: the turns for it wait, the others pass.
 * A lane exists only while it has queued or running work, and a provider's count only while it
 * has running work, so both maps are bounded by the work in flight.
 */
export interface SessionLanes {
  /** Queues `task` on the session's lane; resolves/rejects with the task's outcome. `provider` is the turn's primary model provider. */
  run<T>(sessionKey: string, task: () => Promise<T>, options?: { provider?: string | undefined }): Promise<T>;
  /** `providerShare` (0 < share ≤ 1) is kept when omitted. */
  setMaxConcurrent(limit: number, providerShare?: number): void;
  stats(): { running: number; queued: number; lanes: number; perProvider: number; providers: Record<string, number> };
  /** True while the session has a turn running or queued. */
  isBusy(sessionKey: string): boolean;
  /** Resolves when nothing is running or queued (or after `timeoutMs`, resolving false). */
  idle(timeoutMs: number): Promise<boolean>;
}

/**
 * The share to use: `share` when the agents' first models (`provider/model`) name more than one
 * provider, else 1 (with one provider, slots kept from it would serve nobody).
 */
export function effectiveProviderShare(primaryModelRefs: readonly (string | undefined)[], share: number): number {
  const providers = new Set(primaryModelRefs.flatMap((ref) => (ref ? [ref.split('/')[0]] : [])));
  return providers.size > 1 ? share : 1;
}

interface Job {
  start(): void;
  provider: string | undefined;
}

interface Lane {
  jobs: Job[];
  busy: boolean;
}

export function createSessionLanes(options: { maxConcurrent: number; providerShare?: number }): SessionLanes {
  let maxConcurrent = options.maxConcurrent;
  let providerShare = options.providerShare ?? 1;
  let running = 0;
  /** Running turns by provider; an entry is removed when its count drops to 0. */
  const byProvider = new Map<string, number>();
  const perProvider = () => Math.max(1, Math.ceil(maxConcurrent * providerShare));
  const hasRoom = (provider: string | undefined) => provider === undefined || (byProvider.get(provider) ?? 0) < perProvider();
  let queued = 0;
  const lanes = new Map<string, Lane>();
  /** Lanes whose head job waits for a global slot, in arrival order. */
  const ready: string[] = [];
  const idleWaiters = new Set<() => void>();

  const notifyIdle = () => {
    if (running === 0 && queued === 0) for (const wake of idleWaiters) wake();
  };

  /** The first waiting lane (in arrival order) whose next turn's provider has room, or -1. */
  const nextReady = (): number => {
    for (let index = 0; index < ready.length; index++) {
      const job = lanes.get(ready[index]!)?.jobs[0];
      if (!job || hasRoom(job.provider)) return index;
    }
    return -1;
  };

  const pump = () => {
    while (running < maxConcurrent && ready.length > 0) {
      const index = nextReady();
      if (index < 0) return;
      const key = ready.splice(index, 1)[0]!;
      const lane = lanes.get(key);
      const job = lane?.jobs.shift();
      if (!lane || !job) continue;
      lane.busy = true;
      running++;
      queued--;
      if (job.provider !== undefined) byProvider.set(job.provider, (byProvider.get(job.provider) ?? 0) + 1);
      job.start();
    }
  };

  const finish = (key: string, provider: string | undefined) => {
    running--;
    if (provider !== undefined) {
      const count = (byProvider.get(provider) ?? 1) - 1;
      if (count > 0) byProvider.set(provider, count);
      else byProvider.delete(provider);
    }
    const lane = lanes.get(key);
    if (lane) {
      lane.busy = false;
      if (lane.jobs.length > 0) ready.push(key);
      else lanes.delete(key);
    }
    pump();
    notifyIdle();
  };

  return {
    run<T>(sessionKey: string, task: () => Promise<T>, runOptions?: { provider?: string | undefined }): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const job: Job = {
          provider: runOptions?.provider,
          start: () => {
            let promise: Promise<T>;
            try {
              promise = task();
            } catch (error) {
              promise = Promise.reject(error);
            }
            promise.then(resolve, reject).finally(() => finish(sessionKey, job.provider));
          },
        };
        let lane = lanes.get(sessionKey);
        if (!lane) {
          lane = { jobs: [], busy: false };
          lanes.set(sessionKey, lane);
        }
        lane.jobs.push(job);
        queued++;
        if (!lane.busy && lane.jobs.length === 1) ready.push(sessionKey);
        pump();
      });
    },
    setMaxConcurrent(limit: number, share?: number) {
      maxConcurrent = Math.max(1, limit);
      if (share !== undefined) providerShare = Math.min(1, Math.max(0, share));
      pump();
    },
    stats: () => ({ running, queued, lanes: lanes.size, perProvider: perProvider(), providers: Object.fromEntries(byProvider) }),
    isBusy: (sessionKey) => lanes.has(sessionKey),
    idle(timeoutMs: number): Promise<boolean> {
      if (running === 0 && queued === 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          idleWaiters.delete(wake);
          resolve(true);
        };
        const timer = setTimeout(() => {
          idleWaiters.delete(wake);
          resolve(false);
        }, timeoutMs);
        idleWaiters.add(wake);
      });
    },
  };
}
