import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePlan } from './plan-parsing.js';
import { describeShape, extractJson, verifyStepOutput } from './plan-shapes.js';

const step = (extra: Record<string, unknown> = {}) => ({ id: 'one', goal: 'do one thing', expect: { type: 'string' }, ...extra });

test('a plan is read from bare JSON, a fenced block, or JSON inside prose; defaults fill tools and preconditions', () => {
  const plan = { steps: [step({ tools: ['exec'] })] };
  for (const reply of [JSON.stringify(plan), `\`\`\`json\n${JSON.stringify(plan)}\n\`\`\``, `Here is the plan: ${JSON.stringify(plan)} — shall I go on?`]) {
    const parsed = parsePlan(reply, ['exec', 'read']);
    assert.ok(parsed.ok, reply);
    assert.deepEqual(parsed.plan.steps[0], { id: 'one', goal: 'do one thing', tools: ['exec'], preconditions: [], expect: { type: 'string' } });
  }
});

test('an invalid plan says what is wrong: no JSON, no steps, duplicate ids, a bad shape, a tool the agent lacks', () => {
  const reason = (reply: string) => {
    const parsed = parsePlan(reply, ['read']);
    assert.equal(parsed.ok, false, reply);
    return parsed.ok ? '' : parsed.reason;
  };
  assert.match(reason('I will just do it.'), /no JSON plan/u);
  assert.match(reason('{"steps":[]}'), /steps/u);
  assert.match(reason(JSON.stringify({ steps: [step(), step()] })), /unique/u);
  assert.match(reason(JSON.stringify({ steps: [step({ expect: { type: 'date' } })] })), /expect/u);
  assert.match(reason(JSON.stringify({ steps: [step({ tools: ['exec'] })] })), /step "one" names tools the agent does not have: exec \(available: read\)/u);
});

test('verification: text for a string shape, JSON for the others, with the failing path named', () => {
  assert.deepEqual(verifyStepOutput({ type: 'string', minLength: 2 }, '  ok then '), { ok: true, output: 'ok then' });
  assert.equal(verifyStepOutput({ type: 'string', pattern: '^\\d+$' }, 'twelve').ok, false);
  const shape = { type: 'object' as const, properties: { count: { type: 'number' as const }, names: { type: 'array' as const, items: { type: 'string' as const } } }, required: ['count'] };
  assert.deepEqual(verifyStepOutput(shape, 'Result: {"count": 2, "names": ["a", "b"], "extra": true}'), { ok: true, output: { count: 2, names: ['a', 'b'], extra: true } });
  const missing = verifyStepOutput(shape, '{"names": []}');
  assert.equal(missing.ok, false);
  assert.match(missing.ok ? '' : missing.reason, /^count: /u);
  const wrongType = verifyStepOutput(shape, '{"count": "two"}');
  assert.match(wrongType.ok ? '' : wrongType.reason, /^count: .*number/u);
  const notJson = verifyStepOutput(shape, 'I filed them all.');
  assert.deepEqual(notJson, { ok: false, reason: 'the output is not JSON (expected a JSON object {count: number, names?: a JSON array of text})' });
  assert.equal(verifyStepOutput({ type: 'array', minItems: 1 }, '[]').ok, false);
  assert.equal(verifyStepOutput({ type: 'boolean' }, 'true').ok, true);
  assert.equal(extractJson('nothing here'), undefined);
  assert.equal(describeShape({ type: 'number' }), 'number');
});
