import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { builtOnce } from '../config/lazy-schema.js';
import { isHearthError } from '../contracts/errors.js';
import type { ChatMessage, ToolCall } from '../contracts/messages.js';
import { isValidSessionKey } from '../routing/session-keys.js';
import type { TurnEvent, TurnOutcome } from '../sessions/turn-service.js';
import type { GatewayContext } from './gateway-context.js';
import { httpStatusFor, sendError, sendJson } from './http-errors.js';

const contentSchema = builtOnce(() => z.union([
  z.string(),
  z.null(),
  z.array(z.looseObject({ type: z.string(), text: z.string().optional() })),
]));

const messageSchema = builtOnce(() => z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: contentSchema().optional(),
  tool_calls: z
    .array(z.looseObject({ id: z.string(), function: z.looseObject({ name: z.string(), arguments: z.string() }) }))
    .optional(),
  tool_call_id: z.string().optional(),
  name: z.string().optional(),
}));

const requestSchema = builtOnce(() => z.looseObject({
  model: z.string().min(1),
  messages: z.array(messageSchema()).min(1),
  stream: z.boolean().optional(),
  user: z.string().min(1).max(256).optional(),
}));

type RequestMessage = z.infer<ReturnType<typeof messageSchema>>;

function textOf(content: RequestMessage['content']): string | { error: string } {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  const parts: string[] = [];
  for (const part of content) {
    if (part.type === 'text' || part.type === 'input_text') parts.push(part.text ?? '');
    else return { error: `Message parts of type "${part.type}" are not supported yet; send text parts only.` };
  }
  return parts.join('');
}

/** Converts OpenAI request messages into our context: system text plus chat messages. */
export function toContext(messages: RequestMessage[]): { system: string; messages: ChatMessage[] } | { error: string } {
  const system: string[] = [];
  const out: ChatMessage[] = [];
  const toolNames = new Map<string, string>();
  for (const [index, message] of messages.entries()) {
    const text = textOf(message.content);
    if (typeof text !== 'string') return { error: `messages[${index}]: ${text.error}` };
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(text);
        break;
      case 'user':
        out.push({ role: 'user', content: text });
        break;
      case 'assistant': {
        const toolCalls: ToolCall[] | undefined = message.tool_calls?.map((call) => {
          toolNames.set(call.id, call.function.name);
          return { id: call.id, name: call.function.name, arguments: call.function.arguments };
        });
        out.push(toolCalls && toolCalls.length > 0 ? { role: 'assistant', content: text, toolCalls } : { role: 'assistant', content: text });
        break;
      }
      case 'tool': {
        if (!message.tool_call_id) return { error: `messages[${index}]: a tool message needs tool_call_id.` };
        out.push({ role: 'tool', toolCallId: message.tool_call_id, name: toolNames.get(message.tool_call_id) ?? message.name ?? 'tool', content: text });
        break;
      }
    }
  }
  return { system: system.join('\n\n'), messages: out };
}

function hearthObject(outcome: TurnOutcome) {
  return { runId: outcome.runId, sessionKey: outcome.sessionKey, toolCalls: outcome.toolCalls };
}

