import { rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { Supervisor, SwitchEvent, SwitchRequest } from './supervisor.js';

/** The supervisor's control socket (owner-only), where `hearth update` asks for a switch. */
export function controlSocketPath(stateDir: string): string {
  return join(stateDir, 'service.sock');
}

type ControlRequest = { op: 'status' } | ({ op: 'switch' } & SwitchRequest);

const MAX_REQUEST_BYTES = 64 * 1024;

/**
 * Serves one JSON request per connection: `status` answers one line; `switch` streams a line per
 * stage (promoted, restarted, healthy, or failed and rolled back) and ends with `{done, ok}`.
 */
export function serveControl(path: string, supervisor: Supervisor): Promise<net.Server> {
  rmSync(path, { force: true });
  const server = net.createServer((socket) => {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_REQUEST_BYTES) socket.destroy();
      const newline = buffered.indexOf('\n');
      if (newline === -1) return;
      socket.removeAllListeners('data');
      void answer(socket, buffered.slice(0, newline), supervisor);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const oldMask = process.umask(0o177);
    server.listen(path, () => {
      process.umask(oldMask);
      server.off('error', reject);
      resolve(server);
    });
  });
}

async function answer(socket: net.Socket, line: string, supervisor: Supervisor): Promise<void> {
  const send = (value: unknown) => {
    if (!socket.destroyed) socket.write(`${JSON.stringify(value)}\n`);
  };
  let request: ControlRequest;
  try {
    request = JSON.parse(line) as ControlRequest;
  } catch {
    send({ done: true, ok: false, error: 'the request is not JSON' });
    socket.end();
    return;
  }
  if (request.op === 'status') send({ done: true, ok: true, status: supervisor.status() });
  else if (request.op === 'switch' && typeof request.to === 'string') {
    const ok = await supervisor.switchTo(request, (event: SwitchEvent) => send({ event }));
    send({ done: true, ok });
  } else send({ done: true, ok: false, error: `unknown request ${JSON.stringify(request).slice(0, 100)}` });
  socket.end();
}

/** Sends one request to the supervisor and hands each line it answers to `onLine`; resolves with the last. */
export function askSupervisor(path: string, request: ControlRequest, onLine: (value: Record<string, unknown>) => void): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    let buffered = '';
    let last: Record<string, unknown> = {};
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
        last = JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>;
        buffered = buffered.slice(newline + 1);
        onLine(last);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(last));
  });
}
