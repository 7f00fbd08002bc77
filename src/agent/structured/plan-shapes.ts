import { z } from 'zod';
import type { ExpectedShape } from '../../contracts/structured-plan.js';

/** The zod schema a step's output is verified with, built from the shape the plan declared. */
export function shapeToZod(shape: ExpectedShape): z.ZodType {
  switch (shape.type) {
    case 'string': {
      let schema = z.string();
      if (shape.minLength !== undefined) schema = schema.min(shape.minLength);
      if (shape.pattern !== undefined) schema = schema.regex(safeRegExp(shape.pattern));
      return schema;
    }
    case 'number':
      return z.number();
    case 'boolean':
      return z.boolean();
    case 'array': {
      const schema = z.array(shape.items ? shapeToZod(shape.items) : z.unknown());
      return shape.minItems !== undefined ? schema.min(shape.minItems) : schema;
    }
    case 'object': {
      const required = new Set(shape.required ?? []);
      const fields: Record<string, z.ZodType> = {};
      for (const [key, inner] of Object.entries(shape.properties ?? {})) fields[key] = required.has(key) ? shapeToZod(inner) : shapeToZod(inner).optional();
      for (const key of required) fields[key] ??= z.unknown().refine((value) => value !== undefined, { message: 'required' });
      return z.looseObject(fields);
    }
  }
}

/** A pattern from a plan; one that does not compile matches nothing rather than throwing. */
function safeRegExp(pattern: string): RegExp {
  try {
    return new RegExp(pattern, 'u');
  } catch {
    return /(?!)/u;
  }
}

/** The shape in a few words, for the step's prompt and for `hearth runs show`. */
export function describeShape(shape: ExpectedShape): string {
  switch (shape.type) {
    case 'string':
      return `text${shape.minLength ? ` of at least ${shape.minLength} characters` : ''}${shape.pattern ? ` matching /${shape.pattern}/` : ''}`;
    case 'number':
    case 'boolean':
      return shape.type;
    case 'array':
      return `a JSON array${shape.items ? ` of ${describeShape(shape.items)}` : ''}${shape.minItems ? ` (at least ${shape.minItems})` : ''}`;
    case 'object': {
      const required = new Set(shape.required ?? []);
      const keys = new Set([...Object.keys(shape.properties ?? {}), ...required]);
      const fields = [...keys].map((key) => `${key}${required.has(key) ? '' : '?'}: ${shape.properties?.[key] ? describeShape(shape.properties[key]) : 'any'}`);
      return `a JSON object {${fields.join(', ')}}`;
    }
  }
}

/**
 * The JSON a model's text holds: the whole text, or inside a ``` fence, or from its first `{`/`[`
 * to the matching last `}`/`]`. Undefined when there is none.
 */
export function extractJson(text: string): unknown {
  const trimmed = text.trim();
  const candidates = [trimmed];
  const fenced = /```(?:json)?\s*([\s\S]*?)```/u.exec(trimmed);
  if (fenced) candidates.push(fenced[1]!.trim());
  for (const [open, close] of [
    ['{', '}'],
    ['[', ']'],
  ] as const) {
    const start = trimmed.indexOf(open);
    const end = trimmed.lastIndexOf(close);
    if (start >= 0 && end > start) candidates.push(trimmed.slice(start, end + 1));
  }
  for (const candidate of candidates) {
    try {
      return JSON.parse(candidate);
    } catch {
      // try the next reading
    }
  }
  return undefined;
}

/** The result of checking a step's reply against its expected shape. */
export type Verification = { ok: true; output: unknown } | { ok: false; reason: string };

/** Checks a step's reply: text for a string shape, JSON for the others. */
export function verifyStepOutput(shape: ExpectedShape, reply: string): Verification {
  const value = shape.type === 'string' ? reply.trim() : extractJson(reply);
  if (value === undefined) return { ok: false, reason: `the output is not JSON (expected ${describeShape(shape)})` };
  const checked = shapeToZod(shape).safeParse(value);
  if (checked.success) return { ok: true, output: checked.data };
  return { ok: false, reason: describeIssues(checked.error.issues) };
}

/** Zod issues as one line: `path: message; …` (at most five). */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(output)'}: ${issue.message}`)
    .join('; ');
}
