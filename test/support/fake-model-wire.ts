/**
 * Wire-format rendering for the fake model server: OpenAI Chat Completions, OpenAI Responses,
 * Anthropic Messages, Gemini (`generateContent`) and Ollama (`/api/chat`) replies (streamed SSE frames and whole JSON bodies), error bodies, and the default echo reply.
 * Pure functions; the server in `fake-model-server.ts` owns all state.
 */

export type FakeApi = 'openai' | 'anthropic' | 'openai-responses' | 'gemini' | 'ollama';

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

const GEMINI_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** The error body each API sends for an HTTP status. */
export function errorBody(api: FakeApi, status: number): unknown {
  const message = ERROR_MESSAGES[status] ?? 'The server had an error while processing your request.';
  if (api === 'gemini') return { error: { code: status, message, status: GEMINI_STATUS[status] ?? 'UNKNOWN' } };
  if (api === 'ollama') return { error: message };
  if (api === 'anthropic') {
    return { type: 'error', error: { type: ANTHROPIC_ERROR_TYPES[status] ?? 'api_error', message } };
  }
  const code = status === 401 ? 'invalid_api_key' : status === 429 ? 'rate_limit_exceeded' : null;
  return { error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code } };
}

/**
 * What each API really answers when the prompt does not fit the model's context (HTTP 400, except
 * Ollama's native API, which reports it as a 500 from the runner).
 */
export function contextOverflowError(api: FakeApi): { status: number; body: unknown } {
  switch (api) {
    case 'anthropic':
      return { status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 212000 tokens > 200000 maximum' } } };
    case 'gemini':
      return { status: 400, body: { error: { code: 400, message: 'The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).', status: 'INVALID_ARGUMENT' } } };
    case 'ollama':
      return { status: 400, body: { error: 'the input length exceeds the context length' } };
    default:
      return {
        status: 400,
        body: { error: { message: "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } },
      };
  }
}

/** Gemini's answer to a wrong API key: a 400 whose detail says API_KEY_INVALID (not a 401). */
export function geminiBadKeyBody(): unknown {
  return {
    error: {
      code: 400,
      message: 'API key not valid. Please pass a valid API key.',
      status: 'INVALID_ARGUMENT',
      details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } }],
    },
  };
}

