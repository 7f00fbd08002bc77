// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests write literal ${VAR} references on purpose
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configSchema } from '../../config/schema.js';
import { mapOpenClawConfig, mapSecretValue } from './config-mapper.js';
import { mergeConfig } from './config-merge.js';
import { mapCronJob } from './cron-mapper.js';

test('a mapped OpenClaw config validates against Hearth\'s schema and keeps ${VAR} references', () => {
  const mapped = mapOpenClawConfig(
    {
      models: { providers: { local: { api: 'ollama', baseUrl: 'http://127.0.0.1:11434/v1', apiKey: { source: 'env', provider: 'default', id: 'OLLAMA_KEY' } } } },
      agents: { list: [{ id: 'main', model: { primary: 'local/qwen3', fallbacks: ['local/llama'] } }, { id: 'Bad Id' }] },
      channels: { discord: { token: '${DISCORD_TOKEN}', dmPolicy: 'allowlist', allowFrom: [42], groups: { '99': { requireMention: true } } } },
    },
    'openclaw.json',
  );
  assert.equal(configSchema().safeParse(mapped.config).success, true);
  assert.deepEqual(mapped.config.models, { providers: { local: { api: 'ollama', baseUrl: 'http://127.0.0.1:11434/v1', apiKey: '${OLLAMA_KEY}' } } });
  assert.deepEqual((mapped.config.channels as Record<string, unknown>).discord, { token: '${DISCORD_TOKEN}', dmPolicy: 'allowlist', allowFrom: [42], groups: ['99'] });
  assert.deepEqual(mapped.secrets, []);
  assert.ok(mapped.items.some((item) => item.status === 'skipped' && item.what === 'agent Bad Id' && item.source === 'openclaw.json#agents.list[1]'));
});

test('literal channel tokens go to the secrets list, not the config', () => {
  const mapped = mapOpenClawConfig({ channels: { slack: { botToken: 'xoxb-1', appToken: '${SLACK_APP}', accounts: { work: { botToken: 'xoxb-2' } } } } }, 'c');
  assert.deepEqual(mapped.config.channels, { slack: { appToken: '${SLACK_APP}', accounts: { work: {} } } });
  assert.deepEqual(mapped.secrets.map((secret) => [secret.accountId, secret.values]), [['default', { botToken: 'xoxb-1' }], ['work', { botToken: 'xoxb-2' }]]);
  assert.equal(mapSecretValue({ source: 'exec', id: 'x' }), null);
});

test('merging keeps existing values and reports conflicts; merging twice changes nothing', () => {
  const existing = { agents: { defaults: { model: 'a/b' } }, bindings: [{ agentId: 'x', match: { channel: 'irc' } }] };
  const imported = { agents: { defaults: { model: 'c/d' }, entries: { main: {} } }, bindings: [{ agentId: 'x', match: { channel: 'irc' } }, { agentId: 'y', match: { channel: 'irc' } }] };
  const first = mergeConfig(existing, imported);
  assert.deepEqual(first.conflicts, [{ path: 'agents.defaults.model', existing: 'a/b', imported: 'c/d' }]);
  assert.equal((first.merged.bindings as unknown[]).length, 2);
  assert.equal(first.changed, true);
  assert.equal(mergeConfig(first.merged, imported).changed, false);
});

test('cron jobs of both generations map; command payloads and on-exit schedules do not', () => {
  const legacy = mapCronJob({ id: 'n', name: 'N', enabled: false, schedule: { kind: 'cron', expr: '0 3 * * *' }, sessionTarget: 'main', payload: { kind: 'systemEvent', text: 'go' } }, 'UTC');
  assert.ok(legacy.ok);
  assert.deepEqual([legacy.id, legacy.enabled, legacy.spec.schedule, legacy.spec.session, legacy.spec.message], ['openclaw-n', false, { kind: 'cron', expr: '0 3 * * *', tz: 'UTC' }, 'main', 'go']);
  const delivered = mapCronJob({ id: 'd', schedule: { kind: 'every', everyMs: 60_000 }, payload: { kind: 'agentTurn', message: 'hi', model: 'a/b' }, delivery: { mode: 'announce', channel: 'telegram', to: '5' } }, 'UTC');
  assert.ok(delivered.ok);
  assert.deepEqual(delivered.spec.delivery, { kind: 'channel', channel: 'telegram', accountId: 'default', to: '5' });
  assert.equal(delivered.spec.model, 'a/b');
  const command = mapCronJob({ id: 'c', schedule: { kind: 'every', everyMs: 1 }, payload: { kind: 'command' } }, 'UTC');
  assert.equal(command.ok, false);
  const onExit = mapCronJob({ id: 'e', schedule: { kind: 'on-exit' }, payload: { kind: 'agentTurn', message: 'x' } }, 'UTC');
  assert.ok(!onExit.ok && /on-exit/u.test(onExit.reason));
});

