import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { isHearthError } from '../contracts/errors.js';
import type { ChatMessage, ToolCall } from '../contracts/messages.js';
import { isValidSessionKey } from '../routing/session-keys.js';
import type { TurnEvent, TurnOutcome } from '../sessions/turn-service.js';
import type { GatewayContext } from './gateway-context.js';
import { httpStatusFor, sendError, sendJson } from './http-errors.js';

const contentSchema = z.union([
  z.string(),
  z.null(),
  z.array(z.looseObject({ type: z.string(), text: z.string().optional() })),
]);

const messageSchema = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: contentSchema.optional(),
  tool_calls: z
    .array(z.looseObject({ id: z.string(), function: z.looseObject({ name: z.string(), arguments: z.string() }) }))
    .optional(),
  tool_call_id: z.string().optional(),
  name: z.string().optional(),
});

const requestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(messageSchema).min(1),
  stream: z.boolean().optional(),
  user: z.string().min(1).max(256).optional(),
});

type RequestMessage = z.infer<typeof messageSchema>;

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
    const parsed = requestSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      sendError(response, 400, 'invalid_request', `Invalid request: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'malformed'}.`);
      return;
    }
    const input = parsed.data;
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
    const created = Math.floor(Date.now() / 1000);
    const id = `chatcmpl-${runId.slice(4)}`;
    const chunk = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: input.model, choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;

    let streaming = false;
    if (input.stream) {
      streams.set(runId, (event) => {
        if (event.type === 'started' && !streaming) {
          streaming = true;
          response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
          response.write(chunk({ role: 'assistant', content: '' }, null));
        } else if (event.type === 'delta' && streaming) {
          response.write(chunk({ content: event.text }, null));
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
        response.write(chunk({ role: 'assistant', content: '' }, null));
        if (outcome.reply) response.write(chunk({ content: outcome.reply }, null));
      }
      if (outcome.status === 'ok') {
        response.write(chunk({}, 'stop', { usage: usageObject(outcome), hearth: hearthObject(outcome) }));
      } else {
        const error = outcome.error ?? { code: 'TURN_FAILED', message: 'The turn failed.' };
        response.write(`data: ${JSON.stringify({ error: { message: error.message, type: 'server_error', code: error.code }, hearth: hearthObject(outcome) })}\n\n`);
      }
      response.end('data: [DONE]\n\n');
      return;
    }
    if (outcome.status !== 'ok') {
      const error = outcome.error ?? { code: 'TURN_FAILED', message: 'The turn failed.' };
      sendError(response, httpStatusFor(error.code), error.code, error.message, { body: { hearth: hearthObject(outcome) } });
      return;
    }
    sendJson(response, 200, {
      id,
      object: 'chat.completion',
      created,
      model: input.model,
      choices: [{ index: 0, message: { role: 'assistant', content: outcome.reply }, finish_reason: 'stop' }],
      usage: usageObject(outcome),
      hearth: hearthObject(outcome),
    });
  }

  return {
    models,
    chatCompletions,
    close() {
      unsubscribe();
      streams.clear();
    },
  };
}
