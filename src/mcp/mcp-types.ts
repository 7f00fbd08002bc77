/**
 * How to reach one MCP server. Exactly one of `command` (stdio: a child process) and `url`
 * (streamable HTTP) is set.
 */
export interface McpServerSettings {
  /** stdio: the command to spawn (with args/env/cwd). It gets only a few safe variables of the gateway's environment (PATH, HOME, …) plus `env`. */
  command?: string;
  args?: readonly string[];
  env?: Readonly<Record<string, string>>;
  cwd?: string;
  /** streamable HTTP: the server's URL (http/https). */
  url?: string;
  headers?: Readonly<Record<string, string>>;
  /** Per call timeout in ms (default 60_000). Start-up (spawn, handshake, first listing) gets the longer of this and 60 s. */
  timeoutMs?: number;
}

/** A tool as the server listed it; `name` matches `/^[A-Za-z0-9_-]{1,48}$/`. */
export interface McpToolInfo {
  name: string;
  description: string;
  /** The tool's JSON Schema for its arguments (`{ type: 'object', … }`). */
  inputSchema: Record<string, unknown>;
}

export interface McpServerHealth {
  /** 'stopped' before start(), after stop(), and for settings that can never work; 'restarting' from a failure until the next connection is ready. */
  state: 'starting' | 'ready' | 'restarting' | 'stopped';
  /** ms epoch when it last changed state */
  since: number;
  /** Why the last connection failed (with the end of a stdio server's stderr), or null. Kept after it recovers. */
  lastError: string | null;
  /** How many times the connection was (re)started after a failure. */
  restarts: number;
  tools: number;
  /** When the next restart attempt is due (ms epoch), while restarting. */
  nextAttemptAt: number | null;
}

/** A tool's result as text for the model; `isError` also for failures of the server or the connection. */
export interface McpCallResult {
  content: string;
  isError: boolean;
}

/**
 * A supervised connection to one MCP server: it connects in the background, lists the server's
 * tools, and reconnects with backoff whenever the server exits, closes, errs or stops answering
 * pings. Its methods never throw for problems of the server.
 */
export interface McpConnection {
  readonly name: string;
  /** Starts connecting in the background (never throws); failures are retried with backoff. Does nothing after stop(). */
  start(): void;
  /** The tools the server listed at its last successful connection (kept while it restarts). */
  tools(): readonly McpToolInfo[];
  /**
   * Calls a tool. Never throws for server-side problems: returns isError with a message naming the
   * server (e.g. `MCP server "files" is restarting (last error: …); try again in N s`), also on
   * timeout (`… did not answer within N ms`) and when `signal` aborts.
   */
  call(tool: string, args: Record<string, unknown>, signal: AbortSignal): Promise<McpCallResult>;
  health(): McpServerHealth;
  /** Closes the client and ends a stdio child (SIGKILL if it is still there ~2.5 s later). Idempotent; final. */
  stop(): Promise<void>;
  /** Calls `listener` whenever tools() or health() changes; returns the unsubscribe. A listener that throws is ignored. */
  onChange(listener: () => void): () => void;
}

/** Where a connection logs (a pino logger fits). */
export interface McpLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

export interface McpConnectionOptions {
  logger?: McpLogger;
  /** Delay before the first restart, doubled per failure up to `maxMs`; back to `initialMs` once a connection stayed ready `resetAfterMs` (default 1 s, 60 s, 60 s). */
  backoff?: { initialMs: number; maxMs: number; resetAfterMs?: number };
  /** A ping every `intervalMs` that must answer within `timeoutMs` (default 15 s, 5 s). */
  healthCheck?: { intervalMs: number; timeoutMs: number };
  now?: () => number;
  clientInfo?: { name: string; version: string };
}
