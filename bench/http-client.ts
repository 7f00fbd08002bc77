/** A low-overhead HTTP client for the bench: raw `node:http` with keep-alive agents. */
import { Agent, request } from 'node:http';

export interface HttpResult {
  status: number;
  body: string;
}

export function keepAliveAgent(maxSockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' });
}

/**
 * Sends one request and reads the whole response (a JSON body or an SSE stream to its end).
 * Rejects on a socket error or after `timeoutMs`.
 */
export function httpRequest(options: {
  agent: Agent | false;
  port: number;
  path: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...options.headers };
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(options.body);
    }
    const req = request(
      { host: '127.0.0.1', port: options.port, path: options.path, method: options.method, headers, agent: options.agent },
      (res) => {
        res.setEncoding('utf8');
        let body = '';
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`${options.method} ${options.path} timed out after ${options.timeoutMs ?? 15_000} ms`));
    }, options.timeoutMs ?? 15_000);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(options.body);
  });
}