/** One frame (SSE, or an NDJSON line for Ollama) whose data is not valid JSON. */
export function malformedFrame(api: FakeApi): string {
  switch (api) {
    case 'openai':
      return 'data: {"id":"broken","choices":[{"delta":{"content":"hi"\n\n';
    case 'openai-responses':
      return 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":\n\n';
    case 'gemini':
      return 'data: {"candidates":[{"content":{"parts":[{"text":"hi"\r\n\r\n';
    case 'ollama':
      return '{"model":"fake","message":{"role":"assistant","content":"hi"\n';
    default:
      return 'event: message_start\ndata: {"type":"message_start","message":{\n\n';
  }
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
  if (api === 'openai-responses') {
    const input = isRecord(body) ? body.input : undefined;
    if (typeof input === 'string') return `echo: ${input}`;
    const items = Array.isArray(input) ? input : [];
    const outputs: string[] = [];
    for (let index = items.length - 1; index >= 0; index -= 1) {
      const item: unknown = items[index];
      if (!isRecord(item) || item.type !== 'function_call_output') break;
      outputs.unshift(typeof item.output === 'string' ? item.output : textOf(item.output));
    }
    if (outputs.length > 0) return `tool said: ${outputs.join('\n')}`;
    const last: unknown = items[items.length - 1];
    return `echo: ${isRecord(last) ? textOf(last.content) : ''}`;
  }
  if (api === 'gemini') {
    const contents = isRecord(body) && Array.isArray(body.contents) ? body.contents : [];
    const last: unknown = contents[contents.length - 1];
    const parts: unknown[] = isRecord(last) && Array.isArray(last.parts) ? last.parts : [];
    const responses = parts.filter((part) => isRecord(part) && isRecord(part.functionResponse));
    if (responses.length > 0) {
      return `tool said: ${responses
        .map((part) => {
          const response = isRecord(part) && isRecord(part.functionResponse) ? part.functionResponse.response : undefined;
          return isRecord(response) && typeof response.content === 'string' ? response.content : JSON.stringify(response);
        })
        .join('\n')}`;
    }
    return `echo: ${textOf(parts)}`;
  }
  const messages = isRecord(body) && Array.isArray(body.messages) ? body.messages : [];
  const last: unknown = messages[messages.length - 1];
  if (!isRecord(last)) return 'echo: ';
  if (api === 'openai' || api === 'ollama') {
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

// ---------------------------------------------------------------- OpenAI Responses

function sse(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

function responsesUsage(reply: FakeReply, context: ReplyContext): Record<string, unknown> {
  const output = outputTokens(reply);
  return { input_tokens: context.inputTokens, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: context.inputTokens + output };
}

function responsesOutput(reply: FakeReply, context: ReplyContext): Record<string, unknown>[] {
  const output: Record<string, unknown>[] = [];
  if (reply.text.length > 0) {
    output.push({ id: `msg_${context.messageId}`, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: reply.text, annotations: [], logprobs: [] }] });
  }
  for (const call of reply.toolCalls) output.push({ id: `fc_${call.id}`, type: 'function_call', status: 'completed', arguments: call.arguments, call_id: call.id, name: call.name });
  return output;
}

function responseObject(context: ReplyContext, status: string, output: unknown[], usage: unknown): Record<string, unknown> {
  return {
    id: `resp_${context.messageId}`,
    object: 'response',
    created_at: CREATED,
    status,
    error: null,
    incomplete_details: null,
    instructions: null,
    max_output_tokens: null,
    model: context.model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    store: false,
    temperature: 1,
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    usage,
  };
}

/** A whole (non-streamed) Responses API response. */
export function responsesBody(reply: FakeReply, context: ReplyContext): unknown {
  return responseObject(context, 'completed', responsesOutput(reply, context), responsesUsage(reply, context));
}

/** SSE events of a streamed response: response.created … response.completed, with sequence numbers. */
export function responsesStreamFrames(reply: FakeReply, context: ReplyContext, stopAfterText?: boolean): string[] {
  let sequence = 0;
  const frame = (type: string, data: Record<string, unknown>): string => sse(type, { sequence_number: sequence++, ...data });
  const frames = [frame('response.created', { response: responseObject(context, 'in_progress', [], null) }), frame('response.in_progress', { response: responseObject(context, 'in_progress', [], null) })];
  let outputIndex = 0;
  if (reply.text.length > 0) {
    const itemId = `msg_${context.messageId}`;
    frames.push(frame('response.output_item.added', { output_index: outputIndex, item: { id: itemId, type: 'message', status: 'in_progress', role: 'assistant', content: [] } }));
    frames.push(frame('response.content_part.added', { item_id: itemId, output_index: outputIndex, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }));
    for (const piece of split(reply.text, reply.chunkSize)) {
      frames.push(frame('response.output_text.delta', { item_id: itemId, output_index: outputIndex, content_index: 0, delta: piece, logprobs: [] }));
    }
    if (stopAfterText) return frames;
    frames.push(frame('response.output_text.done', { item_id: itemId, output_index: outputIndex, content_index: 0, text: reply.text, logprobs: [] }));
    frames.push(frame('response.content_part.done', { item_id: itemId, output_index: outputIndex, content_index: 0, part: { type: 'output_text', text: reply.text, annotations: [] } }));
    frames.push(frame('response.output_item.done', { output_index: outputIndex, item: responsesOutput({ ...reply, toolCalls: [] }, context)[0] }));
    outputIndex += 1;
  }
  if (stopAfterText) return frames;
  for (const call of reply.toolCalls) {
    const itemId = `fc_${call.id}`;
    frames.push(frame('response.output_item.added', { output_index: outputIndex, item: { id: itemId, type: 'function_call', status: 'in_progress', arguments: '', call_id: call.id, name: call.name } }));
    for (const fragment of argumentFragments(call.arguments)) {
      frames.push(frame('response.function_call_arguments.delta', { item_id: itemId, output_index: outputIndex, delta: fragment }));
    }
    frames.push(frame('response.function_call_arguments.done', { item_id: itemId, output_index: outputIndex, arguments: call.arguments }));
    frames.push(frame('response.output_item.done', { output_index: outputIndex, item: { id: itemId, type: 'function_call', status: 'completed', arguments: call.arguments, call_id: call.id, name: call.name } }));
    outputIndex += 1;
  }
  frames.push(frame('response.completed', { response: responsesBody(reply, context) }));
  return frames;
}

// ---------------------------------------------------------------- Gemini

function geminiUsage(reply: FakeReply | undefined, context: ReplyContext): Record<string, unknown> {
  const output = reply ? outputTokens(reply) : 0;
  return {
    promptTokenCount: context.inputTokens,
    ...(reply ? { candidatesTokenCount: output } : {}),
    totalTokenCount: context.inputTokens + output,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: context.inputTokens }],
  };
}

