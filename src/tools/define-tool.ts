import type { z } from 'zod';
import type { ToolSpec } from '../contracts/model-provider.js';
import type { Tool, ToolContext, ToolResult } from '../contracts/tool.js';

/** What `defineTool` needs to build a `Tool`. */
export interface ToolDefinition<Arguments> {
  spec: ToolSpec;
  sideEffects: boolean;
  /** Validates the arguments; its issues are turned into an `isError` result naming the field. */
  schema: z.ZodType<Arguments>;
  /** One line shown after argument errors, e.g. `read {path: string, offset?: integer}`. */
  usage: string;
  /** Runs with validated arguments. May throw; anything thrown becomes an `isError` result. */
  run(args: Arguments, context: ToolContext): Promise<ToolResult>;
}

/**
 * Builds a `Tool` whose `execute` never throws: arguments (an object, or the model's raw JSON
 * text) are validated first, an aborted signal short-circuits, and anything `run` throws is
 * returned as an `isError` result with its code.
 */
export function defineTool<Arguments>(definition: ToolDefinition<Arguments>): Tool {
  const { spec, sideEffects, schema, usage, run } = definition;
  return {
    spec,
    sideEffects,
    async execute(args: unknown, context: ToolContext): Promise<ToolResult> {
      if (context.signal.aborted) return errorResult(`The \`${spec.name}\` call was aborted before it ran.`);
      const input = normaliseArguments(args);
      if (!input.ok) return errorResult(`${input.message}\nUsage: ${usage}`);
      const parsed = schema.safeParse(input.value);
      if (!parsed.success) {
        const lines = parsed.error.issues.map(describeIssue);
        return errorResult(`Invalid arguments for \`${spec.name}\`:\n${lines.join('\n')}\nUsage: ${usage}`);
      }
      try {
        return await run(parsed.data, context);
      } catch (error) {
        return errorResult(describeThrown(spec.name, error));
      }
    },
  };
}

/** An `isError` result with a message for the model. */
export function errorResult(message: string): ToolResult {
  return { content: message, isError: true };
}

/** The `code` of a Node.js system error, if it has one. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}

type Normalised = { ok: true; value: unknown } | { ok: false; message: string };

/** Models send JSON text and sometimes nothing at all for a tool without required arguments. */
function normaliseArguments(args: unknown): Normalised {
  if (args === undefined || args === null) return { ok: true, value: {} };
  if (typeof args !== 'string') return { ok: true, value: args };
  if (args.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(args) as unknown };
  } catch {
    return { ok: false, message: 'The arguments are not valid JSON. Send one JSON object.' };
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((key) => JSON.stringify(key)).join(', ');
    return `- unexpected field${issue.keys.length > 1 ? 's' : ''} ${keys}: remove ${issue.keys.length > 1 ? 'them' : 'it'}`;
  }
  const field = issue.path.length === 0 ? '(arguments)' : issue.path.map(String).join('.');
  if (issue.code === 'invalid_type' && issue.path.length > 0 && issue.message.endsWith('received undefined')) {
    return `- ${field}: missing (a required ${issue.expected})`;
  }
  return `- ${field}: ${issue.message}`;
}

function describeThrown(toolName: string, error: unknown): string {
  if (error instanceof Error && error.name === 'AbortError') return `The \`${toolName}\` call was aborted.`;
  const message = error instanceof Error ? error.message : String(error);
  const code = errorCode(error);
  return `\`${toolName}\` failed: ${message}${code === undefined ? '' : ` (${code})`}`;
}
