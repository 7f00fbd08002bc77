import assert from 'node:assert/strict';
import type { FakeModelServer, RecordedRequest } from './fake-model-server.js';
import type { TestGateway } from './gateway-harness.js';

/** A tool call as the HTTP API's `hearth.toolCalls` shows it. */
export interface ToolCallShown {
  name: string;
  result: string;
  error?: string;
  outcome?: string;
  refusedBy?: string;
  approval?: { id: string; decision: string; by: string | null };
  capabilityDenied?: { skill: string; needs: string };
}

export interface ModelRequestBody {
  messages: { role: string; content: string }[];
  tools?: { function: { name: string } }[];
}

export interface ChatTurn {
  /** The reply text. */
  reply: string;
  toolCalls: ToolCallShown[];
  /** The bodies of the model requests the turn made, in order. */
  requests: ModelRequestBody[];
  /** The tool names the first model request offered. */
  offered: string[];
  /** The last tool result the model saw (what came back from the tools). */
  seen: string;
}

/**
 * One turn through `/v1/chat/completions` (agent `agent`, user `ada`), with whatever the test
 * scripted into the fake model: the reply, the tool calls' records and what the model was sent.
 */
export async function chatTurn(gateway: TestGateway, model: FakeModelServer, text: string, agent = 'hearth'): Promise<ChatTurn> {
  const mark = model.requests.length;
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: agent, user: 'ada', messages: [{ role: 'user', content: text }] }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  const body = (await response.json()) as { choices: { message: { content: string } }[]; hearth: { toolCalls: ToolCallShown[] } };
  const requests = model.requests
    .slice(mark)
    .filter((request: RecordedRequest) => request.path === '/v1/chat/completions')
    .map((request) => request.body as ModelRequestBody);
  const lastTool = requests.flatMap((request) => request.messages).findLast((message) => message.role === 'tool');
  return {
    reply: body.choices[0]?.message.content ?? '',
    toolCalls: body.hearth.toolCalls,
    requests,
    offered: (requests[0]?.tools ?? []).map((tool) => tool.function.name),
    seen: lastTool?.content ?? '',
  };
}
