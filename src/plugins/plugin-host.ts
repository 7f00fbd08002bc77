import { basename } from 'node:path';
import type { ResourceLimits } from 'node:worker_threads';
import { ChannelError } from '../contracts/channel.js';
import type { HookHandler, HookName, MessagePayload, ToolCallPayload, ToolResultPayload } from './plugin-api.js';
import { findPluginFolders, type PluginFolder } from './plugin-discovery.js';
import { createHookRegistry, dispatchHook, type HookFailure, MAX_HANDLERS_PER_HOOK, onHook, removeHooksOf } from './plugin-hooks.js';
import { type ManifestReading, type PluginManifest, readPluginManifest } from './plugin-manifest.js';
import {
  type ChannelAccountInfo,
  type ChannelOp,
  isRoutePath,
  MAX_ROUTE_BODY_BYTES,
  messageOf,
  type PluginCallContext,
  type PluginChannelInfo,
  type PluginToolInfo,
  parseRouteDeclaration,
  routeKey,
  truncate,
} from './plugin-protocol.js';
import { quarantineFolder } from './plugin-quarantine.js';
import { type PluginRoute, type PluginRouteAnswer, type PluginRouteInput, requestForPlugin, responseHeaders, textAnswer } from './plugin-routes.js';
import { type ChannelRunHandlers, type PluginThread, type Reply, startPluginThread } from './plugin-thread.js';

export type { PluginRoute, PluginRouteAnswer, PluginRouteInput } from './plugin-routes.js';
export type { ChannelAccountInfo, PluginChannelInfo } from './plugin-protocol.js';
export type { ChannelRunHandlers } from './plugin-thread.js';

/** One plugin as the host sees it (for `hearth plugins`, status and health). */
export interface PluginStatus {
  id: string;
  version: string;
  dir: string;
  state: 'starting' | 'running' | 'restarting' | 'quarantined' | 'stopped';
  /** What went wrong last, in words: why it restarted, was quarantined or not loaded. */
  lastError: string | null;
  restarts: number;
  /**
   * Tools, hooks, routes (`"GET /status"`) and channels (platforms) its last activation
   * registered; `routes` and `channels` only when its manifest declares some.
   */
  registered: { tools: string[]; hooks: string[]; routes?: string[]; channels?: string[] };
  /** The folder it was moved to when quarantined; null if it was not (or could not be) moved. */
  quarantinedTo: string | null;
  /** When it entered its state (ms since the epoch). */
  since: number;
}

