import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { acceptTools, formatCallResult, type RawCallResult } from './mcp-result.js';
import { createSession, type McpSession } from './mcp-session.js';
import type { McpCallResult, McpConnection, McpConnectionOptions, McpLogger, McpServerHealth, McpServerSettings, McpToolInfo } from './mcp-types.js';

export type { McpCallResult, McpConnection, McpConnectionOptions, McpLogger, McpServerHealth, McpServerSettings, McpToolInfo } from './mcp-types.js';

const DEFAULT_TIMEOUT_MS = 60_000;
/** Start-up (spawn, handshake, listing) may take this long even with a shorter per-call timeout: `npx` may download first. */
const MIN_START_TIMEOUT_MS = 60_000;
const DEFAULT_BACKOFF = { initialMs: 1000, maxMs: 60_000, resetAfterMs: 60_000 };
const DEFAULT_HEALTH_CHECK = { intervalMs: 15_000, timeoutMs: 5_000 };
const DEFAULT_CLIENT_INFO = { name: 'hearth', version: '0.1.0' };
/** Characters of a failing server's stderr quoted in a tool result (health() has all that is kept). */
const STDERR_IN_RESULT_CHARS = 500;
const SILENT: McpLogger = { info: () => {}, warn: () => {} };

type TimerSlot = 'retry' | 'health' | 'stable';

/**
 * A supervised connection to the MCP server `name` (see McpConnection). Settings that can never
 * work (neither or both of `command` and `url`, a URL that is not http(s)) do not throw: start()
 * then stays 'stopped' with the problem as lastError, and calls answer with it.
 */
