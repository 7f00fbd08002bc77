import type { McpCallResult, McpToolInfo } from './mcp-types.js';

/** Characters of a tool result passed on at most; the rest is cut with a mark. */
export const MAX_RESULT_CHARS = 100_000;

/** Tool names must fit `<server>__<tool>` in a provider's function name. */
export const TOOL_NAME_PATTERN = /^[A-Za-z0-9_-]{1,48}$/u;

/** The parts of a `tools/call` result read here (the SDK's CallToolResult, seen loosely). */
export interface RawCallResult {
  content?: readonly unknown[];
  structuredContent?: unknown;
  isError?: boolean;
}

/**
 * A tool result as text: the `text` items joined by newlines, other items summarised
 * (`[image image/png, 1234 bytes]`, `[resource file:///a]` followed by its text if it has some),
 * `structuredContent` as JSON when there is no content, cut at MAX_RESULT_CHARS.
 */
export function formatCallResult(result: RawCallResult): McpCallResult {
  const parts = (result.content ?? []).map(describeItem);
  if (parts.length === 0 && result.structuredContent !== undefined) parts.push(JSON.stringify(result.structuredContent));
  return { content: capText(parts.join('\n')), isError: result.isError === true };
}

function describeItem(item: unknown): string {
  if (typeof item !== 'object' || item === null) return '[unreadable content item]';
  const fields = item as Record<string, unknown>;
  const type = String(fields['type']);
  if (type === 'text') return String(fields['text'] ?? '');
  if (type === 'image' || type === 'audio') return `[${type} ${String(fields['mimeType'] ?? '')}, ${base64Bytes(fields['data'])} bytes]`;
  if (type === 'resource_link') return `[resource link ${String(fields['uri'] ?? '')}]`;
  if (type === 'resource') {
    const resource = (fields['resource'] ?? {}) as Record<string, unknown>;
    const head = `[resource ${String(resource['uri'] ?? '')}]`;
    return typeof resource['text'] === 'string' ? `${head}\n${resource['text']}` : head;
  }
  return `[${type} content]`;
}

function base64Bytes(data: unknown): number {
  if (typeof data !== 'string') return 0;
  const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((data.length * 3) / 4) - padding);
}

/** `text` cut to MAX_RESULT_CHARS, with a line saying how much was cut. */
export function capText(text: string): string {
  if (text.length <= MAX_RESULT_CHARS) return text;
  return `${text.slice(0, MAX_RESULT_CHARS)}\n[… cut: ${text.length - MAX_RESULT_CHARS} more characters not shown …]`;
}

/** The listed tools Hearth can offer: valid, unique names; `refuse` hears about each one skipped and why. */
export function acceptTools(listed: readonly { name: string; description?: string; inputSchema: object }[], refuse: (name: string, reason: string) => void): McpToolInfo[] {
  const accepted: McpToolInfo[] = [];
  const seen = new Set<string>();
  for (const tool of listed) {
    if (!TOOL_NAME_PATTERN.test(tool.name)) refuse(tool.name, 'its name must match /^[A-Za-z0-9_-]{1,48}$/');
    else if (seen.has(tool.name)) refuse(tool.name, 'the server listed it twice');
    else {
      seen.add(tool.name);
      accepted.push({ name: tool.name, description: tool.description ?? '', inputSchema: { ...tool.inputSchema } });
    }
  }
  return accepted;
}
