import { z } from 'zod';
import type { RpcMethod } from '../gateway/rpc/rpc-types.js';
import { cell, type JsonSchemaNode, typeText } from './schema-text.js';

/** The WS RPC method table in Markdown, sorted by method name: what each does, its params and its answer. */
export function renderRpcReference(methods: Readonly<Record<string, RpcMethod>>): { text: string; undocumented: string[] } {
  const undocumented: string[] = [];
  const lines = ['| method | what it does | params | result |', '|---|---|---|---|'];
  for (const name of Object.keys(methods).sort()) {
    const method = methods[name] as RpcMethod;
    if (!method.description.trim() || !method.returns.trim()) undocumented.push(name);
    lines.push(`| \`${name}\` | ${cell(method.description)} | ${cell(paramsText(method.params))} | ${cell(codeText(method.returns))} |`);
  }
  return { text: lines.join('\n'), undocumented };
}

/** `{name: type, name?: type}` for an object schema; `—` when the method takes no params. */
export function paramsText(schema: z.ZodType): string {
  const node = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode;
  const object = node.anyOf?.find((choice) => choice.type === 'object') ?? node;
  const fields = Object.entries(object.properties ?? {});
  if (fields.length === 0) return '—';
  const required = new Set(object.required ?? []);
  return `\`{${fields.map(([key, field]) => `${key}${required.has(key) ? '' : '?'}: ${typeText(field)}`).join(', ')}}\``;
}

/** Puts a result shape in a code span, leaving words like "report" or notes in parentheses as prose. */
function codeText(returns: string): string {
  const match = /^(\{.*\})(.*)$/u.exec(returns);
  return match ? `\`${match[1]}\`${match[2]}` : returns;
}
