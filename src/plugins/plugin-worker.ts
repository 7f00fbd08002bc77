import { pathToFileURL } from 'node:url';
import { isMainThread, type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { HookHandler, HookName, MessagePayload, PluginApi, PluginChannelDefinition, PluginRouteHandler, PluginToolDefinition, RouteMethod, ToolCallPayload } from './plugin-api.js';
import { createHookRegistry, dispatchHook, type HookRegistry, onHook } from './plugin-hooks.js';
import {
  HEADER_NAME,
  type HostMessage,
  MAX_CONTENT_CHARS,
  MAX_HEADER_VALUE_CHARS,
  MAX_NOTE_CHARS,
  MAX_ROUTE_BODY_BYTES,
  MAX_ROUTE_HEADERS,
  messageOf,
  type PluginWorkerData,
  parseHostMessage,
  parseRouteDeclaration,
  parseWorkerData,
  type RouteResultMessage,
  routeKey,
  truncate,
  type WorkerMessage,
} from './plugin-protocol.js';
import { channelError, checkChannel, createChannelServer, type RegisteredChannel } from './plugin-worker-channels.js';

/**
 * The entry of a plugin's worker thread (started by plugin-thread.ts, never imported by the host):
 * imports the plugin in this thread's own module graph, activates it with its API object, then
 * answers the host's calls, hooks, routes and pings.
 */

interface ActivePlugin {
  tools: Map<string, PluginToolDefinition>;
  hooks: HookRegistry;
  /** By route key, `"GET /status"`. */
  routes: Map<string, PluginRouteHandler>;
  /** By platform. */
  channels: Map<string, RegisteredChannel>;
}

type Send = (message: WorkerMessage) => void;

/** Activates the plugin `data` describes and serves the host over `port` until the thread ends. */
export async function runPluginWorker(port: MessagePort, data: PluginWorkerData): Promise<void> {
  const send: Send = (message) => port.postMessage(message);
  const active = await activatePlugin(data, send);
  if ('error' in active) {
    // The thread stays up until the host ends it, so its exit can never overtake this message.
    port.on('message', () => {});
    return send({ type: 'activation-failed', error: truncate(active.error, MAX_NOTE_CHARS) });
  }
  const running = new Map<number, AbortController>();
  const channels = createChannelServer(active.channels, running, send);
  port.on('message', (raw: unknown) => {
    // The host is trusted; a message that does not fit is a bug there, and is dropped.
    const parsed = parseHostMessage(raw);
    if (!parsed.ok) return;
    const message = parsed.message;
    if (message.type === 'channel') void channels.handle(message);
    else if (message.type === 'channel-ack') channels.acknowledge(message.seq, message.error);
    else void handle(message, active, running, send);
  });
  const tools = [...active.tools.values()].map(({ name, description, parameters }) => ({ name, description, parameters }));
  const hooks = (Object.keys(active.hooks.handlers) as HookName[]).filter((hook) => active.hooks.handlers[hook].length > 0);
  send({ type: 'ready', tools, hooks, routes: [...active.routes.keys()], channels: [...active.channels.values()].map((channel) => channel.info) });
}

async function activatePlugin(data: PluginWorkerData, send: Send): Promise<ActivePlugin | { error: string }> {
  const active: ActivePlugin = { tools: new Map(), hooks: createHookRegistry(), routes: new Map(), channels: new Map() };
  const refused: string[] = [];
  const phase = { activating: true };
  const api = createApi(data, active, send, (problem) => {
    if (!phase.activating) return `${problem}: registering is only possible during activate()`;
    refused.push(problem);
    return problem;
  });
  let entry: { default?: unknown };
  try {
    entry = await import(pathToFileURL(data.entryPath).href);
  } catch (error) {
    return { error: `its entry could not be imported: ${messageOf(error)}` };
  }
  if (typeof entry.default !== 'function') return { error: 'its entry has no default export function activate(api)' };
  try {
    await (entry.default as (api: PluginApi) => unknown)(api);
  } catch (error) {
    if (refused.length === 0) return { error: `activate() failed: ${messageOf(error)}` };
  } finally {
    phase.activating = false;
  }
  return refused.length > 0 ? { error: refused.join('; ') } : active;
}

/** The plugin's API object. `refuse` records a refused registration and returns the message to throw. */
function createApi(data: PluginWorkerData, active: ActivePlugin, send: Send, refuse: (problem: string) => string): PluginApi {
  const declaredTools = new Set(data.declared.tools);
  const declaredHooks = new Set<string>(data.declared.hooks);
  const declaredRoutes = new Set(data.declared.routes);
  const declaredChannels = new Set(data.declared.channels);
  return Object.freeze({
    id: data.pluginId,
    config: data.config,
    registerTool(tool: PluginToolDefinition) {
      const checked = checkTool(tool, declaredTools, active.tools);
      if (typeof checked === 'string') throw new Error(refuse(checked));
      active.tools.set(checked.name, checked);
    },
    registerRoute(method: RouteMethod, path: string, handler: PluginRouteHandler) {
      const key = routeKey(typeof method === 'string' ? method.toUpperCase() : String(method), String(path));
      if (parseRouteDeclaration(key) === null || !declaredRoutes.has(key)) throw new Error(refuse(`route "${truncate(key, 200)}" is not declared in hearth.plugin.json registers.routes`));
      if (active.routes.has(key)) throw new Error(refuse(`route "${key}" is registered twice`));
      if (typeof handler !== 'function') throw new Error(refuse(`the handler for route "${key}" is not a function`));
      active.routes.set(key, handler);
    },
    on<H extends HookName>(hook: H, handler: HookHandler<H>) {
      if (!declaredHooks.has(hook)) throw new Error(refuse(`hook "${String(hook)}" is not declared in hearth.plugin.json registers.hooks`));
      if (typeof handler !== 'function') throw new Error(refuse(`the handler for hook "${hook}" is not a function`));
      onHook(active.hooks, hook, handler, data.pluginId);
    },
    registerChannel(channel: PluginChannelDefinition) {
      const checked = checkChannel(channel, declaredChannels, active.channels);
      if (typeof checked === 'string') throw new Error(refuse(checked));
      active.channels.set(checked.info.platform, checked);
    },
    channelError,
    log(message: string) {
      send({ type: 'log', message: truncate(String(message), MAX_NOTE_CHARS) });
    },
  });
}

/** The tool as kept (parameters copied as JSON), or why it is refused. */
function checkTool(tool: PluginToolDefinition, declared: Set<string>, registered: Map<string, PluginToolDefinition>): PluginToolDefinition | string {
  const name = typeof tool?.name === 'string' ? tool.name : '(no name)';
  if (!declared.has(name)) return `tool "${name}" is not declared in hearth.plugin.json registers.tools`;
  if (registered.has(name)) return `tool "${name}" is registered twice`;
  if (typeof tool.execute !== 'function') return `tool "${name}" has no execute function`;
  if (typeof tool.description !== 'string') return `tool "${name}" has no description`;
  if (typeof tool.parameters !== 'object' || tool.parameters === null || Array.isArray(tool.parameters)) return `tool "${name}": parameters must be a JSON Schema object`;
  try {
    const parameters = JSON.parse(JSON.stringify(tool.parameters)) as Record<string, unknown>;
    return { name, description: truncate(tool.description, MAX_NOTE_CHARS), parameters, execute: tool.execute.bind(tool) };
  } catch (error) {
    return `tool "${name}": parameters are not JSON (${messageOf(error)})`;
  }
}

async function handle(message: Exclude<HostMessage, { type: 'channel' | 'channel-ack' }>, active: ActivePlugin, running: Map<number, AbortController>, send: Send): Promise<void> {
  if (message.type === 'ping') return send({ type: 'pong', id: message.id });
  if (message.type === 'cancel') return running.get(message.id)?.abort();
  if (message.type === 'hook') return send(await runHook(message, active.hooks));
  if (message.type === 'route') return send(await runRoute(message, active.routes, running));
  const tool = active.tools.get(message.tool);
  if (tool === undefined) return send({ type: 'result', id: message.id, content: `this plugin has no tool "${message.tool}"`, isError: true });
  const controller = new AbortController();
  running.set(message.id, controller);
  try {
    const value = await tool.execute(message.args, { ...message.context, signal: controller.signal });
    send({ type: 'result', id: message.id, ...toolResult(tool.name, value) });
  } catch (error) {
    send({ type: 'result', id: message.id, content: truncate(`tool "${tool.name}" failed: ${messageOf(error)}`, MAX_CONTENT_CHARS), isError: true });
  } finally {
    running.delete(message.id);
  }
}

function toolResult(name: string, value: unknown): { content: string; isError: boolean } {
  if (typeof value === 'string') return { content: truncate(value, MAX_CONTENT_CHARS), isError: false };
  const result = value as { content?: unknown; isError?: unknown } | null;
  if (typeof result?.content === 'string') return { content: truncate(result.content, MAX_CONTENT_CHARS), isError: result.isError === true };
  return { content: `tool "${name}" returned neither a string nor { content: string }`, isError: true };
}

/** Runs a route's handler; its answer checked (a throw is a 500, an answer that does not fit a 502). */
async function runRoute(message: Extract<HostMessage, { type: 'route' }>, routes: Map<string, PluginRouteHandler>, running: Map<number, AbortController>): Promise<RouteResultMessage> {
  const { id, method, path, query, headers, body } = message;
  const key = routeKey(method, path);
  const handler = routes.get(key);
  if (handler === undefined) return { type: 'route-result', id, status: 404, headers: {}, body: `this plugin has no route "${key}"`, error: null };
  const controller = new AbortController();
  running.set(id, controller);
  try {
    const value = await handler({ method, path, query, headers, body }, { signal: controller.signal });
    const response = routeResponse(value);
    if (typeof response === 'string') return { type: 'route-result', id, status: 502, headers: {}, body: '', error: `route "${key}" ${response}` };
    return { type: 'route-result', id, ...response, error: null };
  } catch (error) {
    return { type: 'route-result', id, status: 500, headers: {}, body: '', error: truncate(`route "${key}" failed: ${messageOf(error)}`, MAX_NOTE_CHARS) };
  } finally {
    running.delete(id);
  }
}

/** A handler's return value as status, headers (lower-case names) and body, or what is wrong with it. */
function routeResponse(value: unknown): { status: number; headers: Record<string, string>; body: string } | string {
  if (typeof value === 'string') return checkBody({ status: 200, headers: {}, body: value });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'returned neither a string nor { status, headers, body }';
  const answer = value as { status?: unknown; headers?: unknown; body?: unknown };
  const status = answer.status ?? 200;
  if (!Number.isInteger(status) || (status as number) < 100 || (status as number) > 599) return `returned the status ${truncate(String(status), 40)} (it must be an integer from 100 to 599)`;
  if (answer.body !== undefined && typeof answer.body !== 'string') return 'returned a body that is not a string';
  const headers: Record<string, string> = {};
  if (answer.headers !== undefined) {
    if (typeof answer.headers !== 'object' || answer.headers === null || Array.isArray(answer.headers)) return 'returned headers that are not an object of strings';
    const entries = Object.entries(answer.headers);
    if (entries.length > MAX_ROUTE_HEADERS) return `returned more than ${MAX_ROUTE_HEADERS} headers`;
    for (const [name, entry] of entries) {
      if (!HEADER_NAME.test(name)) return `returned a header with an invalid name "${truncate(name, 40)}"`;
      if (typeof entry !== 'string' || entry.length > MAX_HEADER_VALUE_CHARS || /[\r\n\0]/.test(entry)) return `returned an invalid value for the header "${name}"`;
      headers[name.toLowerCase()] = entry;
    }
  }
  return checkBody({ status: status as number, headers, body: answer.body ?? '' });
}

function checkBody<R extends { body: string }>(response: R): R | string {
  const bytes = Buffer.byteLength(response.body);
  return bytes > MAX_ROUTE_BODY_BYTES ? `returned a body of ${bytes} bytes, more than the ${MAX_ROUTE_BODY_BYTES} allowed` : response;
}

async function runHook(message: Extract<HostMessage, { type: 'hook' }>, hooks: HookRegistry): Promise<WorkerMessage> {
  const errors: string[] = [];
  const onFailure = ({ error }: { error: unknown }) => {
    if (errors.length < 16) errors.push(truncate(messageOf(error), MAX_NOTE_CHARS));
  };
  const answer = { type: 'hook-result' as const, id: message.id, refuse: null as string | null, text: null as string | null, errors };
  if (message.hook === 'before_tool_call') {
    const refusal = await dispatchHook(hooks, 'before_tool_call', message.payload as unknown as ToolCallPayload, onFailure);
    answer.refuse = refusal === null ? null : truncate(refusal.refuse, MAX_NOTE_CHARS);
  } else if (message.hook === 'message_sending') {
    answer.text = truncate(await dispatchHook(hooks, 'message_sending', message.payload as unknown as MessagePayload, onFailure), MAX_CONTENT_CHARS);
  } else {
    await dispatchHook(hooks, message.hook, message.payload as never, onFailure);
  }
  return answer;
}

// This file is a worker entry: it runs only when a Worker starts it, never on import by the host.
if (!isMainThread && parentPort !== null) {
  const data = parseWorkerData(workerData);
  if (data !== null) void runPluginWorker(parentPort, data);
  else parentPort.postMessage({ type: 'activation-failed', error: 'the worker was started without valid workerData' });
}
