import { connect } from 'node:net';

/**
 * Sends a request's headers and the first bytes of its body, never the rest, and resolves with
 * the status line the server answers and how long it took, or `status: null` after `timeoutMs`.
 * Shows whether a server decides on a request before reading its body.
 */
export function answerBeforeBody(
  url: string,
  options: { method?: string; headers?: Record<string, string>; contentLength: number; firstBytes?: string; timeoutMs?: number },
): Promise<{ status: number | null; elapsedMs: number }> {
  const target = new URL(url);
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect({ host: target.hostname, port: Number(target.port) });
    let answer = '';
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const match = /^HTTP\/1\.1 (\d{3})/u.exec(answer);
      resolve({ status: match ? Number(match[1]) : null, elapsedMs: Date.now() - started });
    };
    const timer = setTimeout(finish, options.timeoutMs ?? 3000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
      if (answer.includes('\r\n')) finish();
    });
    socket.on('error', finish);
    socket.on('close', finish);
    const headers = { host: target.host, 'content-type': 'application/json', ...options.headers, 'content-length': String(options.contentLength) };
    const head = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.write(`${options.method ?? 'POST'} ${target.pathname} HTTP/1.1\r\n${head}\r\n${options.firstBytes ?? '{'}`);
  });
}
