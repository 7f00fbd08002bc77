import { Worker } from 'node:worker_threads';

/** What a request thread's source receives for each request, and must answer with the same `id`. */
export interface WorkerRequest<Body> {
  id: number;
  body: Body;
}
export type WorkerReply<Result> = { id: number; result: Result } | { id: number; error: string };

export interface WorkerRequests<Body, Result> {
  /** Sends a request to the thread (starting it the first time); rejects when it fails, ends or does not answer in time. */
  request(body: Body): Promise<Result>;
  /** Ends the thread; requests in flight and later ones reject. */
  close(): void;
}

/**
 * A thread (`source`, CommonJS run with `eval`) that answers requests: each is posted as
 * `{id, body}` and answered as `{id, result}` or `{id, error}`. Every request is given up after
 * `timeoutMs`. A thread that fails or ends rejects what is in flight and every later request with
 * the reason. An idle thread never keeps the process alive; a request in flight does, through its timer.
 */
export function createWorkerRequests<Body, Result>(source: string, workerData: unknown, options: { name: string; timeoutMs: number }): WorkerRequests<Body, Result> {
  const pending = new Map<number, { resolve: (result: Result) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  const state = { worker: null as Worker | null, nextId: 0, broken: null as Error | null };

  const settle = (id: number, outcome: { result: Result } | { error: Error }) => {
    const request = pending.get(id);
    if (!request) return;
    pending.delete(id);
    clearTimeout(request.timer);
    if ('error' in outcome) request.reject(outcome.error);
    else request.resolve(outcome.result);
  };
  const breakWith = (error: Error) => {
    state.broken ??= error;
    state.worker = null;
    for (const id of [...pending.keys()]) settle(id, { error });
  };

  const start = (): Worker => {
    const worker = new Worker(source, { eval: true, workerData });
    worker.on('message', (reply: WorkerReply<Result>) => settle(reply.id, 'error' in reply ? { error: new Error(reply.error) } : { result: reply.result }));
    worker.on('error', breakWith);
    worker.on('exit', (code) => breakWith(new Error(`${options.name} ended (exit code ${code})`)));
    // After the listeners: adding a 'message' listener holds the process again.
    worker.unref();
    return worker;
  };

  return {
    request(body) {
      if (state.broken) return Promise.reject(state.broken);
      state.worker ??= start();
      const worker = state.worker;
      const id = state.nextId++;
      return new Promise<Result>((resolve, reject) => {
        const timer = setTimeout(() => settle(id, { error: new Error(`${options.name} did not answer within ${options.timeoutMs} ms`) }), options.timeoutMs);
        pending.set(id, { resolve, reject, timer });
        worker.postMessage({ id, body } satisfies WorkerRequest<Body>);
      });
    },
    close() {
      const worker = state.worker;
      breakWith(new Error(`${options.name} was closed`));
      if (worker) void worker.terminate();
    },
  };
}
