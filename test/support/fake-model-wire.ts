/**
 * Wire-format rendering for the fake model server: OpenAI Chat Completions and Anthropic Messages
 * replies (streamed SSE frames and whole JSON bodies), error bodies, and the default echo reply.
 * Pure functions; the server in `fake-model-server.ts` owns all state.
 */

export type FakeApi = 'openai' | 'anthropic';

/** A reply reduced to what both wire formats need. */
export interface FakeReply {
  text: string;
  toolCalls: { id: string; name: string; arguments: string }[];
  chunkSize: number;
}

/** What a rendering needs to know about the request it answers. */
export interface ReplyContext {
  model: string;
  includeUsage: boolean;
  inputTokens: number;
  messageId: string;
}

const CREATED = 1_700_000_000;

function split(text: string, size: number): string[] {
  if (text.length === 0) return [];
  const pieces: string[] = [];
  for (let start = 0; start < text.length; start += size) pieces.push(text.slice(start, start + size));
  return pieces;
}

/** Tool arguments are always streamed in about three fragments so clients must assemble them. */
function argumentFragments(text: string): string[] {
  return split(text, Math.max(1, Math.ceil(text.length / 3)));
}

function outputTokens(reply: FakeReply): number {
  const size = reply.text.length + reply.toolCalls.reduce((sum, call) => sum + call.name.length + call.arguments.length, 0);
  return Math.max(1, Math.ceil(size / 4));
}

// ---------------------------------------------------------------- OpenAI

function openaiFinishReason(reply: FakeReply): string {
  return reply.toolCalls.length > 0 ? 'tool_calls' : 'stop';
}

function openaiUsage(reply: FakeReply, context: ReplyContext): Record<string, number> {
  const completion = outputTokens(reply);
  return { prompt_tokens: context.inputTokens, completion_tokens: completion, total_tokens: context.inputTokens + completion };
}

/** SSE frames of a streamed chat completion, ending with `data: [DONE]`. */
export function openaiStreamFrames(reply: FakeReply, context: ReplyContext): string[] {
  const head = `{"id":${JSON.stringify(context.messageId)},"object":"chat.completion.chunk","created":${CREATED},"model":${JSON.stringify(context.model)},"choices":`;
  const frame = (delta: unknown, finishReason: string | null = null): string =>
    `data: ${head}[{"index":0,"delta":${JSON.stringify(delta)},"logprobs":null,"finish_reason":${JSON.stringify(finishReason)}}]}\n\n`;
  const frames = [frame({ role: 'assistant', content: '' })];
  for (const piece of split(reply.text, reply.chunkSize)) frames.push(frame({ content: piece }));
  reply.toolCalls.forEach((call, index) => {
    frames.push(frame({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }));
    for (const fragment of argumentFragments(call.arguments)) {
      frames.push(frame({ tool_calls: [{ index, function: { arguments: fragment } }] }));
    }
  });
  frames.push(frame({}, openaiFinishReason(reply)));
  if (context.includeUsage) frames.push(`data: ${head}[],"usage":${JSON.stringify(openaiUsage(reply, context))}}\n\n`);
  frames.push('data: [DONE]\n\n');
  return frames;
}

/** A whole (non-streamed) chat completion. */
export function openaiCompletion(reply: FakeReply, context: ReplyContext): unknown {
  const toolCalls = reply.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }));
  return {
    id: context.messageId,
    object: 'chat.completion',
    created: CREATED,
    model: context.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: reply.text.length > 0 || toolCalls.length === 0 ? reply.text : null, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}), refusal: null },
        logprobs: null,
        finish_reason: openaiFinishReason(reply),
      },
    ],
    usage: openaiUsage(reply, context),
  };
}

/** The first frames of a streamed reply that then stalls: the role chunk and optionally one text chunk. */
export function openaiStallFrames(afterText: string | undefined, context: ReplyContext): string[] {
  const reply: FakeReply = { text: afterText ?? '', toolCalls: [], chunkSize: Number.MAX_SAFE_INTEGER };
  const frames = openaiStreamFrames(reply, { ...context, includeUsage: false });
  return frames.slice(0, afterText ? 2 : 1);
}

// ---------------------------------------------------------------- Anthropic

function event(type: string, data: unknown): string {
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

function anthropicStopReason(reply: FakeReply): string {
  return reply.toolCalls.length > 0 ? 'tool_use' : 'end_turn';
}

function anthropicMessageStart(context: ReplyContext): string {
  return event('message_start', {
    type: 'message_start',
    message: {
      id: context.messageId,
      type: 'message',
      role: 'assistant',
      model: context.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: context.inputTokens, output_tokens: 1 },
    },
  });
}

