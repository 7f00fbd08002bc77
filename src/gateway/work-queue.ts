/**
 * Bounds the work authenticated clients give the gateway, instead of rate-limiting them: each
 * client (a connection) may have `perClient` tasks running and `queuePerClient` waiting; all
 * clients together `total` running and `queueTotal` waiting. Waiting tasks start round-robin
 * across clients, so one busy connection cannot starve the others. A task that finds the queues
 * full is refused at once (`run` resolves `{ admitted: false }`), never queued without bound.
 */
export interface WorkQueueLimits {
  perClient: number;
  total: number;
  queuePerClient: number;
  queueTotal: number;
}

export interface WorkQueue {
  /** Runs `task` when the client's turn comes; `{ admitted: false }` when the queues are full. */
  run<T>(client: string, task: () => Promise<T>): Promise<{ admitted: true; value: T } | { admitted: false }>;
  /** Drops a client's waiting tasks (they resolve `{ admitted: false }`), e.g. when its connection closes. */
  forget(client: string): void;
  configure(limits: WorkQueueLimits): void;
  stats(): { running: number; queued: number; clients: number };
}

interface ClientState {
  running: number;
  waiting: (() => void)[];
  /** Resolves each waiting task with "not admitted" when the client is forgotten. */
  refusals: (() => void)[];
}

export function createWorkQueue(initial: WorkQueueLimits): WorkQueue {
  let limits = initial;
  /** Clients with running or waiting tasks; an entry leaves when it has neither. */
  const clients = new Map<string, ClientState>();
  /** Clients with waiting tasks, in round-robin order. */
  const ready: string[] = [];
  let running = 0;
  let queued = 0;

  const release = (client: string) => {
    const state = clients.get(client);
    if (state && state.running === 0 && state.waiting.length === 0) clients.delete(client);
  };

  const startWaiting = () => {
    let skipped = 0;
    while (running < limits.total && ready.length > 0 && skipped < ready.length) {
      const client = ready.shift() as string;
      const state = clients.get(client);
      if (!state || state.waiting.length === 0) continue;
      if (state.running >= limits.perClient) {
        ready.push(client);
        skipped += 1;
        continue;
      }
      skipped = 0;
      const start = state.waiting.shift() as () => void;
      state.refusals.shift();
      queued -= 1;
      if (state.waiting.length > 0) ready.push(client);
      start();
    }
  };

  return {
    async run(client, task) {
      let state = clients.get(client);
      if (!state) {
        state = { running: 0, waiting: [], refusals: [] };
        clients.set(client, state);
      }
      const owner = state;
      if (owner.running >= limits.perClient || running >= limits.total || owner.waiting.length > 0) {
        if (owner.waiting.length >= limits.queuePerClient || queued >= limits.queueTotal) {
          release(client);
          return { admitted: false };
        }
        const admitted = await new Promise<boolean>((resolve) => {
          if (owner.waiting.length === 0) ready.push(client);
          owner.waiting.push(() => resolve(true));
          owner.refusals.push(() => resolve(false));
          queued += 1;
        });
        if (!admitted) return { admitted: false };
      }
      owner.running += 1;
      running += 1;
      try {
        return { admitted: true, value: await task() };
      } finally {
        owner.running -= 1;
        running -= 1;
        release(client);
        startWaiting();
      }
    },
    forget(client) {
      const state = clients.get(client);
      if (!state) return;
      queued -= state.waiting.length;
      const refusals = state.refusals.splice(0);
      state.waiting.length = 0;
      const at = ready.indexOf(client);
      if (at !== -1) ready.splice(at, 1);
      release(client);
      for (const refuse of refusals) refuse();
    },
    configure(next) {
      limits = next;
      startWaiting();
    },
    stats: () => ({ running, queued, clients: clients.size }),
  };
}
