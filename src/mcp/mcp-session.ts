import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type Tool, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { McpServerSettings } from './mcp-types.js';

/** Characters of a stdio server's stderr kept for error messages. */
const STDERR_TAIL_CHARS = 2048;
/** The SDK ends a child's stdin, then sends SIGTERM after 2 s; still there at this point, it gets SIGKILL. */
const EXIT_GRACE_MS = 2500;
/** A failed child gets SIGTERM at once, and SIGKILL this much later. */
const TERM_GRACE_MS = 1000;
const KILL_WAIT_MS = 1000;
/** How long a stop waits for an HTTP server to end the session (DELETE). */
const TERMINATE_WAIT_MS = 1000;
const MAX_TOOL_PAGES = 20;
const MAX_TOOLS = 500;

/** What a session reports to its owner. */
export interface SessionEvents {
  /** The transport closed: a stdio child exited, or an HTTP transport was closed. */
  onClose(): void;
  /** A transport or protocol error; the connection may or may not still work. */
  onError(error: Error): void;
  /** The server sent `notifications/tools/list_changed`. */
  onToolsChanged(): void;
}

/** One connection attempt to an MCP server: a fresh Client on a fresh transport. */
export interface McpSession {
  readonly client: Client;
  /** Aborts when close() begins, so calls still out on this session end at once. */
  readonly closed: AbortSignal;
  /** The end of the stdio child's stderr ('' for HTTP). */
  stderrTail(): string;
  /** Spawns or reaches the server and runs the `initialize` handshake within `timeoutMs`. */
  connect(timeoutMs: number): Promise<void>;
  /** Every page of `tools/list`, at most MAX_TOOL_PAGES pages and MAX_TOOLS tools (`truncated` when it stopped early). */
  listTools(timeoutMs: number): Promise<{ tools: Tool[]; truncated: boolean }>;
  /**
   * Closes the client. `graceful` (a stop): an HTTP session is ended first; a stdio child gets the end
   * of its input, SIGTERM 2 s later (the SDK) and SIGKILL at 2.5 s. Otherwise (a failed server): a
   * stdio child gets SIGTERM at once and SIGKILL 1 s later.
   */
  close(options: { graceful: boolean }): Promise<void>;
}

/** StdioClientTransport forgets its child's pid when closing; this one remembers it. */
class TrackedStdioTransport extends StdioClientTransport {
  spawnedPid: number | null = null;

  override start(): Promise<void> {
    const started = super.start();
    this.spawnedPid = this.pid;
    return started;
  }
}

export function createSession(settings: McpServerSettings, clientInfo: { name: string; version: string }, events: SessionEvents): McpSession {
  const client = new Client(clientInfo, { capabilities: {} });
  const stdio = settings.command === undefined ? null : createStdioTransport(settings);
  const http = stdio === null ? createHttpTransport(settings) : null;
  const stderr = { tail: '' };
  stdio?.stderr?.on('data', (chunk: Buffer) => {
    stderr.tail = (stderr.tail + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
  });
  const child = { exited: false, markExited: () => {} };
  /** For stdio: the child exited (the SDK closes the transport only then). */
  const exited = new Promise<void>((resolve) => {
    child.markExited = resolve;
  });
  client.onclose = () => {
    child.exited = true;
    child.markExited();
    events.onClose();
  };
  client.onerror = (error) => events.onError(error);
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => events.onToolsChanged());
  const state = { closing: null as Promise<void> | null };
  const ending = new AbortController();

  const close = async (graceful: boolean): Promise<void> => {
    if (http !== null && graceful) await within(http.terminateSession().catch(() => {}), TERMINATE_WAIT_MS);
    const pid = stdio?.spawnedPid ?? null;
    const closingClient = client.close().catch(() => {});
    if (pid === null) {
      await within(closingClient, KILL_WAIT_MS);
      return;
    }
    if (!graceful && !child.exited) signalQuietly(pid, 'SIGTERM');
    if (await within(exited, graceful ? EXIT_GRACE_MS : TERM_GRACE_MS)) return;
    if (!child.exited) signalQuietly(pid, 'SIGKILL');
    await within(exited, KILL_WAIT_MS);
  };

  return {
    client,
    closed: ending.signal,
    stderrTail: () => stderr.tail,
    connect: (timeoutMs) => client.connect((stdio ?? http)!, { timeout: timeoutMs }),
    listTools: (timeoutMs) => listAllTools(client, timeoutMs),
    close({ graceful }) {
      ending.abort(new Error('the connection was closed'));
      state.closing ??= close(graceful);
      return state.closing;
    },
  };
}

function createStdioTransport(settings: McpServerSettings): TrackedStdioTransport {
  return new TrackedStdioTransport({
    command: settings.command!,
    args: [...(settings.args ?? [])],
    env: { ...settings.env },
    cwd: settings.cwd,
    stderr: 'pipe',
  });
}

function createHttpTransport(settings: McpServerSettings): StreamableHTTPClientTransport {
  return new StreamableHTTPClientTransport(new URL(settings.url!), { requestInit: { headers: { ...settings.headers } } });
}

async function listAllTools(client: Client, timeoutMs: number): Promise<{ tools: Tool[]; truncated: boolean }> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_TOOL_PAGES; page++) {
    const result = await client.listTools(cursor === undefined ? undefined : { cursor }, { timeout: timeoutMs });
    tools.push(...result.tools);
    cursor = result.nextCursor;
    if (cursor === undefined || tools.length >= MAX_TOOLS) break;
  }
  return { tools: tools.slice(0, MAX_TOOLS), truncated: cursor !== undefined };
}

/** Whether `promise` settled within `ms` (the timer does not keep the process alive). */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}

function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
