import type { Readable } from 'node:stream';
import { type ResourceLimits, Worker } from 'node:worker_threads';
import type { InboundMessage } from '../contracts/channel.js';
import type { HookName } from './plugin-api.js';
import {
  type ChannelAccountInfo,
  type ChannelOp,
  type ChannelResultMessage,
  type ChannelRunMessage,
  type HookResultMessage,
  type HostMessage,
  MAX_NOTE_CHARS,
  messageOf,
  type PluginCallContext,
  type PluginChannelInfo,
  type PluginToolInfo,
  type PluginWorkerData,
  parseWorkerMessage,
  type RouteResultMessage,
  truncate,
  type WorkerMessage,
} from './plugin-protocol.js';

/** Lines of a plugin's stdout or stderr chunk passed to the log; the rest are dropped. */
const MAX_OUTPUT_LINES_PER_CHUNK = 20;

export interface PluginThreadOptions {
  data: PluginWorkerData;
  workerUrl: URL;
  /** How long activation may take, from the start of the thread. */
  loadMs: number;
  /** Requests that may wait for an answer at once; more are answered `busy`. */
  maxPending: number;
  resourceLimits: ResourceLimits;
  /** A line from the plugin: `api.log`, or its stdout or stderr. */
  onLog(message: string, stream: 'log' | 'stdout' | 'stderr'): void;
  /** The worker ended by itself after activating (a crash or an exit); not called after terminate(). */
  onExit(reason: string): void;
  /** The worker sent a message outside the protocol after activating. */
  onProtocolError(problem: string): void;
}

/** How activation ended: what the plugin registered, or why it failed (import, activate(), timeout, crash). */
export type Activation = { ok: true; tools: PluginToolInfo[]; hooks: HookName[]; routes: string[]; channels: PluginChannelInfo[] } | { ok: false; error: string };

/** Where a channel run's messages and signs of life go, while it runs. */
export interface ChannelRunHandlers {
  /** Stores a received message; the plugin's `receive` resolves (or rejects with the reason) when this settles. */
  receive(message: InboundMessage): Promise<void>;
  connected(info: { botId: string; botName: string }): void;
  progress(): void;
  reject(reason: string, payload: string): void;
}

/** A request to one of the plugin's routes, as it crosses to the worker. */
export type RouteRequest = Omit<Extract<HostMessage, { type: 'route' }>, 'type' | 'id'>;

/** A request's outcome. Failures are data: the caller decides what each means for the plugin. */
export type Reply<T> =
  | { kind: 'reply'; message: T }
  | { kind: 'timeout' }
  | { kind: 'aborted' }
  | { kind: 'busy' }
  | { kind: 'gone'; reason: string }
  | { kind: 'unsendable'; reason: string };

type ResultMessage = Extract<WorkerMessage, { type: 'result' }>;
type PongMessage = Extract<WorkerMessage, { type: 'pong' }>;
type Answer = ResultMessage | HookResultMessage | RouteResultMessage | PongMessage | ChannelResultMessage;

interface Pending {
  type: Answer['type'];
  settle(reply: Reply<Answer>): void;
}

/** One plugin's worker thread, seen from the host: activation, requests with deadlines, and its end. */
export interface PluginThread {
  readonly activation: Promise<Activation>;
  call(tool: string, args: unknown, context: PluginCallContext, timeoutMs: number, signal: AbortSignal): Promise<Reply<ResultMessage>>;
  hook(hook: HookName, payload: object, timeoutMs: number): Promise<Reply<HookResultMessage>>;
  route(request: RouteRequest, timeoutMs: number, signal: AbortSignal): Promise<Reply<RouteResultMessage>>;
  ping(timeoutMs: number): Promise<Reply<PongMessage>>;
  /** A channel method other than `run` for one account. */
  channel(op: Exclude<ChannelOp, 'run'>, platform: string, account: ChannelAccountInfo, args: unknown, timeoutMs: number, signal: AbortSignal): Promise<Reply<ChannelResultMessage>>;
  /** Runs a channel account until the plugin's run ends or `signal` aborts (no deadline); its messages go to `handlers`. */
  channelRun(platform: string, account: ChannelAccountInfo, handlers: ChannelRunHandlers, signal: AbortSignal): Promise<Reply<ChannelResultMessage>>;
  /** Ends the thread (even one stuck in a loop); pending requests answer `gone`. Idempotent. */
  terminate(): Promise<void>;
}

