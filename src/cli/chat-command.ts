import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { CliFailure, type CliRuntime, withGateway } from './cli-context.js';
import { createMarkdownStream, loadTerminalRenderer, type MarkdownRenderer } from './terminal-markdown.js';

interface ChatEvent {
  runId: string;
  sessionKey: string;
  state: string;
  text: string;
}

export interface ChatOptions {
  session?: string;
  agent?: string;
  /** true: render Markdown; false: print it as written; unset: render when stdout is a terminal and NO_COLOR is unset. */
  markdown?: boolean;
  /** One of the agent's models, for every turn of this chat. */
  model?: string;
}

/** A turn being answered: where its text goes and how it ends. */
interface CurrentTurn {
  runId: string | null;
  received: string;
  /** Ctrl-C stopped it: not a failure. */
  stoppedByUser: boolean;
  write(text: string): void;
  finish(failed: boolean): void;
}

/**
 * A terminal chat through the gateway: type a line, watch the reply stream; Ctrl-C stops a reply.
 * Replies are rendered as Markdown for a terminal (block by block as they stream) unless stdout is
 * not a terminal, NO_COLOR is set, or `--no-markdown`; then the text streams as written. Fails
 * (exit 1) when any turn failed; a reply stopped with Ctrl-C is not a failure.
 */
export async function runChat(runtime: CliRuntime, options: ChatOptions): Promise<void> {
  const useMarkdown = options.markdown ?? (process.stdout.isTTY === true && !runtime.env.NO_COLOR);
  const renderer: Promise<MarkdownRenderer> | null = useMarkdown
    ? loadTerminalRenderer(process.stdout.columns ?? 80).catch((error: Error) => {
        runtime.io.err(`Cannot render Markdown (${error.message}); showing replies as written.\n`);
        return (markdown: string) => markdown;
      })
    : null;
  const outcome = await withGateway(runtime.env, runtime.io, async (client) => {
    const history = await client.call<{ sessionKey: string }>('chat.history', {
      ...(options.session ? { sessionKey: options.session } : {}),
      ...(options.agent ? { agentId: options.agent } : {}),
      limit: 1,
    });
    const sessionKey = history.sessionKey;
    const interactive = (runtime.stdin as NodeJS.ReadStream).isTTY === true;
    runtime.io.out(`Chatting in ${sessionKey}. Type a message; /reset starts over, /exit quits${interactive ? ', Ctrl-C stops a reply' : ''}.\n`);
    const lines = createInterface({ input: runtime.stdin, terminal: false });
    let current: CurrentTurn | null = null;
    const tally = { sent: 0, failed: 0 };

    client.onEvent((event, payload) => {
      if (event !== 'chat') return;
      const chat = payload as ChatEvent;
      if (chat.sessionKey !== sessionKey || !current || (current.runId !== null && chat.runId !== current.runId)) return;
      if (chat.state === 'delta') {
        current.received += chat.text;
        current.write(chat.text);
      } else if (chat.state === 'final') {
        // A reply that arrived whole (no deltas) is shown whole.
        if (current.received === '' && chat.text) current.write(chat.text);
        current.finish(false);
      } else if (chat.state === 'error' && current.stoppedByUser) {
        runtime.io.err('[stopped]\n');
        current.finish(false);
      } else if (chat.state === 'error') {
        runtime.io.err(`[error] ${chat.text}\n`);
        current.finish(true);
      }
    });

    process.on('SIGINT', () => {
      if (current?.runId) {
        current.stoppedByUser = true;
        void client.call('chat.abort', { runId: current.runId }).catch(() => undefined);
      }
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
      tally.sent += 1;
      const failed = await new Promise<boolean>((resolve) => {
        current = startTurn(runtime, renderer, resolve);
        client
          .call<{ runId: string }>('chat.send', { sessionKey, text, idempotencyKey: randomUUID(), ...(options.model ? { model: options.model } : {}) })
          .then((accepted) => {
            if (current) current.runId = accepted.runId;
          })
          .catch((error: Error) => {
            runtime.io.err(`[error] ${error.message}\n`);
            current?.finish(true);
          });
      });
      if (failed) tally.failed += 1;
      current = null;
    }
    lines.close();
    return tally;
  });
  if (outcome.failed > 0) throw new CliFailure(`${outcome.failed} of ${outcome.sent} ${outcome.sent === 1 ? 'turn' : 'turns'} failed (see above).`);
}

/** Where a new turn's reply goes: straight to stdout, or through the Markdown renderer. */
function startTurn(runtime: CliRuntime, renderer: Promise<MarkdownRenderer> | null, resolve: (failed: boolean) => void): CurrentTurn {
  let finished = false;
  const stream = renderer ? createMarkdownStream(renderer, runtime.io.out) : null;
  return {
    runId: null,
    received: '',
    stoppedByUser: false,
    write: (text) => (stream ? stream.push(text) : runtime.io.out(text)),
    finish(failed) {
      if (finished) return;
      finished = true;
      if (!stream) {
        runtime.io.out('\n');
        resolve(failed);
        return;
      }
      void stream.end().then(
        () => resolve(failed),
        () => resolve(failed),
      );
    },
  };
}
