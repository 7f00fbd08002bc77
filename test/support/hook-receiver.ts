import { createServer } from 'node:http';

/** A local HTTP server that records the JSON bodies POSTed to it (alert and job webhooks). */
export interface HookReceiver {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Every body received, in order, with the path it was POSTed to. */
  received: { path: string; body: Record<string, unknown> }[];
  /** Answers the next `count` requests with this status instead of 204. */
  failNext(status: number, count?: number): void;
  close(): Promise<void>;
}

export async function startHookReceiver(): Promise<HookReceiver> {
  const received: HookReceiver['received'] = [];
  const failures: number[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    request.on('end', () => {
      const failure = failures.shift();
      if (failure !== undefined) {
        response.writeHead(failure).end();
        return;
      }
      received.push({ path: request.url ?? '', body: JSON.parse(body) as Record<string, unknown> });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    received,
    failNext(status, count = 1) {
      for (let index = 0; index < count; index++) failures.push(status);
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