function geminiChunk(parts: unknown[], context: ReplyContext, finish?: FakeReply): string {
  const candidate = { content: { parts, role: 'model' }, ...(finish ? { finishReason: 'STOP' } : {}), index: 0 };
  return `data: ${JSON.stringify({ candidates: [candidate], usageMetadata: geminiUsage(finish, context), modelVersion: context.model, responseId: context.messageId })}\r\n\r\n`;
}

/** SSE chunks of `streamGenerateContent?alt=sse`: text parts, then whole function calls; the last carries finishReason and the full usage. */
export function geminiStreamFrames(reply: FakeReply, context: ReplyContext): string[] {
  const parts: unknown[][] = split(reply.text, reply.chunkSize).map((piece) => [{ text: piece }]);
  for (const call of reply.toolCalls) parts.push([{ functionCall: { name: call.name, args: JSON.parse(call.arguments || '{}') }, thoughtSignature: `sig-${call.id}` }]);
  if (parts.length === 0) parts.push([{ text: '' }]);
  return parts.map((chunk, index) => geminiChunk(chunk, context, index === parts.length - 1 ? reply : undefined));
}

/** A whole `generateContent` answer. */
export function geminiBody(reply: FakeReply, context: ReplyContext): unknown {
  const parts: unknown[] = reply.text.length > 0 ? [{ text: reply.text }] : [];
  for (const call of reply.toolCalls) parts.push({ functionCall: { name: call.name, args: JSON.parse(call.arguments || '{}') } });
  return { candidates: [{ content: { parts, role: 'model' }, finishReason: 'STOP', index: 0 }], usageMetadata: geminiUsage(reply, context), modelVersion: context.model, responseId: context.messageId };
}

// ---------------------------------------------------------------- Ollama

function ollamaLine(context: ReplyContext, message: Record<string, unknown>, done?: FakeReply): string {
  const tail = done
    ? { done: true, done_reason: 'stop', total_duration: 1_200_000, load_duration: 100_000, prompt_eval_count: context.inputTokens, prompt_eval_duration: 300_000, eval_count: outputTokens(done), eval_duration: 800_000 }
    : { done: false };
  return `${JSON.stringify({ model: context.model, created_at: '2026-01-01T00:00:00.000000Z', message: { role: 'assistant', ...message }, ...tail })}\n`;
}

function ollamaToolCalls(reply: FakeReply): unknown[] {
  return reply.toolCalls.map((call, index) => ({ id: call.id, function: { index, name: call.name, arguments: JSON.parse(call.arguments || '{}') } }));
}

/** NDJSON lines of a streamed `/api/chat`: content pieces, a line with the tool calls, then `done: true` with the counts. */
export function ollamaStreamFrames(reply: FakeReply, context: ReplyContext): string[] {
  const lines = split(reply.text, reply.chunkSize).map((piece) => ollamaLine(context, { content: piece }));
  if (reply.toolCalls.length > 0) lines.push(ollamaLine(context, { content: '', tool_calls: ollamaToolCalls(reply) }));
  lines.push(ollamaLine(context, { content: '' }, reply));
  return lines;
}

/** A whole (`stream: false`) `/api/chat` answer. */
export function ollamaBody(reply: FakeReply, context: ReplyContext): unknown {
  return JSON.parse(ollamaLine(context, { content: reply.text, ...(reply.toolCalls.length > 0 ? { tool_calls: ollamaToolCalls(reply) } : {}) }, reply));
}
