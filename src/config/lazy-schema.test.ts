import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { builtOnce, computeSectionDefaults, lazySection } from './lazy-schema.js';
import { configSchema } from './schema.js';
import { SECTION_DEFAULTS } from './section-defaults.js';

test('a config that leaves a section out gets the defaults the section\'s schema gives', () => {
  const computed = computeSectionDefaults(configSchema());
  assert.equal(Object.keys(computed).length, 19, 'every section but $schema and backups is built lazily');
  const parsed = configSchema().parse({}) as Record<string, unknown>;
  for (const [name, value] of Object.entries(computed)) assert.deepEqual(parsed[name], value, name);
  assert.deepEqual(SECTION_DEFAULTS, computed, 'src/config/section-defaults.ts is out of date: run npm run docs');
});

test('each config gets its own copy of a default section: changing one leaves the next alone', () => {
  const first = configSchema().parse({});
  first.gateway.allowedOrigins.push('https://changed.example');
  first.retention.runsDays = 1;
  const second = configSchema().parse({});
  assert.deepEqual(second.gateway.allowedOrigins, []);
  assert.equal(second.retention.runsDays, 90);
});

test('a section is built only when a config has it, and once', () => {
  let builds = 0;
  // `logging` has a generated default ({ level: 'info' }), which a config without it takes.
  const schema = z.strictObject({
    logging: lazySection('logging', () => {
      builds++;
      return z.strictObject({ level: z.string().default('info') });
    }),
  });
  assert.deepEqual(schema.parse({}), { logging: { level: 'info' } });
  assert.equal(builds, 0, 'left out: the generated default, and no schema built');
  assert.deepEqual(schema.parse({ logging: { level: 'warn' } }), { logging: { level: 'warn' } });
  assert.deepEqual(schema.parse({ logging: {} }), { logging: { level: 'info' } });
  assert.equal(builds, 1);
  const problem = schema.safeParse({ logging: { level: 3 } });
  assert.equal(problem.success, false);
  assert.deepEqual(problem.error?.issues[0]?.path, ['logging', 'level']);
});

test('a section section-defaults.ts does not have yet is built for its default', () => {
  let builds = 0;
  const schema = z.strictObject({
    added: lazySection('added', () => {
      builds++;
      return z.strictObject({ size: z.number().default(1) });
    }),
    list: lazySection('list', () => z.array(z.string())),
  });
  assert.deepEqual(schema.parse({}), { added: { size: 1 }, list: [] });
  assert.equal(builds, 1);
});

test('an unknown key inside a section that was built lazily is still named', () => {
  const result = configSchema().safeParse({ retention: { runDays: 3 } });
  assert.equal(result.success, false);
  assert.deepEqual(result.error?.issues[0]?.path, ['retention']);
  assert.match(result.error?.issues[0]?.message ?? '', /runDays/u);
});

test('builtOnce builds on the first call and hands back the same thing after', () => {
  let builds = 0;
  const value = builtOnce(() => ({ built: ++builds }));
  assert.equal(builds, 0);
  assert.equal(value(), value());
  assert.equal(builds, 1);
});
