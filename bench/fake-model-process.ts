/**
 * Runs the fake model server in its own process so its CPU is not in the bench client's event
 * loop. Started with `fork()`: it sends `{ type: 'ready', openaiBaseUrl }` over IPC once it
 * listens, and answers two commands:
 *   `{ cmd: 'clear' }`            → forgets the recorded requests, replies `{ type: 'cleared' }`;
 *   `{ cmd: 'sample', max }`      → replies `{ type: 'sample', count, bodies }` with up to `max`
 *                                   chat-completion request bodies (JSON text) spread evenly over
 *                                   what was recorded since the last clear.
 * It exits when its parent goes away (IPC channel closes) or on SIGTERM/SIGINT.
 */
import { startFakeModelServer } from '../test/support/fake-model-server.js';

interface Command {
  cmd: 'clear' | 'sample';
  max?: number;
}

const MAX_RECORDED = 5000;

async function main(): Promise<void> {
  if (!process.send) throw new Error('fake-model-process must be started with fork() (it needs an IPC channel)');
  const server = await startFakeModelServer({ maxRecordedRequests: MAX_RECORDED });
  let closing = false;
  const shutdown = (): void => {
    if (closing) return;
    closing = true;
    const done = setTimeout(() => process.exit(0), 1000);
    done.unref();
    server.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.on('disconnect', shutdown);

  process.on('message', (message: Command) => {
    if (message.cmd === 'clear') {
      server.requests.length = 0;
      process.send?.({ type: 'cleared' });
    } else if (message.cmd === 'sample') {
      const chats = server.requests.filter((request) => request.path === '/v1/chat/completions');
      const max = Math.max(1, message.max ?? 100);
      const stride = Math.max(1, chats.length / max);
      const bodies: string[] = [];
      for (let position = 0; position < chats.length && bodies.length < max; position += stride) {
        bodies.push(JSON.stringify(chats[Math.floor(position)]!.body));
      }
      process.send?.({ type: 'sample', count: chats.length, bodies });
    }
  });
  process.send({ type: 'ready', openaiBaseUrl: server.openaiBaseUrl, pid: process.pid });
}

main().catch((error: unknown) => {
  console.error('fake model process failed:', error);
  process.exit(1);
});