function usageObject(outcome: TurnOutcome) {
  const prompt = outcome.usage?.inputTokens ?? 0;
  const completion = outcome.usage?.outputTokens ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** An OpenAI-style request reduced to what a turn needs. */
interface TurnRequest {
  model: string;
  messages: RequestMessage[];
  stream: boolean;
  user: string | undefined;
}

/** Renders one turn's answer in an endpoint's wire format: stream start, deltas and end, or the whole body. */
interface TurnWire {
  start(): string;
  delta(text: string): string;
  end(outcome: TurnOutcome): string;
  whole(outcome: TurnOutcome): unknown;
}

type WireFactory = (runId: string, model: string, created: number) => TurnWire;

function failureOf(outcome: TurnOutcome): { code: string; message: string } {
  return outcome.error ?? { code: 'TURN_FAILED', message: 'The turn failed.' };
}

/** Chat Completions: `chat.completion.chunk` SSE frames ending with `[DONE]`, or a `chat.completion`. */
const chatWire: WireFactory = (runId, model, created) => {
  const id = `chatcmpl-${runId.slice(4)}`;
  const chunk = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;
  return {
    start: () => chunk({ role: 'assistant', content: '' }, null),
    delta: (text) => chunk({ content: text }, null),
    end(outcome) {
      if (outcome.status === 'ok') return `${chunk({}, 'stop', { usage: usageObject(outcome), hearth: hearthObject(outcome) })}data: [DONE]\n\n`;
      const error = failureOf(outcome);
      return `data: ${JSON.stringify({ error: { message: error.message, type: 'server_error', code: error.code }, hearth: hearthObject(outcome) })}\n\ndata: [DONE]\n\n`;
    },
    whole: (outcome) => ({
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: outcome.reply }, finish_reason: 'stop' }],
      usage: usageObject(outcome),
      hearth: hearthObject(outcome),
    }),
  };
};

const responsesContentSchema = builtOnce(() => z.union([z.string(), z.array(z.looseObject({ type: z.string(), text: z.string().optional() }))]));

const responsesItemSchema = builtOnce(() => z.union([
  z.looseObject({ type: z.literal('message').optional(), role: z.enum(['system', 'developer', 'user', 'assistant']), content: responsesContentSchema() }),
  z.looseObject({ type: z.literal('function_call'), call_id: z.string(), name: z.string(), arguments: z.string() }),
  z.looseObject({ type: z.literal('function_call_output'), call_id: z.string(), output: z.union([z.string(), z.array(z.looseObject({ type: z.string(), text: z.string().optional() }))]) }),
]));

const responsesRequestSchema = builtOnce(() => z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(responsesItemSchema()).min(1)]),
  instructions: z.string().nullable().optional(),
  stream: z.boolean().nullable().optional(),
  user: z.string().min(1).max(256).optional(),
}));

/** Responses API input (a string or items) as Chat Completions messages, so both endpoints share one path. */
export function responsesInputToMessages(instructions: string | null | undefined, input: z.infer<ReturnType<typeof responsesRequestSchema>>['input']): RequestMessage[] | { error: string } {
  const messages: RequestMessage[] = instructions ? [{ role: 'system', content: instructions }] : [];
  if (typeof input === 'string') return [...messages, { role: 'user', content: input }];
  for (const item of input) {
    if (item.type === 'function_call') {
      const last = messages.at(-1);
      const call = { id: item.call_id, function: { name: item.name, arguments: item.arguments } };
      if (last?.role === 'assistant') last.tool_calls = [...(last.tool_calls ?? []), call];
      else messages.push({ role: 'assistant', content: '', tool_calls: [call] });
    } else if (item.type === 'function_call_output') {
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: typeof item.output === 'string' ? item.output : item.output.map((part) => part.text ?? '').join('') });
    } else {
      const content = typeof item.content === 'string' ? item.content : item.content.map((part) => (part.type === 'output_text' ? { ...part, type: 'text' } : part));
      messages.push({ role: item.role, content });
    }
  }
  return messages;
}

