import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { type CliRuntime, withGateway } from './cli-context.js';

interface ChatEvent {
  runId: string;
  sessionKey: string;
  state: string;
  text: string;
}

/** A terminal chat through the gateway: type a line, watch the reply stream; Ctrl-C stops a reply. */
export async function runChat(runtime: CliRuntime, options: { session?: string; agent?: string }): Promise<void> {
  await withGateway(runtime.env, runtime.io, async (client) => {
    const history = await client.call<{ sessionKey: string }>('chat.history', {
      ...(options.session ? { sessionKey: options.session } : {}),
      ...(options.agent ? { agentId: options.agent } : {}),
      limit: 1,
    });
    const sessionKey = history.sessionKey;
    const interactive = (runtime.stdin as NodeJS.ReadStream).isTTY === true;
    runtime.io.out(`Chatting in ${sessionKey}. Type a message; /reset starts over, /exit quits${interactive ? ', Ctrl-C stops a reply' : ''}.\n`);
    const lines = createInterface({ input: runtime.stdin, terminal: false });
    let current: { runId: string | null; done: () => void } | null = null;

    client.onEvent((event, payload) => {
      if (event !== 'chat') return;
      const chat = payload as ChatEvent;
      if (chat.sessionKey !== sessionKey || !current || (current.runId !== null && chat.runId !== current.runId)) return;
      if (chat.state === 'delta') runtime.io.out(chat.text);
      else if (chat.state === 'final') {
        runtime.io.out('\n');
        current.done();
      } else if (chat.state === 'error') {
        runtime.io.out(`\n[error] ${chat.text}\n`);
        current.done();
      }
    });

    process.on('SIGINT', () => {
      if (current?.runId) void client.call('chat.abort', { runId: current.runId }).catch(() => undefined);
      else process.exit(0);
    });

    for await (const line of lines) {
      const text = line.trim();
      if (text === '') continue;
      if (text === '/exit' || text === '/quit') break;
      if (text === '/reset') {
        await client.call('sessions.reset', { sessionKey });
        runtime.io.out('Started a fresh session.\n');
        continue;
      }
      await new Promise<void>((resolve) => {
        current = { runId: null, done: resolve };
        client
          .call<{ runId: string }>('chat.send', { sessionKey, text, idempotencyKey: randomUUID() })
          .then((accepted) => {
            if (current) current.runId = accepted.runId;
          })
          .catch((error: Error) => {
            runtime.io.out(`[error] ${error.message}\n`);
            resolve();
          });
      });
      current = null;
    }
    lines.close();
  });
}
