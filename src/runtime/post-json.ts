import { request as httpRequest } from 'node:http';
import { nodeHttps } from './node-https.js';

/**
 * POSTs a JSON body and resolves with the HTTP status (the response body is read and dropped).
 * Rejects on network errors and after `timeoutMs` without an answer. Node's own HTTP client:
 * a webhook costs no extra module load.
 */
export function postJson(url: string, body: unknown, options: { timeoutMs: number; headers?: Record<string, string>; signal?: AbortSignal }): Promise<number> {
  return new Promise((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      reject(new Error(`"${url}" is not a URL`));
      return;
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      reject(new Error(`"${url}" is not an http(s) URL`));
      return;
    }
    const payload = Buffer.from(JSON.stringify(body));
    const send = target.protocol === 'https:' ? nodeHttps().request : httpRequest;
    const request = send(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(payload.length), 'user-agent': 'hearth', ...options.headers },
        timeout: options.timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    request.on('error', reject);
    request.end(payload);
  });
}