/** The Responses API: `response.*` SSE events (created … output_text.delta … completed), or a `response` object. */
const responsesWire: WireFactory = (runId, model, created) => {
  const id = `resp_${runId.slice(4)}`;
  const itemId = `msg_${runId.slice(4)}`;
  let sequence = 0;
  let text = '';
  const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...data })}\n\n`;
  const message = (status: string, content: unknown[]) => ({ id: itemId, type: 'message', status, role: 'assistant', content });
  const part = (value: string) => ({ type: 'output_text', text: value, annotations: [] });
  const response = (status: string, outcome?: TurnOutcome) => ({
    id,
    object: 'response',
    created_at: created,
    status,
    error: outcome && outcome.status !== 'ok' ? { code: failureOf(outcome).code, message: failureOf(outcome).message } : null,
    incomplete_details: null,
    model,
    output: outcome?.status === 'ok' ? [message('completed', [part(outcome.reply)])] : [],
    parallel_tool_calls: false,
    tool_choice: 'auto',
    tools: [],
    usage: outcome ? responsesUsage(outcome) : null,
    ...(outcome ? { hearth: hearthObject(outcome) } : {}),
  });
  return {
    start: () =>
      event('response.created', { response: response('in_progress') }) +
      event('response.in_progress', { response: response('in_progress') }) +
      event('response.output_item.added', { output_index: 0, item: message('in_progress', []) }) +
      event('response.content_part.added', { item_id: itemId, output_index: 0, content_index: 0, part: part('') }),
    delta(delta) {
      text += delta;
      return event('response.output_text.delta', { item_id: itemId, output_index: 0, content_index: 0, delta, logprobs: [] });
    },
    end(outcome) {
      if (outcome.status !== 'ok') return event('response.failed', { response: response('failed', outcome) });
      const final = outcome.reply || text;
      return (
        event('response.output_text.done', { item_id: itemId, output_index: 0, content_index: 0, text: final, logprobs: [] }) +
        event('response.content_part.done', { item_id: itemId, output_index: 0, content_index: 0, part: part(final) }) +
        event('response.output_item.done', { output_index: 0, item: message('completed', [part(final)]) }) +
        event('response.completed', { response: response('completed', outcome) })
      );
    },
    whole: (outcome) => response('completed', outcome),
  };
};

function responsesUsage(outcome: TurnOutcome) {
  const input = outcome.usage?.inputTokens ?? 0;
  const output = outcome.usage?.outputTokens ?? 0;
  return { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output };
}

/**
 * The OpenAI-compatible endpoints. Streaming requests listen for their run's events through one
 * shared subscription indexed by run id; entries leave the index when the run ends or the client
 * goes away.
 */
export function createOpenAIRoutes(context: GatewayContext) {
  const streams = new Map<string, (event: TurnEvent) => void>();
  const unsubscribe = context.turns.subscribe((event) => streams.get(event.runId)?.(event));

  function resolveAgent(model: string): string | null {
    const directory = context.agents();
    if (model === 'hearth' || model === 'hearth/default') return directory.defaultAgentId;
    if (model.startsWith('hearth/')) {
      const id = model.slice('hearth/'.length);
      return directory.get(id) ? id : null;
    }
    return null;
  }

  function models(_request: IncomingMessage, response: ServerResponse) {
    const created = Math.floor(context.startedAt / 1000);
    const directory = context.agents();
    const data = [
      { id: 'hearth', object: 'model', created, owned_by: 'hearth' },
      ...directory.list().map((agent) => ({ id: `hearth/${agent.id}`, object: 'model', created, owned_by: 'hearth' })),
    ];
    sendJson(response, 200, { object: 'list', data });
  }

  async function chatCompletions(request: IncomingMessage, response: ServerResponse, body: unknown) {
    const parsed = requestSchema().safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      sendError(response, 400, 'invalid_request', `Invalid request: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'malformed'}.`);
      return;
    }
    const input = parsed.data;
    await serveTurn(request, response, { model: input.model, messages: input.messages, stream: input.stream === true, user: input.user }, chatWire);
  }

  async function responses(request: IncomingMessage, response: ServerResponse, body: unknown) {
    const parsed = responsesRequestSchema().safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      sendError(response, 400, 'invalid_request', `Invalid request: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'malformed'}.`);
      return;
    }
    const input = parsed.data;
    const messages = responsesInputToMessages(input.instructions, input.input);
    if ('error' in messages) {
      sendError(response, 400, 'invalid_request', messages.error);
      return;
    }
    await serveTurn(request, response, { model: input.model, messages, stream: input.stream === true, user: input.user }, responsesWire);
  }

  /** One chat turn for an OpenAI-style request, whichever endpoint it came by: same auth, sessions, limits; `wire` renders the answer. */
  async function serveTurn(request: IncomingMessage, response: ServerResponse, input: TurnRequest, makeWire: WireFactory) {
    const agentId = resolveAgent(input.model);
    if (!agentId) {
      const known = ['hearth', ...context.agents().list().map((agent) => `hearth/${agent.id}`)];
      sendError(response, 404, 'model_not_found', `The model "${input.model}" does not exist. Use one of: ${known.join(', ')}.`);
      return;
    }
    const converted = toContext(input.messages);
    if ('error' in converted) {
      sendError(response, 400, 'invalid_request', converted.error);
      return;
    }
    const idempotencyHeader = request.headers['idempotency-key'];
    const idempotencyKey = typeof idempotencyHeader === 'string' && idempotencyHeader.length > 0 ? idempotencyHeader.slice(0, 200) : undefined;

    let sessionKey: string;
    let text: string;
    let stateless = false;
    if (input.user !== undefined) {
      sessionKey = `agent:${agentId}:openai:direct:${input.user}`;
      if (!isValidSessionKey(sessionKey)) {
        sendError(response, 400, 'invalid_request', 'The "user" field has characters that cannot be used in a session id.');
        return;
      }
      const last = converted.messages.at(-1);
      if (last?.role !== 'user') {
        sendError(response, 400, 'invalid_request', 'With "user" set, the last message must be the new user message.');
        return;
      }
      text = last.content;
    } else {
      stateless = true;
      sessionKey = `agent:${agentId}:openai:stateless`;
      const lastUser = [...converted.messages].reverse().find((message) => message.role === 'user');
      if (!lastUser) {
        sendError(response, 400, 'invalid_request', 'The messages need at least one user message.');
        return;
      }
      text = lastUser.content;
    }

    const runId = `run_${randomUUID()}`;
    const wire = makeWire(runId, input.model, Math.floor(Date.now() / 1000));

    let streaming = false;
    if (input.stream) {
      streams.set(runId, (event) => {
        if (event.type === 'started' && !streaming) {
          streaming = true;
          response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
          response.write(wire.start());
        } else if (event.type === 'delta' && streaming) {
          response.write(wire.delta(event.text));
        }
      });
    }
    const cleanup = () => streams.delete(runId);
    response.on('close', () => {
      cleanup();
      // A stateless request has nobody else to answer: stop spending tokens on it.
      if (stateless && !response.writableFinished) context.turns.abort(runId);
    });

    const finished = context.turns.awaitRun(runId);
    let accepted: Awaited<ReturnType<typeof context.turns.submit>>;
    try {
      accepted = await context.turns.submit({
        runId,
        sessionKey,
        agentId,
        source: 'openai',
        text,
        ...(stateless ? { context: { ...(converted.system ? { system: converted.system } : {}), messages: converted.messages } } : {}),
        replyTo: null,
        ...(idempotencyKey ? { idempotency: { scope: `openai:${input.user ?? ''}`, key: idempotencyKey } } : {}),
      });
    } catch (error) {
      cleanup();
      context.turns.forgetRun(runId);
      const code = isHearthError(error) ? error.code : 'INTERNAL';
      sendError(response, httpStatusFor(code), code, error instanceof Error ? error.message : String(error));
      return;
    }
    let outcome: TurnOutcome;
    if (accepted.runId === runId) {
      outcome = await finished;
    } else {
      // An earlier request with the same Idempotency-Key owns the run.
      context.turns.forgetRun(runId);
      outcome = await context.turns.waitFor(accepted.runId);
    }
    cleanup();
    if (response.destroyed) return;

    if (input.stream) {
      if (!streaming) {
        streaming = true;
        response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
        response.write(wire.start());
        if (outcome.reply) response.write(wire.delta(outcome.reply));
      }
      response.end(wire.end(outcome));
      return;
    }
    if (outcome.status !== 'ok') {
      const error = outcome.error ?? { code: 'TURN_FAILED', message: 'The turn failed.' };
      sendError(response, httpStatusFor(error.code), error.code, error.message, { body: { hearth: hearthObject(outcome) } });
      return;
    }
    sendJson(response, 200, wire.whole(outcome));
  }

  return {
    models,
    chatCompletions,
    responses,
    close() {
      unsubscribe();
      streams.clear();
    },
  };
}
