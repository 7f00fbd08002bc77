import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/**
 * A small MCP server for tests, built with the SDK's server side. Tools: `echo {text}`, `add {a, b}`,
 * `crash {}` (the process exits with code 3 at once), `hang {}` (never answers), `fail {}` (an
 * isError result, "failed on purpose"). With `extraTools`: `freeze {}` (blocks the event loop, so
 * pings go unanswered), `add_tool {name}` (registers one more echo tool, which notifies
 * `tools/list_changed`), and two tools whose names Hearth refuses (`bad.name`, a 49-character one).
 *
 * Run it as `node dist/test/support/mcp/test-server.js` (stdio) or `… --http PORT` (streamable HTTP
 * on 127.0.0.1; prints its URL). Environment: `MCP_TEST_COUNTER_FILE` gets a line per start,
 * `MCP_TEST_EXTRA_TOOLS=1` adds the extra tools, `MCP_TEST_STUBBORN=1` ignores SIGTERM and the
 * end of its input (so only SIGKILL ends it).
 */
export interface TestServerOptions {
  extraTools?: boolean;
  /** What `crash` does; exits the process with code 3 unless given (an in-process server passes its own). */
  crash?: () => void;
}

const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });

export function createTestMcpServer(options: TestServerOptions = {}): McpServer {
  const server = new McpServer({ name: 'hearth-test-server', version: '1.0.0' });
  server.registerTool('echo', { description: 'Returns the text.', inputSchema: { text: z.string() } }, ({ text: value }) => text(value));
  server.registerTool('add', { description: 'Adds two numbers.', inputSchema: { a: z.number(), b: z.number() } }, ({ a, b }) => text(String(a + b)));
  server.registerTool('crash', { description: 'Exits the server process with code 3.' }, () => {
    (options.crash ?? crashProcess)();
    return text('crashed');
  });
  server.registerTool('hang', { description: 'Never answers.' }, () => new Promise<never>(() => {}));
  server.registerTool('fail', { description: 'Fails.' }, () => ({ ...text('failed on purpose'), isError: true }));
  if (options.extraTools) registerExtraTools(server);
  return server;
}

function crashProcess(): void {
  process.stderr.write('test server: crashing on purpose\n');
  process.exit(3);
}

function registerExtraTools(server: McpServer): void {
  server.registerTool('freeze', { description: 'Blocks the event loop for a minute.' }, () => {
    const until = Date.now() + 60_000;
    while (Date.now() < until) {
      // busy on purpose: the server cannot answer anything, pings included
    }
    return text('thawed');
  });
  server.registerTool('add_tool', { description: 'Registers one more echo tool.', inputSchema: { name: z.string() } }, ({ name }) => {
    server.registerTool(name, { description: 'An added echo.', inputSchema: { text: z.string() } }, ({ text: value }) => text(value));
    return text(`added ${name}`);
  });
  server.registerTool('bad.name', { description: 'A name with a dot.' }, () => text('bad'));
  server.registerTool('x'.repeat(49), { description: 'A name one character too long.' }, () => text('long'));
}

/** A running streamable HTTP test server on 127.0.0.1. */
export interface HttpTestServer {
  /** `http://127.0.0.1:<port>/mcp` */
  url: string;
  port: number;
  /** How many MCP sessions were initialised. */
  sessions(): number;
  /** The Authorization header of the last request, if any. */
  lastAuthorization(): string | undefined;
  /** Closes every session and connection at once (as a crashed server would). */
  close(): Promise<void>;
}

/**
 * The test server over streamable HTTP (stateful: a session per `initialize`), in this process.
 * `crash` closes the HTTP server abruptly instead of exiting.
 */
export async function startHttpTestServer(options: { port?: number; extraTools?: boolean } = {}): Promise<HttpTestServer> {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const counter = { sessions: 0, authorization: undefined as string | undefined };
  const http = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(String(error));
    });
  });
  const close = async () => {
    await Promise.all([...transports.values()].map((transport) => transport.close().catch(() => {})));
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  };

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    counter.authorization = request.headers.authorization;
    const sessionId = request.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
    if (existing) return existing.handleRequest(request, response);
    const body: unknown = request.method === 'POST' ? JSON.parse(await readBody(request)) : undefined;
    if (!isInitializeRequest(body)) {
      response.writeHead(typeof sessionId === 'string' ? 404 : 400, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'No valid session' }, id: null }));
      return;
    }
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        transports.set(id, transport);
        counter.sessions += 1;
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) transports.delete(transport.sessionId);
    };
    await createTestMcpServer({ extraTools: options.extraTools, crash: () => void close() }).connect(transport);
    await transport.handleRequest(request, response, body);
  }

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/mcp`, port, sessions: () => counter.sessions, lastAuthorization: () => counter.authorization, close };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(argv: readonly string[]): Promise<void> {
  const counterFile = process.env['MCP_TEST_COUNTER_FILE'];
  if (counterFile) appendFileSync(counterFile, `start ${process.pid}\n`);
  const extraTools = process.env['MCP_TEST_EXTRA_TOOLS'] === '1';
  const httpAt = argv.indexOf('--http');
  if (httpAt >= 0) {
    const server = await startHttpTestServer({ port: Number(argv[httpAt + 1] ?? 0), extraTools });
    process.stdout.write(`${server.url}\n`);
    return;
  }
  if (process.env['MCP_TEST_STUBBORN'] === '1') {
    process.on('SIGTERM', () => {});
    setInterval(() => {}, 60_000);
  }
  await createTestMcpServer({ extraTools }).connect(new StdioServerTransport());
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`test server: ${String(error)}\n`);
    process.exit(1);
  });
}