/** SSE events of a streamed message: message_start … message_stop. */
export function anthropicStreamFrames(reply: FakeReply, context: ReplyContext): string[] {
  const frames = [anthropicMessageStart(context)];
  let index = 0;
  if (reply.text.length > 0) {
    frames.push(event('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }));
    for (const piece of split(reply.text, reply.chunkSize)) {
      frames.push(event('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } }));
    }
    frames.push(event('content_block_stop', { type: 'content_block_stop', index }));
    index += 1;
  }
  for (const call of reply.toolCalls) {
    frames.push(event('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} } }));
    for (const fragment of argumentFragments(call.arguments)) {
      frames.push(event('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: fragment } }));
    }
    frames.push(event('content_block_stop', { type: 'content_block_stop', index }));
    index += 1;
  }
  frames.push(event('message_delta', { type: 'message_delta', delta: { stop_reason: anthropicStopReason(reply), stop_sequence: null }, usage: { output_tokens: outputTokens(reply) } }));
  frames.push(event('message_stop', { type: 'message_stop' }));
  return frames;
}

/** A whole (non-streamed) message. */
export function anthropicMessage(reply: FakeReply, context: ReplyContext): unknown {
  const content: unknown[] = [];
  if (reply.text.length > 0) content.push({ type: 'text', text: reply.text });
  for (const call of reply.toolCalls) content.push({ type: 'tool_use', id: call.id, name: call.name, input: JSON.parse(call.arguments || '{}') });
  return {
    id: context.messageId,
    type: 'message',
    role: 'assistant',
    model: context.model,
    content,
    stop_reason: anthropicStopReason(reply),
    stop_sequence: null,
    usage: { input_tokens: context.inputTokens, output_tokens: outputTokens(reply) },
  };
}

/** The first events of a streamed reply that then stalls. */
export function anthropicStallFrames(afterText: string | undefined, context: ReplyContext): string[] {
  const frames = [anthropicMessageStart(context)];
  if (afterText) {
    frames.push(event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
    frames.push(event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: afterText } }));
  }
  return frames;
}

// ---------------------------------------------------------------- errors and malformed replies

const ANTHROPIC_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  503: 'api_error',
  529: 'overloaded_error',
};

const ERROR_MESSAGES: Record<number, string> = {
  400: 'Bad request.',
  401: 'Incorrect API key provided.',
  403: 'You do not have access to this resource.',
  404: 'The model does not exist.',
  429: 'Rate limit reached. Please try again later.',
  529: 'Overloaded.',
  503: 'The service is temporarily unavailable.',
};

/** The error body each API sends for an HTTP status. */
export function errorBody(api: FakeApi, status: number): unknown {
  const message = ERROR_MESSAGES[status] ?? 'The server had an error while processing your request.';
  if (api === 'anthropic') {
    return { type: 'error', error: { type: ANTHROPIC_ERROR_TYPES[status] ?? 'api_error', message } };
  }
  const code = status === 401 ? 'invalid_api_key' : status === 429 ? 'rate_limit_exceeded' : null;
  return { error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code } };
}

/** One SSE frame whose data is not valid JSON. */
export function malformedFrame(api: FakeApi): string {
  return api === 'openai' ? 'data: {"id":"broken","choices":[{"delta":{"content":"hi"\n\n' : 'event: message_start\ndata: {"type":"message_start","message":{\n\n';
}

// ---------------------------------------------------------------- the default echo

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Text of a message `content`: a string, or the text parts of an array of parts. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : ''))
    .join('');
}

/**
 * The default reply: `echo: <last user text>`, or `tool said: <result>` when the last message is
 * a tool result, so that tool loops against the fake terminate.
 */
export function echoText(api: FakeApi, body: unknown): string {
  const messages = isRecord(body) && Array.isArray(body.messages) ? body.messages : [];
  const last: unknown = messages[messages.length - 1];
  if (!isRecord(last)) return 'echo: ';
  if (api === 'openai') {
    return last.role === 'tool' ? `tool said: ${textOf(last.content)}` : `echo: ${textOf(last.content)}`;
  }
  if (Array.isArray(last.content)) {
    const results = last.content.filter((part) => isRecord(part) && part.type === 'tool_result');
    if (results.length > 0) {
      return `tool said: ${results.map((part) => (isRecord(part) ? textOf(part.content) : '')).join('\n')}`;
    }
  }
  return `echo: ${textOf(last.content)}`;
}
