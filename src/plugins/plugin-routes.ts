import type { RouteMethod } from './plugin-api.js';

/**
 * The HTTP side of plugin routes, without any I/O: what of a request a plugin sees and what of
 * its answer the gateway sends on. The host (plugin-host.ts) routes; the gateway serves.
 */

/** A route of a running plugin; the gateway serves it at `/plugins/<plugin><path>`. */
export interface PluginRoute {
  plugin: string;
  method: RouteMethod;
  path: string;
}

/** What the gateway passes on of an HTTP request to a plugin route. */
export interface PluginRouteInput {
  query: Record<string, string>;
  /** Any case; the plugin sees them in lower case, without credentials (see WITHHELD_REQUEST_HEADERS). */
  headers: Record<string, string>;
  /** The body as text; over MAX_ROUTE_BODY_BYTES is answered 413 without reaching the plugin. */
  body: string;
}

/** What the gateway sends back: always a complete answer, with a `content-type`. */
export interface PluginRouteAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export const TEXT_PLAIN = 'text/plain; charset=utf-8';

/** Request headers a plugin never sees: the gateway's credentials and the client's cookies. */
const WITHHELD_REQUEST_HEADERS: readonly string[] = ['authorization', 'proxy-authorization', 'cookie'];

/** Response headers the gateway never takes from a plugin: hop-by-hop ones, its own framing, cookies. */
const DROPPED_RESPONSE_HEADERS: readonly string[] = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'set-cookie',
];

/** The query and headers as the plugin sees them: string values only, header names in lower case, credentials withheld. */
export function requestForPlugin(request: PluginRouteInput): { query: Record<string, string>; headers: Record<string, string> } {
  const query = Object.entries(request.query).filter(([, value]) => typeof value === 'string');
  const headers = Object.entries(request.headers)
    .filter(([, value]) => typeof value === 'string')
    .map(([name, value]) => [name.toLowerCase(), value] as const)
    .filter(([name]) => !WITHHELD_REQUEST_HEADERS.includes(name));
  // fromEntries defines own properties, so a "__proto__" key stays a key.
  return { query: Object.fromEntries(query), headers: Object.fromEntries(headers) };
}

/** The plugin's response headers the gateway sends on, with a `content-type` (text/plain by default). */
export function responseHeaders(headers: Record<string, string>): Record<string, string> {
  const kept = Object.entries(headers)
    .map(([name, value]) => [name.toLowerCase(), value] as const)
    .filter(([name]) => !DROPPED_RESPONSE_HEADERS.includes(name));
  return { 'content-type': TEXT_PLAIN, ...Object.fromEntries(kept) };
}

/** An answer written by the host (an error, mostly), as plain text. */
export function textAnswer(status: number, text: string, headers: Record<string, string> = {}): PluginRouteAnswer {
  return { status, headers: { 'content-type': TEXT_PLAIN, ...headers }, body: `${text}\n` };
}