/** A tool of a running plugin. */
export interface PluginTool {
  plugin: string;
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface PluginHostLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface PluginHostOptions {
  /** Folders that hold plugin folders (e.g. $HEARTH_HOME/plugins; dot-folders such as `.quarantine` are skipped). */
  roots: string[];
  /** Single plugin folders. */
  pluginDirs?: string[];
  /** Where failing plugins' folders are moved ($HEARTH_HOME/plugins/.quarantine). */
  quarantineDir: string;
  /** Each plugin's `api.config` (JSON). */
  settings?: (id: string) => unknown;
  /** False keeps a plugin from loading (`plugins.entries.<id>.enabled`); it is listed as stopped. */
  enabled?: (id: string) => boolean;
  logger: PluginHostLogger;
  timeouts?: {
    loadMs?: number;
    callMs?: number;
    hookMs?: number;
    pingMs?: number;
    /** How long a ping may go unanswered. */
    pongMs?: number;
  };
  /** Restarts after crashes before a plugin is quarantined. */
  maxRestarts?: number;
  /** The first restart's delay; each further one doubles it. */
  restartBackoffMs?: number;
  /** Hook calls in a row that may fail (the plugin's handler threw) before the plugin is quarantined. */
  maxHookErrors?: number;
  /** Requests waiting on one plugin at once; more are answered "busy". */
  maxPending?: number;
  /** Plugins loaded at most (64 at most); further folders are reported and left alone. */
  maxPlugins?: number;
  resourceLimits?: ResourceLimits;
  /** The worker entry (compiled plugin-worker.js); for bundles that move it. */
  workerUrl?: URL;
  now?: () => number;
}

/**
 * Runs plugins, each in its own worker thread, and is the host's only way to reach them. No
 * method throws for a plugin's failure: calls answer `isError`, hooks carry on without it, and
 * the failure shows in status() and the log.
 */
export interface PluginHost {
  /** Loads every plugin found; resolves when each is running or has failed (and been moved away). */
  start(): Promise<void>;
  status(): PluginStatus[];
  /** The tools of the running plugins. */
  tools(): PluginTool[];
  /**
   * Runs a running plugin's tool, bounded by `callMs`. Never throws: a plugin that is not running,
   * busy, crashes during the call or is cancelled answers `isError` with the reason; one that does
   * not answer in time is quarantined ("stopped answering").
   */
  callTool(plugin: string, name: string, args: unknown, context: PluginCallContext, signal: AbortSignal): Promise<{ content: string; isError: boolean }>;
  /** The HTTP routes of the running plugins, in load order. */
  routes(): PluginRoute[];
  /**
   * Answers an HTTP request to a plugin's route (`path` as declared, e.g. `/status`), bounded by
   * `callMs`. Never throws; failures are answers in plain text: 404 no running plugin has the
   * route (405 with `allow` when it has the path under another method), 413 a body over 1 MB,
   * 503 the plugin is starting, restarting or quarantined (or busy, or the request was
   * cancelled), 504 it did not answer in time (it is quarantined: "stopped answering"), 500 the
   * handler threw (the body names the plugin; the error goes to the log), 502 its answer did not
   * fit (e.g. a body over 1 MB). Hop-by-hop headers, `content-length` and `set-cookie` are dropped.
   */
  handleRoute(plugin: string, method: string, path: string, request: PluginRouteInput, signal: AbortSignal): Promise<PluginRouteAnswer>;
  // The hooks run in every running plugin that registered them, in load order, each bounded by
  // `hookMs`. A plugin that fails or times out is logged and counted towards quarantine (a timeout
  // quarantines it at once), but never blocks the others. None of them throws.
  /** The first refusal, or null; plugins after a refusing one are not asked. */
  beforeToolCall(payload: ToolCallPayload): Promise<{ refuse: string; plugin: string } | null>;
  /** Observe only; the plugins are asked in load order and awaited together. */
  afterToolCall(payload: ToolResultPayload): Promise<void>;
  /** Observe only; the plugins are asked in load order and awaited together. */
  messageReceived(payload: MessagePayload): Promise<void>;
  /** The text as the last plugin left it (each plugin sees the previous one's rewrite). */
  messageSending(payload: MessagePayload): Promise<string>;
  /**
   * A plugin's channel as its last activation registered it, or why it cannot be used (`final`:
   * not until the operator acts). Waits up to `waitMs` for a plugin that is starting or restarting.
   */
  channel(plugin: string, platform: string, waitMs: number): Promise<PluginChannelInfo | { error: string; final: boolean }>;
  /**
   * Runs a plugin channel's account until the plugin's run ends (resolves) or `signal` aborts
   * (resolves). Throws a ChannelError: what the plugin threw, `transient` when the plugin is
   * restarting or its worker died, `auth` when it is quarantined, stopped or lacks the channel.
   */
  runChannel(plugin: string, platform: string, account: ChannelAccountInfo, handlers: ChannelRunHandlers, signal: AbortSignal): Promise<void>;
  /** `send` (→ `{ messageId }`), `typing` or `probe` (→ a probe result), bounded by `callMs`; throws a ChannelError as runChannel does. */
  callChannel(plugin: string, platform: string, op: Exclude<ChannelOp, 'run'>, account: ChannelAccountInfo, args: unknown, signal: AbortSignal): Promise<unknown>;
  /** Called after any plugin changes state; returns the unsubscribe. */
  onChange(listener: () => void): () => void;
  /** Terminates every worker; idempotent. */
  stop(): Promise<void>;
}

interface PluginRecord extends PluginStatus {
  manifest: PluginManifest | null;
  entryPath: string;
  thread: PluginThread | null;
  tools: PluginToolInfo[];
  hooks: Set<HookName>;
  /** Registered routes by key, `"GET /status"`. */
  routes: Map<string, PluginRoute>;
  /** Registered channels by platform. */
  channels: Map<string, PluginChannelInfo>;
  hookErrors: number;
  timer: NodeJS.Timeout | null;
}

const DEFAULT_RESOURCE_LIMITS: ResourceLimits = Object.freeze({ maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 });

/**
 * The plugin host (see PluginHost). Nothing runs until start(). Each plugin gets a worker thread
 * with its own module graph, an empty environment and `resourceLimits`; a plugin that fails to
 * load, keeps crashing, stops answering or breaks the protocol is quarantined: its worker is
 * terminated and its folder moved to `quarantineDir` with a reason.txt.
 */
export function createPluginHost(options: PluginHostOptions): PluginHost {
  const now = options.now ?? Date.now;
  const { logger } = options;
  const timeouts = { loadMs: 5000, callMs: 30_000, hookMs: 2000, pingMs: 10_000, pongMs: 2000, ...options.timeouts };
  const limits = {
    maxRestarts: options.maxRestarts ?? 2,
    backoffMs: options.restartBackoffMs ?? 200,
    maxHookErrors: options.maxHookErrors ?? 5,
    maxPending: options.maxPending ?? 256,
    // A hook registry takes at most MAX_HANDLERS_PER_HOOK handlers: one per plugin.
    maxPlugins: Math.min(options.maxPlugins ?? 64, MAX_HANDLERS_PER_HOOK),
  };
  const workerUrl = options.workerUrl ?? new URL('./plugin-worker.js', import.meta.url);
  /** The plugins by id, in load order. */
  const records = new Map<string, PluginRecord>();
  /** Folders that were found but not loaded (a duplicate id, no manifest, too many plugins). */
  const skipped: PluginRecord[] = [];
  const hooks = createHookRegistry();
  const listeners = new Set<() => void>();
  const background = new Set<Promise<void>>();
  const life = { started: null as Promise<void> | null, stopping: null as Promise<void> | null, halted: false };

  const notify = () => {
    for (const listener of [...listeners]) {
      try {
        listener();
      } catch (error) {
        logger.warn({ error: messageOf(error) }, 'a plugin status listener threw');
      }
    }
  };

  const enter = (record: PluginRecord, state: PluginStatus['state'], lastError?: string | null) => {
    if (record.state !== state) record.since = now();
    record.state = state;
    if (lastError !== undefined) record.lastError = lastError;
    notify();
  };

  const track = (task: Promise<void>) => {
    background.add(task);
    void task.finally(() => background.delete(task));
  };

  const clearTimer = (record: PluginRecord) => {
    clearTimeout(record.timer ?? undefined);
    record.timer = null;
  };

  const setTimer = (record: PluginRecord, ms: number, run: () => void) => {
    clearTimer(record);
    record.timer = setTimeout(() => {
      record.timer = null;
      run();
    }, ms);
    record.timer.unref();
  };

  /** Terminates the plugin, removes its hooks and moves its folder away. `from`: only if this thread is still the plugin's. */
  const quarantine = (record: PluginRecord, reason: string, from?: PluginThread): void => {
    if (record.state === 'quarantined' || life.halted) return;
    if (from !== undefined && record.thread !== from) return;
    const thread = record.thread;
    record.thread = null;
    clearTimer(record);
    removeHooksOf(hooks, record.id);
    logger.error({ plugin: record.id, reason }, `plugin "${record.id}" quarantined: ${reason}`);
    enter(record, 'quarantined', reason);
    track(
      (async () => {
        await thread?.terminate();
        const moved = await quarantineFolder({ id: record.id, version: record.version, dir: record.dir, quarantineDir: options.quarantineDir, reason, at: new Date(now()) });
        if ('to' in moved) record.quarantinedTo = moved.to;
        else record.lastError = `${reason}; ${moved.error}`;
        if ('error' in moved) logger.error({ plugin: record.id, error: moved.error }, `plugin "${record.id}": ${moved.error}`);
        notify();
      })(),
    );
  };

  const crashed = (record: PluginRecord, thread: PluginThread, reason: string) => {
    if (record.thread !== thread || life.halted) return;
    record.thread = null;
    clearTimer(record);
    if (record.restarts >= limits.maxRestarts) return quarantine(record, `crashed ${record.restarts + 1} times; the last time ${reason}`);
    const delay = limits.backoffMs * 2 ** record.restarts;
    record.restarts += 1;
    logger.warn({ plugin: record.id, reason, restartInMs: delay }, `plugin "${record.id}" crashed; restarting`);
    enter(record, 'restarting', `crashed: ${reason}`);
    setTimer(record, delay, () => void launch(record));
  };

  const schedulePing = (record: PluginRecord, thread: PluginThread) => {
    setTimer(record, timeouts.pingMs, async () => {
      if (record.thread !== thread) return;
      const reply = await thread.ping(timeouts.pongMs);
      if (reply.kind === 'timeout') return quarantine(record, `stopped answering: no answer to a ping within ${timeouts.pongMs} ms`, thread);
      if (record.thread === thread) schedulePing(record, thread);
    });
  };

  /** The plugin's settings as JSON; a host-side problem stops the plugin without blaming (quarantining) it. */
  const settingsOf = (id: string): { value: unknown } | { error: string } => {
    try {
      return { value: JSON.parse(JSON.stringify(options.settings?.(id) ?? {})) };
    } catch (error) {
      return { error: `its settings could not be read: ${messageOf(error)}` };
    }
  };

  const launch = async (record: PluginRecord): Promise<void> => {
    if (life.halted || record.manifest === null) return;
    const { manifest } = record;
    const config = settingsOf(record.id);
    if ('error' in config) return enter(record, 'stopped', config.error);
    const thread: PluginThread = startPluginThread({
      data: {
        pluginId: record.id,
        entryPath: record.entryPath,
        config: config.value,
        declared: { tools: manifest.registers.tools, hooks: manifest.registers.hooks, routes: manifest.registers.routes ?? [], channels: manifest.registers.channels ?? [] },
      },
      workerUrl,
      loadMs: timeouts.loadMs,
      maxPending: limits.maxPending,
      resourceLimits: options.resourceLimits ?? DEFAULT_RESOURCE_LIMITS,
      onLog: (message, stream) => logger.info({ plugin: record.id, stream }, message),
      onExit: (reason) => crashed(record, thread, reason),
      onProtocolError: (problem) => quarantine(record, `broke the protocol: it sent ${problem}`, thread),
    });
    record.thread = thread;
    const activation = await thread.activation;
    if (record.thread !== thread) return;
    if (!activation.ok) return quarantine(record, `failed to load: ${activation.error}`, thread);
    const undeclared = activation.tools.map((tool) => tool.name).filter((name) => !manifest.registers.tools.includes(name));
    if (undeclared.length > 0) return quarantine(record, `broke the protocol: it offered undeclared tools ${undeclared.join(', ')}`, thread);
    const declaredRoutes = manifest.registers.routes ?? [];
    const undeclaredRoutes = activation.routes.filter((route) => !declaredRoutes.includes(route));
    if (undeclaredRoutes.length > 0) return quarantine(record, `broke the protocol: it offered undeclared routes ${undeclaredRoutes.join(', ')}`, thread);
    const declaredChannels = manifest.registers.channels ?? [];
    const undeclaredChannels = activation.channels.map((channel) => channel.platform).filter((platform) => !declaredChannels.includes(platform));
    if (undeclaredChannels.length > 0) return quarantine(record, `broke the protocol: it offered undeclared channels ${undeclaredChannels.join(', ')}`, thread);
    record.channels = new Map(activation.channels.map((channel) => [channel.platform, channel]));
    record.tools = activation.tools;
    record.hooks = new Set(activation.hooks.filter((hook) => manifest.registers.hooks.includes(hook)));
    const routes = activation.routes.flatMap((key) => {
      const route = parseRouteDeclaration(key);
      return route === null ? [] : [[key, { plugin: record.id, ...route }] as const];
    });
    record.routes = new Map(routes);
    record.registered = { ...record.registered, tools: record.tools.map((tool) => tool.name), hooks: [...record.hooks] };
    if (manifest.registers.routes !== undefined) record.registered.routes = [...record.routes.keys()];
    if (manifest.registers.channels !== undefined) record.registered.channels = [...record.channels.keys()];
    record.hookErrors = 0;
    logger.info({ plugin: record.id, tools: record.registered.tools, hooks: record.registered.hooks, routes: [...record.routes.keys()], restarts: record.restarts }, `plugin "${record.id}" running`);
    enter(record, 'running');
    schedulePing(record, thread);
  };

  /** Counts a failed hook call; quarantines the plugin once too many failed in a row. */
  const hookFailed = (record: PluginRecord, hook: HookName, error: string) => {
    record.hookErrors += 1;
    logger.warn({ plugin: record.id, hook, error, inARow: record.hookErrors }, `plugin "${record.id}": hook ${hook} failed`);
    if (record.hookErrors >= limits.maxHookErrors) quarantine(record, `its hooks failed ${record.hookErrors} times in a row; the last: ${hook}: ${error}`);
  };

  /** Runs `hook` in the plugin's worker; what its handlers return, or a throw that dispatchHook reports. */
  const forwardHook = async (record: PluginRecord, hook: HookName, payload: object): Promise<unknown> => {
    const thread = record.thread;
    if (record.state !== 'running' || thread === null || !record.hooks.has(hook)) return undefined;
    const reply = await thread.hook(hook, payload, timeouts.hookMs);
    if (reply.kind === 'timeout') {
      quarantine(record, `stopped answering: hook ${hook} did not answer within ${timeouts.hookMs} ms`, thread);
      throw new Error(`it did not answer within ${timeouts.hookMs} ms and was disabled`);
    }
    if (reply.kind !== 'reply') throw new Error(replyProblem(reply, limits.maxPending));
    if (reply.message.errors.length > 0) hookFailed(record, hook, reply.message.errors.join('; '));
    else record.hookErrors = 0;
    if (reply.message.refuse !== null) return { refuse: reply.message.refuse };
    if (reply.message.text !== null) return { text: reply.message.text };
    return undefined;
  };

  const reportHookFailure = ({ hook, owner, error }: HookFailure) => {
    const record = records.get(owner);
    if (record !== undefined && record.state === 'running') hookFailed(record, hook, messageOf(error));
    else logger.warn({ plugin: owner, hook, error: messageOf(error) }, `plugin "${owner}": hook ${hook} failed`);
  };

  const admit = (folder: PluginFolder, reading: ManifestReading): PluginRecord | null => {
    const fallbackId = folder.expectedId ?? basename(folder.dir);
    const record = newRecord(reading.ok ? reading.manifest.id : fallbackId, folder.dir, reading, now());
    const refuse = (problem: string) => {
      logger.warn({ plugin: record.id, dir: folder.dir, problem }, `plugin folder ${folder.dir} not loaded: ${problem}`);
      if (skipped.length < limits.maxPlugins) skipped.push({ ...record, state: 'stopped', lastError: problem });
      return null;
    };
    if (!reading.ok && reading.missing) {
      if (folder.expectedId !== null) return null; // not a plugin folder (e.g. shared code of several plugins)
      return refuse(reading.error);
    }
    const first = records.get(record.id);
    if (first !== undefined) return refuse(`another plugin with the id "${record.id}" was loaded first, from ${first.dir}`);
    if (records.size >= limits.maxPlugins) return refuse(`more than ${limits.maxPlugins} plugins; this one was not loaded`);
    records.set(record.id, record);
    return record;
  };

  const load = async (): Promise<void> => {
    const launches: Promise<void>[] = [];
    for (const folder of await findPluginFolders(options.roots, options.pluginDirs ?? [])) {
      if (life.halted) break;
      const reading = await readPluginManifest(folder.dir, folder.expectedId === null ? {} : { expectedId: folder.expectedId });
      const record = admit(folder, reading);
      if (record === null) continue;
      if (!reading.ok) {
        quarantine(record, reading.error);
        continue;
      }
      if (options.enabled?.(record.id) === false) {
        enter(record, 'stopped', `disabled in the config (plugins.entries.${record.id}.enabled is false)`);
        continue;
      }
      for (const hook of reading.manifest.registers.hooks) onHook(hooks, hook, ((payload: object) => forwardHook(record, hook, payload)) as HookHandler<typeof hook>, record.id);
      launches.push(launch(record));
    }
    await Promise.all(launches);
    await Promise.all([...background]);
  };

  const shutdown = async (): Promise<void> => {
    const terminations: Promise<void>[] = [];
    for (const record of records.values()) {
      clearTimer(record);
      if (record.thread !== null) terminations.push(record.thread.terminate());
      record.thread = null;
      removeHooksOf(hooks, record.id);
      if (record.state !== 'quarantined') enter(record, 'stopped');
    }
    await Promise.all(terminations);
    await life.started;
    await Promise.all([...background]);
  };

  const callTool: PluginHost['callTool'] = async (plugin, name, args, context, signal) => {
    const record = records.get(plugin);
    if (record === undefined) return failure(`No plugin "${plugin}" is loaded.`);
    const thread = record.thread;
    if (record.state !== 'running' || thread === null) return failure(unavailable(record));
    if (!record.tools.some((tool) => tool.name === name)) return failure(`Plugin "${plugin}" has no tool "${name}".`);
    const reply = await thread.call(name, args, context, timeouts.callMs, signal);
    if (reply.kind === 'reply') return { content: reply.message.content, isError: reply.message.isError };
    if (reply.kind === 'timeout') {
      const reason = `stopped answering: tool "${name}" did not answer within ${timeouts.callMs} ms`;
      quarantine(record, reason, thread);
      return failure(`Plugin "${plugin}" ${reason}; it was disabled.`);
    }
    if (reply.kind === 'aborted') return failure(`The call to "${name}" of plugin "${plugin}" was cancelled.`);
    return failure(`Plugin "${plugin}" could not run "${name}": ${replyProblem(reply, limits.maxPending)}.`);
  };

  const handleRoute: PluginHost['handleRoute'] = async (plugin, method, path, request, signal) => {
    const record = records.get(plugin);
    const key = routeKey(method.toUpperCase(), path);
    const route = parseRouteDeclaration(key);
    // A running plugin's routes are what it registered; a starting, restarting or quarantined
    // one's, what its manifest declares (answered 503); a stopped (e.g. disabled) one has none.
    const known = record === undefined || record.state === 'stopped' ? [] : record.state === 'running' ? [...record.routes.keys()] : (record.manifest?.registers.routes ?? []);
    if (record === undefined || route === null || !known.includes(key)) {
      const allowed = isRoutePath(path) ? known.filter((entry) => entry.endsWith(` ${path}`)).map((entry) => entry.split(' ')[0]) : [];
      if (allowed.length > 0) return textAnswer(405, `Plugin "${plugin}" answers ${path} only to ${allowed.join(', ')}.`, { allow: allowed.join(', ') });
      return textAnswer(404, `No running plugin answers ${truncate(method, 10)} ${truncate(path, 200)} at /plugins/${truncate(plugin, 30)}.`);
    }
    const thread = record.thread;
    if (record.state !== 'running' || thread === null) return textAnswer(503, routeUnavailable(record), { 'retry-after': '1' });
    if (Buffer.byteLength(request.body) > MAX_ROUTE_BODY_BYTES) return textAnswer(413, `The request body is larger than ${MAX_ROUTE_BODY_BYTES} bytes.`);
    const reply = await thread.route({ method: route.method, path: route.path, ...requestForPlugin(request), body: request.body }, timeouts.callMs, signal);
    if (reply.kind === 'timeout') {
      const reason = `stopped answering: route "${key}" did not answer within ${timeouts.callMs} ms`;
      quarantine(record, reason, thread);
      return textAnswer(504, `Plugin "${plugin}" ${reason}; it was disabled.`);
    }
    if (reply.kind === 'aborted') return textAnswer(503, `The request to ${key} of plugin "${plugin}" was cancelled.`);
    if (reply.kind !== 'reply') return textAnswer(503, `Plugin "${plugin}" could not answer ${key}: ${replyProblem(reply, limits.maxPending)}.`, { 'retry-after': '1' });
    const { message } = reply;
    if (message.error !== null) {
      logger.warn({ plugin, route: key, error: message.error }, `plugin "${plugin}": ${message.error}`);
      if (message.status === 502) return textAnswer(502, `Plugin "${plugin}" gave an invalid answer to ${key}: its ${message.error}.`);
      return textAnswer(500, `Plugin "${plugin}" failed to answer ${key}; the gateway's log has its error.`);
    }
    const bytes = Buffer.byteLength(message.body);
    if (bytes > MAX_ROUTE_BODY_BYTES) return textAnswer(502, `Plugin "${plugin}" gave an invalid answer to ${key}: a body of ${bytes} bytes, more than the ${MAX_ROUTE_BODY_BYTES} allowed.`);
    return { status: message.status, headers: responseHeaders(message.headers), body: message.body };
  };

  /** Resolves once the plugin is running, quarantined or stopped, or after `waitMs`. */
  const settled = (record: PluginRecord, waitMs: number): Promise<void> =>
    new Promise((resolve) => {
      const done = () => {
        if (record.state === 'starting' || record.state === 'restarting') return;
        finish();
      };
      const finish = () => {
        clearTimeout(timer);
        listeners.delete(done);
        resolve();
      };
      const timer = setTimeout(finish, waitMs);
      timer.unref();
      listeners.add(done);
      done();
    });

  /** The running plugin's thread and channel, or the ChannelError that says why not. */
  const channelTarget = (plugin: string, platform: string): { record: PluginRecord; thread: PluginThread; info: PluginChannelInfo } | ChannelError => {
    const record = records.get(plugin);
    if (record === undefined) return new ChannelError('auth', `No plugin "${plugin}" is installed (hearth plugins list shows the installed ones).`);
    const thread = record.thread;
    if (record.state !== 'running' || thread === null) return new ChannelError(record.state === 'quarantined' || record.state === 'stopped' ? 'auth' : 'transient', unavailable(record));
    const info = record.channels.get(platform);
    if (info === undefined) return new ChannelError('auth', `Plugin "${plugin}" does not provide the channel "${platform}" (it provides: ${[...record.channels.keys()].join(', ') || 'none'}).`);
    return { record, thread, info };
  };

  /** A channel request's failure as a ChannelError (a reply that carries the plugin's own error included). */
  const channelFailure = (plugin: string, platform: string, reply: Exclude<Reply<unknown>, { kind: 'reply' }>): ChannelError =>
    new ChannelError('transient', `Plugin "${plugin}" could not serve the channel "${platform}": ${replyProblem(reply, limits.maxPending)}.`);

  const channel: PluginHost['channel'] = async (plugin, platform, waitMs) => {
    const record = records.get(plugin);
    if (record !== undefined) await settled(record, waitMs);
    const target = channelTarget(plugin, platform);
    return target instanceof ChannelError ? { error: target.message, final: target.kind === 'auth' } : { ...target.info };
  };

  const runChannel: PluginHost['runChannel'] = async (plugin, platform, account, handlers, signal) => {
    const target = channelTarget(plugin, platform);
    if (target instanceof ChannelError) throw target;
    const reply = await target.thread.channelRun(platform, account, handlers, signal);
    if (reply.kind === 'aborted') return;
    if (reply.kind !== 'reply') throw channelFailure(plugin, platform, reply);
    const { error } = reply.message;
    if (error !== null) throw new ChannelError(error.kind, error.message, error.retryAfterMs === null ? {} : { retryAfterMs: error.retryAfterMs });
  };

  const callChannel: PluginHost['callChannel'] = async (plugin, platform, op, account, args, signal) => {
    const target = channelTarget(plugin, platform);
    if (target instanceof ChannelError) throw target;
    const reply = await target.thread.channel(op, platform, account, args, timeouts.callMs, signal);
    if (reply.kind === 'timeout') throw new ChannelError('transient', `Plugin "${plugin}" did not answer ${op} for the channel "${platform}" within ${timeouts.callMs} ms.`);
    if (reply.kind !== 'reply') throw channelFailure(plugin, platform, reply);
    const { error, value } = reply.message;
    if (error !== null) throw new ChannelError(error.kind, error.message, error.retryAfterMs === null ? {} : { retryAfterMs: error.retryAfterMs });
    const problem = channelValueProblem(op, value);
    if (problem !== null) {
      quarantine(target.record, `broke the protocol: its channel "${platform}" answered ${op} with ${problem}`, target.thread);
      throw new ChannelError('transient', `Plugin "${plugin}" gave an invalid answer to ${op} and was disabled.`);
    }
    return value;
  };

  return {
    start: () => {
      life.started ??= load().catch((error: unknown) => logger.error({ error: messageOf(error) }, 'loading the plugins failed'));
      return life.started;
    },
    status: () => [...records.values(), ...skipped].map(statusOf),
    tools: () =>
      [...records.values()]
        .filter((record) => record.state === 'running')
        .flatMap((record) => record.tools.map((tool) => ({ plugin: record.id, name: tool.name, description: tool.description, parameters: tool.parameters }))),
    callTool,
    routes: () =>
      [...records.values()]
        .filter((record) => record.state === 'running')
        .flatMap((record) => [...record.routes.values()].map((route) => ({ ...route }))),
    handleRoute,
    channel,
    runChannel,
    callChannel,
    beforeToolCall: async (payload) => {
      const refusal = await dispatchHook(hooks, 'before_tool_call', payload, reportHookFailure);
      return refusal === null ? null : { refuse: refusal.refuse, plugin: refusal.owner };
    },
    afterToolCall: (payload) => dispatchHook(hooks, 'after_tool_call', payload, reportHookFailure),
    messageReceived: (payload) => dispatchHook(hooks, 'message_received', payload, reportHookFailure),
    messageSending: (payload) => dispatchHook(hooks, 'message_sending', payload, reportHookFailure),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop: () => {
      if (life.stopping === null) {
        life.halted = true;
        life.stopping = shutdown();
      }
      return life.stopping;
    },
  };
}

function newRecord(id: string, dir: string, reading: ManifestReading, since: number): PluginRecord {
  const manifest = reading.ok ? reading.manifest : null;
  const registered: PluginStatus['registered'] = { tools: [], hooks: [] };
  if (manifest?.registers.routes !== undefined) registered.routes = [];
  if (manifest?.registers.channels !== undefined) registered.channels = [];
  return {
    id,
    version: reading.ok ? reading.manifest.version : (reading.version ?? 'unknown'),
    dir,
    state: 'starting',
    lastError: null,
    restarts: 0,
    registered,
    quarantinedTo: null,
    since,
    manifest,
    entryPath: reading.ok ? reading.entryPath : '',
    thread: null,
    tools: [],
    hooks: new Set(),
    routes: new Map(),
    channels: new Map(),
    hookErrors: 0,
    timer: null,
  };
}

function statusOf(record: PluginRecord): PluginStatus {
  const { id, version, dir, state, lastError, restarts, quarantinedTo, since } = record;
  const registered = { ...record.registered, tools: [...record.registered.tools], hooks: [...record.registered.hooks] };
  if (record.registered.routes !== undefined) registered.routes = [...record.registered.routes];
  if (record.registered.channels !== undefined) registered.channels = [...record.registered.channels];
  return { id, version, dir, state, lastError, restarts, registered, quarantinedTo, since };
}

/** Why a call cannot reach the plugin now. */
function unavailable(record: PluginRecord): string {
  const why = record.lastError === null ? '' : ` (${record.lastError})`;
  if (record.state === 'quarantined') return `Plugin "${record.id}" is quarantined${why}; its folder was moved to ${record.quarantinedTo ?? 'nowhere (see its status)'}.`;
  if (record.state === 'restarting') return `Plugin "${record.id}" is restarting after a crash${why}; try again in a moment.`;
  if (record.state === 'starting') return `Plugin "${record.id}" is still starting; try again in a moment.`;
  return `Plugin "${record.id}" is stopped${why}.`;
}

/** Why a route cannot be answered now, for an HTTP client (no file paths). */
function routeUnavailable(record: PluginRecord): string {
  if (record.state === 'quarantined') return `Plugin "${record.id}" is quarantined${record.lastError === null ? '' : `: ${record.lastError}`}. See hearth plugins list --health.`;
  if (record.state === 'restarting') return `Plugin "${record.id}" is restarting after a crash; try again in a moment.`;
  return `Plugin "${record.id}" is still starting; try again in a moment.`;
}

function replyProblem(reply: Exclude<Reply<unknown>, { kind: 'reply' }>, maxPending: number): string {
  if (reply.kind === 'busy') return `it is busy (${maxPending} requests are already waiting); try again later`;
  if (reply.kind === 'gone') return reply.reason;
  if (reply.kind === 'unsendable') return `the request could not be sent to its worker (${reply.reason})`;
  if (reply.kind === 'aborted') return 'the request was cancelled';
  return 'it did not answer in time';
}

/** Null when `value` is what a channel's `op` answers (as the worker shapes it); else what it is. */
function channelValueProblem(op: Exclude<ChannelOp, 'run'>, value: unknown): string | null {
  const fields = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (op === 'typing') return value === null ? null : 'a value (expected none)';
  if (op === 'send') return typeof fields.messageId === 'string' ? null : 'no messageId';
  const ok = (fields.status === 'ok' || fields.status === 'degraded') && typeof fields.detail === 'string' && (fields.suggestedAction === undefined || typeof fields.suggestedAction === 'string');
  return ok ? null : 'no status and detail';
}

function failure(content: string): { content: string; isError: true } {
  return { content, isError: true };
}
