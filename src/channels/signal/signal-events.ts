/**
 * A reader for the Server-Sent Events stream signal-cli's HTTP daemon serves at
 * `/api/v1/events`: `id:`, `event:` and `data:` fields, events ended by a blank line, comment
 * lines (`:`) as keep-alives.
 */

export interface ServerSentEvent {
  id: string | null;
  event: string;
  data: string;
}

export interface SseHandlers {
  /** Any bytes arrived (an event or a keep-alive). */
  onActivity(): void;
  onEvent(event: ServerSentEvent): Promise<void>;
}

/** Reads `body` to its end, handing over each complete event in order (awaiting each). */
export async function readServerSentEvents(body: ReadableStream<Uint8Array>, handlers: SseHandlers): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = '';
  let fields: { id: string | null; event: string; data: string[] } = { id: null, event: 'message', data: [] };
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    handlers.onActivity();
    buffer += decoder.decode(chunk, { stream: true });
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/u, '');
      buffer = buffer.slice(newline + 1);
      if (line === '') {
        if (fields.data.length > 0) await handlers.onEvent({ id: fields.id, event: fields.event, data: fields.data.join('\n') });
        fields = { id: null, event: 'message', data: [] };
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const name = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /u, '');
        if (name === 'data') fields.data.push(value);
        else if (name === 'event') fields.event = value;
        else if (name === 'id') fields.id = value;
      }
      newline = buffer.indexOf('\n');
    }
  }
}