export function createMcpConnection(name: string, settings: McpServerSettings, options: McpConnectionOptions = {}): McpConnection {
  const logger = options.logger ?? SILENT;
  const now = options.now ?? Date.now;
  const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  const healthCheck = options.healthCheck ?? DEFAULT_HEALTH_CHECK;
  const clientInfo = options.clientInfo ?? DEFAULT_CLIENT_INFO;
  const timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const startTimeoutMs = Math.max(timeoutMs, MIN_START_TIMEOUT_MS);
  const listeners = new Set<() => void>();
  const timers = createTimerSlots<TimerSlot>();
  const closing = new Set<Promise<void>>();
  const state = {
    health: 'stopped' as McpServerHealth['state'],
    since: now(),
    /** The current attempt, or the ready session; null while waiting to restart and after stop. */
    session: null as McpSession | null,
    ready: false,
    /** tools/list_changed came while the first listing was under way. */
    toolsChanged: false,
    /** The session a ping is out for. */
    pinging: null as McpSession | null,
    failure: null as { reason: string; stderr: () => string } | null,
    transportError: null as string | null,
    restarts: 0,
    tools: [] as McpToolInfo[],
    nextAttemptAt: null as number | null,
    delayMs: backoff.initialMs,
    started: false,
    stopped: false,
    /** The settings can never work (see settingsProblem). */
    invalid: false,
  };
  const label = `MCP server "${name}"`;

  const notify = () => {
    for (const listener of listeners) {
      try {
        listener();
      } catch {
        // a listener must not break the connection
      }
    }
  };

  const enter = (next: McpServerHealth['state']) => {
    if (state.health !== next) {
      state.health = next;
      state.since = now();
    }
    notify();
  };

  const lastError = (stderrChars = Number.POSITIVE_INFINITY): string | null => {
    if (state.failure === null) return null;
    const stderr = state.failure.stderr().trim().slice(-stderrChars);
    return stderr === '' ? state.failure.reason : `${state.failure.reason}; stderr: ${stderr}`;
  };

  const retire = (session: McpSession, graceful: boolean) => {
    const done = session.close({ graceful }).finally(() => closing.delete(done));
    closing.add(done);
  };

  const fail = (session: McpSession, reason: string) => {
    if (state.stopped || session !== state.session) return;
    state.session = null;
    state.ready = false;
    const after = state.transportError === null || reason.includes(state.transportError) ? '' : ` (after: ${state.transportError})`;
    state.failure = { reason: `${reason}${after}`, stderr: session.stderrTail };
    timers.clear('health');
    timers.clear('stable');
    retire(session, false);
    const delay = state.delayMs;
    state.delayMs = Math.min(delay * 2, backoff.maxMs);
    state.nextAttemptAt = now() + delay;
    logger.warn({ server: name, error: lastError(), retryInMs: delay }, `${label} failed; restarting`);
    timers.set('retry', delay, () => {
      state.nextAttemptAt = null;
      state.restarts += 1;
      void connect();
    });
    enter('restarting');
  };

  const connect = async (): Promise<void> => {
    state.transportError = null;
    state.toolsChanged = false;
    const session: McpSession = createSession(settings, clientInfo, {
      // Before it is ready, connect() fails with the reason (a close is how the SDK cleans up a failed start).
      onClose: () => {
        if (state.ready) fail(session, settings.command === undefined ? 'the connection closed' : 'the server process exited');
      },
      onError: (error) => noteTransportError(session, error),
      onToolsChanged: () => void refreshTools(session),
    });
    state.session = session;
    try {
      await session.connect(startTimeoutMs);
      const tools = await listTools(session, startTimeoutMs);
      if (session !== state.session) return;
      state.tools = tools;
      becomeReady(session);
    } catch (error) {
      fail(session, describeStartFailure(error, settings));
    }
  };

  const listTools = async (session: McpSession, withinMs: number): Promise<McpToolInfo[]> => {
    const listed = await session.listTools(withinMs);
    if (listed.truncated) logger.warn({ server: name, tools: listed.tools.length }, `${label} lists more tools than Hearth takes; the rest are left out`);
    return acceptTools(listed.tools, (tool, reason) => logger.warn({ server: name, tool }, `${label}: tool "${tool}" skipped: ${reason}`));
  };

  const becomeReady = (session: McpSession) => {
    state.ready = true;
    state.nextAttemptAt = null;
    logger.info({ server: name, tools: state.tools.length, restarts: state.restarts }, `${label} ready`);
    scheduleHealthCheck(session, healthCheck.intervalMs);
    if (state.toolsChanged) void refreshTools(session);
    timers.set('stable', backoff.resetAfterMs, () => {
      state.delayMs = backoff.initialMs;
    });
    enter('ready');
  };

  /** Pings the current session after `delayMs` (a stale session's request is ignored). */
  const scheduleHealthCheck = (session: McpSession, delayMs: number) => {
    if (session === state.session && state.ready) timers.set('health', delayMs, () => void checkHealth(session));
  };

  const checkHealth = async (session: McpSession): Promise<void> => {
    if (session !== state.session || state.pinging === session) return;
    state.pinging = session;
    try {
      await session.client.ping({ timeout: healthCheck.timeoutMs });
      if (session === state.session) state.transportError = null;
    } catch (error) {
      fail(session, isTimeout(error) ? `it did not answer a ping within ${healthCheck.timeoutMs} ms` : `a ping failed: ${messageOf(error)}`);
      return;
    } finally {
      if (state.pinging === session) state.pinging = null;
    }
    scheduleHealthCheck(session, healthCheck.intervalMs);
  };

  /** Transport errors are not always fatal (a late answer, a dropped SSE stream that reconnects): a ping decides. */
  const noteTransportError = (session: McpSession, error: Error) => {
    // Before it is ready, connect() fails with the same error.
    if (session !== state.session || !state.ready) return;
    state.transportError = messageOf(error);
    logger.warn({ server: name, error: state.transportError }, `${label}: transport error`);
    scheduleHealthCheck(session, 0);
  };

  const refreshTools = async (session: McpSession): Promise<void> => {
    if (session !== state.session) return;
    if (!state.ready) {
      state.toolsChanged = true;
      return;
    }
    try {
      const tools = await listTools(session, timeoutMs);
      if (session !== state.session) return;
      state.tools = tools;
      logger.info({ server: name, tools: tools.length }, `${label} changed its tools`);
      notify();
    } catch (error) {
      logger.warn({ server: name, error: messageOf(error) }, `${label}: listing its changed tools failed`);
      scheduleHealthCheck(session, 0);
    }
  };

  /** Why no call can go to the server now: `MCP server "x" is restarting (last error: …); try again in N s.` */
  const unavailable = (): string => `${label} ${whyUnavailable()}`;

  const whyUnavailable = (): string => {
    if (state.invalid) return `cannot start: ${lastError()}.`;
    if (state.health === 'stopped') return state.started ? 'is stopped.' : 'is not started.';
    if (state.health === 'starting') return 'is still starting; try again in a moment.';
    if (state.health === 'ready') return 'has reconnected since; try again.';
    const seconds = state.nextAttemptAt === null ? 1 : Math.max(1, Math.ceil((state.nextAttemptAt - now()) / 1000));
    return `is restarting (last error: ${lastError(STDERR_IN_RESULT_CHARS)}); try again in ${seconds} s.`;
  };

  const callFailure = (session: McpSession, tool: string, error: unknown, signal: AbortSignal): string => {
    if (signal.aborted) return `The call to "${tool}" on ${label} was cancelled.`;
    if (state.stopped) return `${label} was stopped during "${tool}".`;
    if (session !== state.session) return `${label} failed during "${tool}"; it ${whyUnavailable()}`;
    if (isTimeout(error)) {
      scheduleHealthCheck(session, 0);
      return `${label} did not answer "${tool}" within ${timeoutMs} ms.`;
    }
    return `${label} could not run "${tool}": ${messageOf(error)}`;
  };

  const call = async (tool: string, args: Record<string, unknown>, signal: AbortSignal): Promise<McpCallResult> => {
    const session = state.session;
    if (session === null || !state.ready) return { content: unavailable(), isError: true };
    if (signal.aborted) return { content: `The call to "${tool}" on ${label} was cancelled.`, isError: true };
    // Its own signal for the SDK, which never removes its abort listener; it also ends when the session does.
    const link = linkSignals([signal, session.closed]);
    try {
      const result = await session.client.callTool({ name: tool, arguments: args }, undefined, { signal: link.signal, timeout: timeoutMs });
      return formatCallResult(result as RawCallResult);
    } catch (error) {
      return { content: callFailure(session, tool, error, signal), isError: true };
    } finally {
      link.dispose();
    }
  };

  return {
    name,
    start() {
      if (state.started || state.stopped) return;
      state.started = true;
      const problem = settingsProblem(settings);
      if (problem !== null) {
        state.invalid = true;
        state.failure = { reason: problem, stderr: () => '' };
        logger.warn({ server: name, error: problem }, `${label} cannot start`);
        return notify();
      }
      enter('starting');
      void connect();
    },
    tools: () => state.tools,
    call,
    health: () => ({
      state: state.health,
      since: state.since,
      lastError: lastError(),
      restarts: state.restarts,
      tools: state.tools.length,
      nextAttemptAt: state.nextAttemptAt,
    }),
    async stop() {
      if (!state.stopped) {
        state.stopped = true;
        timers.clearAll();
        if (state.session !== null) retire(state.session, true);
        state.session = null;
        state.ready = false;
        state.nextAttemptAt = null;
        state.tools = [];
        enter('stopped');
      }
      await Promise.all([...closing]);
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** Why these settings can never work, or null. */
function settingsProblem(settings: McpServerSettings): string | null {
  if ((settings.command === undefined) === (settings.url === undefined)) return 'its settings need exactly one of "command" (stdio) and "url" (streamable HTTP)';
  if (settings.url !== undefined && !/^https?:$/u.test(protocolOf(settings.url))) return `"${settings.url}" is not an http or https URL`;
  return null;
}

function protocolOf(url: string): string {
  try {
    return new URL(url).protocol;
  } catch {
    return '';
  }
}

function describeStartFailure(error: unknown, settings: McpServerSettings): string {
  if (codeOf(error) === 'ENOENT' && settings.command !== undefined) return `the command "${settings.command}" was not found (${messageOf(error)})`;
  if (isTimeout(error)) return `it did not finish starting within ${Math.max(settings.timeoutMs ?? DEFAULT_TIMEOUT_MS, MIN_START_TIMEOUT_MS)} ms`;
  if (codeOf(error) === ErrorCode.ConnectionClosed) return settings.command === undefined ? 'the connection closed before it was ready' : 'the server process exited before it was ready';
  return `it could not start: ${messageOf(error)}`;
}

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

function isTimeout(error: unknown): boolean {
  return codeOf(error) === ErrorCode.RequestTimeout;
}

function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}

/** A signal that aborts when any of `signals` does; dispose() detaches it from them. */
function linkSignals(signals: readonly AbortSignal[]): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  for (const signal of signals) signal.addEventListener('abort', abort, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      for (const signal of signals) signal.removeEventListener('abort', abort);
    },
  };
}

/** Named one-shot timers, one per slot, none keeping the process alive. */
function createTimerSlots<Slot extends string>() {
  const slots = new Map<Slot, NodeJS.Timeout>();
  const clear = (slot: Slot) => {
    clearTimeout(slots.get(slot));
    slots.delete(slot);
  };
  return {
    set(slot: Slot, ms: number, run: () => void) {
      clear(slot);
      const timer = setTimeout(() => {
        slots.delete(slot);
        run();
      }, ms);
      timer.unref();
      slots.set(slot, timer);
    },
    clear,
    clearAll() {
      for (const slot of [...slots.keys()]) clear(slot);
    },
  };
}