test('heartbeats map; agent and heartbeat settings Hearth lacks are reported with their key path', () => {
  const mapped = mapOpenClawConfig({ agents: { defaults: { heartbeat: { every: '1h', target: 'owner', activeHours: { start: '08:00', end: '22:00' } }, sandbox: { mode: 'all' } } } }, 'c');
  assert.deepEqual(mapped.config.agents, { defaults: { heartbeat: { every: '1h', activeHours: { start: '08:00', end: '22:00' } } } });
  assert.equal(configSchema().safeParse(mapped.config).success, true);
  assert.deepEqual(
    mapped.items.filter((item) => item.status === 'skipped').map((item) => [item.status, item.source]),
    [
      ['skipped', 'c#agents.defaults.sandbox'],
      ['skipped', 'c#agents.defaults.heartbeat.target'],
    ],
  );
});

test('session.dmScope comes over, OpenClaw\'s default written out; other session settings are reported', () => {
  assert.deepEqual(mapOpenClawConfig({}, 'c').config.session, { dmScope: 'main' });
  const mapped = mapOpenClawConfig({ session: { dmScope: 'per-channel-peer', reset: { mode: 'daily' } } }, 'c');
  assert.deepEqual(mapped.config.session, { dmScope: 'per-channel-peer' });
  assert.ok(mapped.items.some((item) => item.status === 'skipped' && item.source === 'c#session.reset'));
});

test('tools.profile/allow/deny become agents.defaults.tools, per-agent tools the agent\'s own; exec\'s alias bash and the MCP tools in OpenClaw\'s group:plugins are covered', () => {
  const mapped = mapOpenClawConfig(
    {
      tools: { profile: 'coding', deny: ['bash', 'group:plugins', 'group:sessions', 'browser'], byProvider: { openai: { deny: ['exec'] } } },
      agents: {
        list: [
          { id: 'main', tools: { allow: ['group:fs', 'group:memory', 'web_fetch', 'group:ui'] } },
          { id: 'helper', tools: { profile: 'messaging', alsoAllow: ['web_fetch', 'group:plugins'] } },
          { id: 'odd', tools: { profile: 'constructor', alsoAllow: ['read'] } },
        ],
      },
    },
    'c',
  );
  assert.equal(configSchema().safeParse(mapped.config).success, true, JSON.stringify(configSchema().safeParse(mapped.config).error?.issues));
  const agents = mapped.config.agents as { defaults: { tools: unknown }; entries: Record<string, { tools?: unknown }> };
  // A denied bash is a denied exec; OpenClaw's plugins include MCP servers' tools.
  assert.deepEqual(agents.defaults.tools, { profile: 'coding', deny: ['exec', 'group:plugins', 'group:mcp', 'browser'] });
  assert.deepEqual(agents.entries.main?.tools, { allow: ['group:fs', 'group:memory', 'web_fetch'] });
  // alsoAllow adds to the profile: Hearth's allow is the profile's tools and those.
  assert.deepEqual(agents.entries.helper?.tools, { profile: 'messaging', allow: ['current_time', 'skill', 'group:memory', 'group:tasks', 'web_fetch', 'group:plugins', 'group:mcp'] });
  assert.equal(agents.entries.odd?.tools, undefined, 'an unknown profile is not written, and alsoAllow has nothing to add to');
  const skipped = mapped.items.filter((item) => item.status === 'skipped').map((item) => [item.what, item.source]);
  assert.deepEqual(skipped, [
    ['tool pattern group:sessions', 'c#tools.deny'],
    ['tool setting byProvider', 'c#tools.byProvider'],
    ['tool pattern group:ui', 'c#agents.list[0].tools.allow'],
    ['tool profile constructor', 'c#agents.list[2].tools.profile'],
    ['tool setting alsoAllow', 'c#agents.list[2].tools.alsoAllow'],
  ]);
});