/** Starts the worker for `options.data` with its own module graph, an empty environment and memory limits. */
export function startPluginThread(options: PluginThreadOptions): PluginThread {
  const pending = new Map<number, Pending>();
  /** The channel runs in progress, by request id. */
  const runs = new Map<number, ChannelRunHandlers>();
  const state = { nextId: 0, activated: false, activatedOk: false, ended: false, lastError: null as string | null };
  const activation = createLatch<Activation>();

  const finishActivation = (outcome: Activation) => {
    if (state.activated) return;
    state.activated = true;
    state.activatedOk = outcome.ok;
    clearTimeout(loadTimer);
    activation.resolve(outcome);
  };

  const end = (reason: string) => {
    state.ended = true;
    for (const entry of [...pending.values()]) entry.settle({ kind: 'gone', reason });
    finishActivation({ ok: false, error: reason });
  };

  const loadTimer = setTimeout(() => finishActivation({ ok: false, error: `activate() did not finish within ${options.loadMs} ms` }), options.loadMs);
  loadTimer.unref();

  let worker: Worker;
  try {
    worker = new Worker(options.workerUrl, {
      workerData: options.data,
      resourceLimits: options.resourceLimits,
      env: {},
      execArgv: [],
      stdout: true,
      stderr: true,
      name: `hearth-plugin-${options.data.pluginId}`,
    });
  } catch (error) {
    end(`its worker could not start: ${messageOf(error)}`);
    return { activation: activation.promise, call: gone, hook: gone, route: gone, ping: gone, channel: gone, channelRun: gone, terminate: async () => {} };
  }

  const receive = (raw: unknown) => {
    const parsed = parseWorkerMessage(raw);
    if (!parsed.ok) return protocolError(parsed.problem);
    const message = parsed.message;
    if (message.type === 'log') return options.onLog(message.message, 'log');
    if (message.type === 'ready' || message.type === 'activation-failed') {
      if (state.activated) return protocolError(`a second "${message.type}" message`);
      return finishActivation(
        message.type === 'ready' ? { ok: true, tools: message.tools, hooks: message.hooks, routes: message.routes, channels: message.channels } : { ok: false, error: message.error },
      );
    }
    if (message.type === 'channel-inbound' || message.type === 'channel-connected' || message.type === 'channel-progress' || message.type === 'channel-reject') {
      return runMessage(message);
    }
    const entry = pending.get(message.id);
    // An answer nobody waits for any more (it timed out or was cancelled) is dropped.
    if (entry === undefined) return;
    if (entry.type !== message.type) return protocolError(`"${message.type}" in answer to a request that expects "${entry.type}"`);
    entry.settle({ kind: 'reply', message });
  };

  const protocolError = (problem: string) => {
    if (!state.activated) return finishActivation({ ok: false, error: `it broke the protocol: it sent ${problem}` });
    options.onProtocolError(problem);
  };

  const post = (message: HostMessage) => {
    try {
      worker.postMessage(message);
    } catch {
      // the worker is gone; its end is reported by its exit
    }
  };

  /** A running channel's message, handed to its run's handlers (a message for a run that ended is refused). */
  const runMessage = (message: ChannelRunMessage) => {
    const handlers = runs.get(message.id);
    if (message.type === 'channel-inbound') {
      if (handlers === undefined) return post({ type: 'channel-ack', seq: message.seq, error: 'this run has ended: the gateway stopped or reconnected the account' });
      handlers.receive(message.message).then(
        () => post({ type: 'channel-ack', seq: message.seq, error: null }),
        (error: unknown) => post({ type: 'channel-ack', seq: message.seq, error: truncate(messageOf(error), MAX_NOTE_CHARS) }),
      );
      return;
    }
    if (handlers === undefined) return;
    if (message.type === 'channel-connected') handlers.connected({ botId: message.botId, botName: message.botName });
    else if (message.type === 'channel-progress') handlers.progress();
    else handlers.reject(message.reason, message.payload);
  };

  worker.on('message', receive);
  worker.on('error', (error) => {
    state.lastError = messageOf(error);
  });
  worker.on('exit', (code) => {
    if (state.ended) return;
    const reason = state.lastError === null ? `its worker exited with code ${code}` : `its worker died: ${state.lastError}`;
    // A worker whose activation failed is being quarantined, not restarted: its end is no crash.
    const wasActive = state.activated && state.activatedOk;
    end(wasActive ? reason : `${reason} (before activate() finished)`);
    if (wasActive) options.onExit(reason);
  });
  forwardOutput(worker.stdout, 'stdout', options.onLog);
  forwardOutput(worker.stderr, 'stderr', options.onLog);

  /** Sends a request and waits for its answer; `timeoutMs` null: no deadline; `run`: the handlers of a channel run. */
  const request = <T extends Answer>(message: object, type: T['type'], timeoutMs: number | null, signal?: AbortSignal, run?: ChannelRunHandlers): Promise<Reply<T>> =>
    new Promise((resolve) => {
      if (state.ended) return resolve({ kind: 'gone', reason: 'its worker has ended' });
      if (pending.size >= options.maxPending) return resolve({ kind: 'busy' });
      if (signal?.aborted) return resolve({ kind: 'aborted' });
      const id = state.nextId++;
      const onAbort = () => {
        settle({ kind: 'aborted' });
        try {
          worker.postMessage({ type: 'cancel', id });
        } catch {
          // the worker is gone; nothing to cancel
        }
      };
      const timer = timeoutMs === null ? undefined : setTimeout(() => settle({ kind: 'timeout' }), timeoutMs);
      timer?.unref();
      const settle = (reply: Reply<Answer>) => {
        if (!pending.delete(id)) return;
        runs.delete(id);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(reply as Reply<T>);
      };
      pending.set(id, { type, settle });
      if (run !== undefined) runs.set(id, run);
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        worker.postMessage({ ...message, id });
      } catch (error) {
        settle({ kind: 'unsendable', reason: messageOf(error) });
      }
    });

  return {
    activation: activation.promise,
    call: (tool, args, context, timeoutMs, signal) => request<ResultMessage>({ type: 'call', tool, args, context }, 'result', timeoutMs, signal),
    hook: (hook, payload, timeoutMs) => request<HookResultMessage>({ type: 'hook', hook, payload }, 'hook-result', timeoutMs),
    route: (route, timeoutMs, signal) => request<RouteResultMessage>({ ...route, type: 'route' }, 'route-result', timeoutMs, signal),
    ping: (timeoutMs) => request<PongMessage>({ type: 'ping' }, 'pong', timeoutMs),
    channel: (op, platform, account, args, timeoutMs, signal) => request<ChannelResultMessage>({ type: 'channel', op, platform, account, args }, 'channel-result', timeoutMs, signal),
    channelRun: (platform, account, handlers, signal) => request<ChannelResultMessage>({ type: 'channel', op: 'run', platform, account, args: null }, 'channel-result', null, signal, handlers),
    async terminate() {
      if (!state.ended) end('its worker was stopped');
      await worker.terminate();
    },
  };
}

async function gone(): Promise<{ kind: 'gone'; reason: string }> {
  return { kind: 'gone', reason: 'its worker could not start' };
}

/** Passes a worker's output to the log line by line, each line cut short, a chunk's lines capped. */
function forwardOutput(stream: Readable, name: 'stdout' | 'stderr', onLog: PluginThreadOptions['onLog']): void {
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = chunk.split('\n').filter((line) => line.trim() !== '');
    for (const line of lines.slice(0, MAX_OUTPUT_LINES_PER_CHUNK)) onLog(truncate(line, MAX_NOTE_CHARS), name);
    if (lines.length > MAX_OUTPUT_LINES_PER_CHUNK) onLog(`(${lines.length - MAX_OUTPUT_LINES_PER_CHUNK} more lines dropped)`, name);
  });
}

function createLatch<T>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}
