/**
 * Schedules turns: one at a time per session (its lane, FIFO) and at most `maxConcurrent` turns
 * across all sessions. A lane exists only while it has queued or running work, so the map is
 * bounded by the work in flight.
 */
export interface SessionLanes {
  /** Queues `task` on the session's lane; resolves/rejects with the task's outcome. */
  run<T>(sessionKey: string, task: () => Promise<T>): Promise<T>;
  setMaxConcurrent(limit: number): void;
  stats(): { running: number; queued: number; lanes: number };
  /** True while the session has a turn running or queued. */
  isBusy(sessionKey: string): boolean;
  /** Resolves when nothing is running or queued (or after `timeoutMs`, resolving false). */
  idle(timeoutMs: number): Promise<boolean>;
}

interface Job {
  start(): void;
}

interface Lane {
  jobs: Job[];
  busy: boolean;
}

export function createSessionLanes(options: { maxConcurrent: number }): SessionLanes {
  let maxConcurrent = options.maxConcurrent;
  let running = 0;
  let queued = 0;
  const lanes = new Map<string, Lane>();
  /** Lanes whose head job waits for a global slot, in arrival order. */
  const ready: string[] = [];
  const idleWaiters = new Set<() => void>();

  const notifyIdle = () => {
    if (running === 0 && queued === 0) for (const wake of idleWaiters) wake();
  };

  const pump = () => {
    while (running < maxConcurrent && ready.length > 0) {
      const key = ready.shift()!;
      const lane = lanes.get(key);
      const job = lane?.jobs.shift();
      if (!lane || !job) continue;
      lane.busy = true;
      running++;
      queued--;
      job.start();
    }
  };

  const finish = (key: string) => {
    running--;
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
    run<T>(sessionKey: string, task: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const job: Job = {
          start: () => {
            let promise: Promise<T>;
            try {
              promise = task();
            } catch (error) {
              promise = Promise.reject(error);
            }
            promise.then(resolve, reject).finally(() => finish(sessionKey));
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
    setMaxConcurrent(limit: number) {
      maxConcurrent = Math.max(1, limit);
      pump();
    },
    stats: () => ({ running, queued, lanes: lanes.size }),
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
