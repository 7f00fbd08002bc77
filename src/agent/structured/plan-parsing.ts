import { type StructuredPlan, structuredPlanSchema } from '../../contracts/structured-plan.js';
import { describeIssues, extractJson } from './plan-shapes.js';

/** A plan read from the model's reply, or why it is not one. */
export type ParsedPlan = { ok: true; plan: StructuredPlan } | { ok: false; reason: string };

/**
 * Reads the plan from the model's reply: JSON matching the plan schema, every step's tools among
 * those the agent may use.
 */
export function parsePlan(reply: string, availableTools: readonly string[]): ParsedPlan {
  const json = extractJson(reply);
  if (json === undefined) return { ok: false, reason: 'the reply holds no JSON plan' };
  const checked = structuredPlanSchema.safeParse(json);
  if (!checked.success) return { ok: false, reason: describeIssues(checked.error.issues) };
  const known = new Set(availableTools);
  for (const step of checked.data.steps) {
    const unknown = step.tools.filter((tool) => !known.has(tool));
    if (unknown.length > 0) return { ok: false, reason: `step "${step.id}" names tools the agent does not have: ${unknown.join(', ')} (available: ${availableTools.join(', ') || 'none'})` };
  }
  return { ok: true, plan: checked.data };
}

/** What the planning call is told, after the agent's own system prompt. */
export function planningInstructions(availableTools: readonly string[]): string {
  return [
    'Before doing anything, make a plan. Reply with only a JSON object, no other text:',
    '{"steps":[{"id":"short-id","goal":"what the step does","tools":["tool names the step may call"],"preconditions":["what must hold first"],"expect":<shape>,"rollback":"how to undo it"}]}',
    'A <shape> describes the step\'s output: {"type":"string"} (optionally "minLength", "pattern"), {"type":"number"}, {"type":"boolean"}, {"type":"array","items":<shape>}, or {"type":"object","properties":{"name":<shape>},"required":["name"]}.',
    `Use at most 20 steps. Tools available: ${availableTools.join(', ') || 'none'}.`,
  ].join('\n');
}
