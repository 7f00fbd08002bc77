/**
 * Short, human-readable type text for a JSON Schema node (as `z.toJSONSchema` produces it), for
 * the generated references: `integer 1–100`, `URL`, `"a" | "b"`, `string[]`, `map of string`.
 */
export interface JsonSchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  format?: string;
  anyOf?: JsonSchemaNode[];
  oneOf?: JsonSchemaNode[];
  items?: JsonSchemaNode;
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  additionalProperties?: JsonSchemaNode | boolean;
  propertyNames?: JsonSchemaNode;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  /** The placeholder a record's keys are shown as in key paths, set with `.meta({ keyName })`. */
  keyName?: string;
}

const FORMATS: Record<string, string> = { uri: 'URL', ipv4: 'IPv4 address', ipv6: 'IPv6 address', email: 'email address' };

export function typeText(node: JsonSchemaNode): string {
  const choices = node.anyOf ?? node.oneOf;
  if (choices) return [...new Set(choices.map(typeText))].join(' | ');
  if (node.const !== undefined) return JSON.stringify(node.const);
  if (node.enum) return node.enum.map((value) => JSON.stringify(value)).join(' | ');
  const type = Array.isArray(node.type) ? node.type.join(' | ') : node.type;
  if (type === 'string') return node.format ? (FORMATS[node.format] ?? 'string') : 'string';
  if (type === 'integer' || type === 'number') return `${type}${rangeText(node)}`;
  if (type === 'array') return node.items ? `${wrapped(typeText(node.items))}[]` : 'array';
  if (type === 'object') {
    if (isRecord(node)) return `map of ${typeText(node.additionalProperties as JsonSchemaNode)}`;
    return 'object';
  }
  return type ?? 'any';
}

/** A record (`z.record`): an object whose keys are free and whose values share one schema. */
export function isRecord(node: JsonSchemaNode): boolean {
  return node.properties === undefined && typeof node.additionalProperties === 'object';
}

/** Bounds that matter to a person; the safe-integer bounds zod adds to every integer are left out. */
function rangeText(node: JsonSchemaNode): string {
  const safe = Number.MAX_SAFE_INTEGER;
  const min = node.minimum !== undefined && node.minimum > -safe ? node.minimum : undefined;
  const max = node.maximum !== undefined && node.maximum < safe ? node.maximum : undefined;
  if (min !== undefined && max !== undefined) return ` ${min}–${max}`;
  const parts: string[] = [];
  if (min !== undefined) parts.push(`≥ ${min}`);
  if (node.exclusiveMinimum !== undefined) parts.push(`> ${node.exclusiveMinimum}`);
  if (max !== undefined) parts.push(`≤ ${max}`);
  if (node.exclusiveMaximum !== undefined) parts.push(`< ${node.exclusiveMaximum}`);
  return parts.length > 0 ? ` ${parts.join(', ')}` : '';
}

function wrapped(text: string): string {
  return /[\s|]/u.test(text) ? `(${text})` : text;
}

/**
 * Escapes text for one Markdown table cell: `|` everywhere, and `<` outside code spans so that
 * placeholders like <agentId> are shown rather than taken for HTML.
 */
export function cell(text: string): string {
  return text
    .replace(/\n+/gu, ' ')
    .split('`')
    .map((part, index) => (index % 2 === 0 ? part.replace(/</gu, '\\<') : part))
    .join('`')
    .replace(/\|/gu, '\\|');
}
