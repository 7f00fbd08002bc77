// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests write literal ${VAR} references on purpose
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type ConfigIssue, type ConfigLoadResult, formatConfigIssues, loadConfigFile, parseConfigText } from './load-config.js';

const dir = mkdtempSync(join(tmpdir(), 'hearth-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function expectIssues(result: ConfigLoadResult): ConfigIssue[] {
  assert.equal(result.ok, false, 'expected the config to be rejected');
  return result.ok ? [] : result.issues;
}

function expectConfig(result: ConfigLoadResult) {
  if (!result.ok) assert.fail(`expected a valid config, got:\n${formatConfigIssues(result.issues)}`);
  return result;
}

describe('loadConfigFile', () => {
  it('returns the defaults when the file does not exist', () => {
    const result = expectConfig(loadConfigFile(join(dir, 'missing.json5'), {}));
    assert.equal(result.source, 'defaults');
    assert.equal(result.config.gateway.port, 18789);
    assert.equal(result.config.gateway.bind, 'loopback');
    assert.equal(result.config.agents.defaults.maxConcurrent, 8);
    assert.equal(result.config.session.dmScope, 'per-channel-peer');
    assert.match(result.hash, /^[0-9a-f]{64}$/);
    assert.equal(expectConfig(loadConfigFile(join(dir, 'other-missing.json5'), {})).hash, result.hash);
  });

  it('reads a JSON5 file with comments, unquoted keys and trailing commas', () => {
    const file = join(dir, 'valid.json5');
    writeFileSync(
      file,
      `// Hearth config
{
  /* the control plane */
  gateway: { port: 19000, bind: 'lan', },
  models: {
    providers: {
      local: { api: "openai-chat", baseUrl: "http://127.0.0.1:11434/v1", },
    },
  },
  agents: {
    defaults: { model: "local/qwen3:8b", fallbacks: ["local/llama3",], },
    entries: { main: { default: true }, "work-bot": { model: 'local/other' } },
  },
  session: { dmScope: "per-peer" },
}
`,
    );
    const result = expectConfig(loadConfigFile(file, {}));
    assert.equal(result.source, 'file');
    assert.equal(result.config.gateway.port, 19000);
    assert.equal(result.config.gateway.bind, 'lan');
    assert.equal(result.config.agents.defaults.model, 'local/qwen3:8b');
    assert.deepEqual(result.config.agents.defaults.fallbacks, ['local/llama3']);
    assert.equal(result.config.agents.defaults.maxConcurrent, 8);
    assert.equal(result.config.agents.entries['work-bot']?.model, 'local/other');
    assert.equal(result.config.session.dmScope, 'per-peer');
  });

  it('returns a deeply frozen config', () => {
    const result = expectConfig(parseConfigText('{ gateway: { port: 1234 } }', 'hearth.json5', {}));
    assert.ok(Object.isFrozen(result.config));
    assert.ok(Object.isFrozen(result.config.gateway));
    assert.ok(Object.isFrozen(result.config.gateway.auth));
    assert.ok(Object.isFrozen(result.config.agents.defaults.fallbacks));
    assert.throws(() => {
      (result.config.gateway as { port: number }).port = 1;
    }, TypeError);
    // Freezing one snapshot must not freeze the next one's defaults (zod shares default objects).
    const defaults = expectConfig(loadConfigFile(join(dir, 'missing.json5'), {}));
    assert.notEqual(defaults.config.gateway.auth, result.config.gateway.auth);
  });

  it('treats a file with only comments and whitespace as an empty config', () => {
    const result = expectConfig(parseConfigText('// nothing here yet\n/* later */\n', 'hearth.json5', {}));
    assert.equal(result.source, 'file');
    assert.equal(result.config.gateway.port, 18789);
  });

  it('hashes the substituted text: same text and env, same hash; different value, different hash', () => {
    const text = '{ gateway: { auth: { token: "${TOKEN}" } } }';
    const a = expectConfig(parseConfigText(text, 'hearth.json5', { TOKEN: 'first-token' }));
    const b = expectConfig(parseConfigText(text, 'hearth.json5', { TOKEN: 'first-token' }));
    const c = expectConfig(parseConfigText(text, 'hearth.json5', { TOKEN: 'second-token' }));
    assert.equal(a.hash, b.hash);
    assert.notEqual(a.hash, c.hash);
  });

  it('reports a syntax error with file, line and column', () => {
    const issues = expectIssues(parseConfigText('{\n  gateway: {\n    port: 18789\n    bind: "lan",\n  },\n}\n', '/home/u/.hearth/hearth.json5', {}));
    assert.equal(issues.length, 1);
    const [issue] = issues;
    assert.equal(issue?.file, '/home/u/.hearth/hearth.json5');
    assert.equal(issue?.line, 4);
    assert.equal(issue?.column, 5);
    assert.match(issue?.message ?? '', /^syntax error: invalid character 'b'$/);
  });

  it('names an unknown key, its line and column, and the key it probably meant', () => {
    const text = `// Hearth config
{
  gateway: {
    port: 18789,
  },
  agents: {
    defaults: {
      modle: "local/qwen3:8b",
    },
  },
}
`;
    const issues = expectIssues(parseConfigText(text, 'hearth.json5', {}));
    assert.deepEqual(issues, [
      { file: 'hearth.json5', line: 8, column: 7, path: 'agents.defaults.modle', message: 'unknown key', suggestion: 'did you mean "model"?' },
    ]);
    const text2 = formatConfigIssues(issues);
    assert.match(text2, /^hearth\.json5:8:7 agents\.defaults\.modle: unknown key — did you mean "model"\?$/m);
    assert.match(text2, /hearth config validate/);
  });

  it('reports each unknown key separately, including quoted keys and case slips', () => {
    const text = '{\n  "gatway": {},\n  session: { DmScope: "main" },\n  zzzzzz: 1,\n}';
    const issues = expectIssues(parseConfigText(text, 'hearth.json5', {}));
    assert.deepEqual(
      issues.map(({ path, line, column, suggestion }) => ({ path, line, column, suggestion })),
      [
        { path: 'gatway', line: 2, column: 3, suggestion: 'did you mean "gateway"?' },
        { path: 'session.DmScope', line: 3, column: 14, suggestion: 'did you mean "dmScope"?' },
        { path: 'zzzzzz', line: 4, column: 3, suggestion: undefined },
      ],
    );
  });

  it('suggests keys inside records (a provider entry) from the record value schema', () => {
    const text = '{ models: { providers: { local: { api: "ollama", baseURL: "http://127.0.0.1:11434" } } } }';
    const [issue] = expectIssues(parseConfigText(text, 'hearth.json5', {}));
    assert.equal(issue?.path, 'models.providers.local.baseURL');
    assert.equal(issue?.suggestion, 'did you mean "baseUrl"?');
  });

  it('reports a wrong type with its path and line', () => {
    const text = '{\n  gateway: {\n    port: "18789",\n  },\n  agents: { defaults: { fallbacks: ["a", 2] } },\n}';
    const issues = expectIssues(parseConfigText(text, 'hearth.json5', {}));
    assert.deepEqual(
      issues.map(({ path, line, column }) => ({ path, line, column })),
      [
        { path: 'gateway.port', line: 3, column: 5 },
        { path: 'agents.defaults.fallbacks[1]', line: 5, column: 42 },
      ],
    );
    assert.match(issues[0]?.message ?? '', /expected number, received string/);
  });

  it('suggests the nearest option for a mistyped enum value', () => {
    const [issue] = expectIssues(parseConfigText('{ session: { dmScope: "per-channel-per" } }', 'hearth.json5', {}));
    assert.equal(issue?.path, 'session.dmScope');
    assert.equal(issue?.suggestion, 'did you mean "per-channel-peer"?');
  });

  it('explains union and record-key failures', () => {
    const issues = expectIssues(parseConfigText('{ gateway: { bind: "everywhere" }, agents: { entries: { "Bad Id": {} } } }', 'hearth.json5', {}));
    const bind = issues.find((issue) => issue.path === 'gateway.bind');
    assert.match(bind?.message ?? '', /loopback.*IPv4.*IPv6/);
    const key = issues.find((issue) => issue.path === 'agents.entries["Bad Id"]');
    assert.match(key?.message ?? '', /invalid key "Bad Id": agent ids are lowercase/);
  });

  it('rejects a top-level value that is not an object', () => {
    const [issue] = expectIssues(parseConfigText('\n  [1, 2]', 'hearth.json5', {}));
    assert.equal(issue?.path, '');
    assert.equal(issue?.line, 2);
    assert.equal(issue?.column, 3);
  });

  it('reports an unreadable path (a directory) as an issue instead of throwing', () => {
    const [issue] = expectIssues(loadConfigFile(dir, {}));
    assert.match(issue?.message ?? '', /cannot read the config file \(EISDIR\)/);
  });
});

describe('${VAR} substitution', () => {
  it('replaces variables in every string value, including nested arrays and unknown sections', () => {
    const text = `{
  gateway: { auth: { token: "\${HEARTH_GATEWAY_TOKEN}" } },
  models: { providers: { local: { api: "openai-chat", apiKey: 'key-\${KEY_PART}-end', headers: { "X-Org": "\${ORG}" } } } },
  agents: { defaults: { fallbacks: ["local/\${MODEL}"] } },
  channels: { telegram: { botToken: "\${BOT}" } },
}`;
    const env = { HEARTH_GATEWAY_TOKEN: 'secret-token-123', KEY_PART: 'a"b\\c\nd', ORG: 'acme', MODEL: 'qwen3:8b', BOT: '1:abc' };
    const result = expectConfig(parseConfigText(text, 'hearth.json5', env));
    assert.equal(result.config.gateway.auth.token, 'secret-token-123');
    assert.equal(result.config.models.providers.local?.apiKey, 'key-a"b\\c\nd-end');
    assert.equal(result.config.models.providers.local?.headers?.['X-Org'], 'acme');
    assert.deepEqual(result.config.agents.defaults.fallbacks, ['local/qwen3:8b']);
    assert.deepEqual(result.config.channels.telegram, { botToken: '1:abc' });
  });

  it('keeps values with line separators intact without JSON5 warnings', (t) => {
    const warn = t.mock.method(console, 'warn', () => {});
    const text = '{\n  agents: { defaults: { systemPrompt: "${PROMPT}" } },\n  gateway: { port: 1234 },\n}';
    const result = expectConfig(parseConfigText(text, 'hearth.json5', { PROMPT: 'a\u2028b\u2029c\r\nd' }));
    assert.equal(result.config.agents.defaults.systemPrompt, 'a\u2028b\u2029c\r\nd');
    assert.equal(warn.mock.callCount(), 0);
  });

  it('reports an unset variable with its name, the key path and the line', () => {
    const text = '{\n  gateway: {\n    auth: { token: "${HEARTH_GATEWAY_TOKEN}" },\n  },\n}';
    const issues = expectIssues(parseConfigText(text, 'hearth.json5', {}));
    // One issue: the emptied token is not also reported as "too short".
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.path, 'gateway.auth.token');
    assert.equal(issues[0]?.line, 3);
    assert.equal(issues[0]?.column, 13);
    assert.match(issues[0]?.message ?? '', /HEARTH_GATEWAY_TOKEN is not set/);
    assert.match(formatConfigIssues(issues), /^hearth\.json5:3:13 gateway\.auth\.token: environment variable HEARTH_GATEWAY_TOKEN is not set/);
  });

  it('keeps $${VAR} as a literal ${VAR} and leaves lowercase names alone', () => {
    const text = '{ agents: { defaults: { systemPrompt: "cost: $${PRICE}, ${lower}, $HOME, ${NAME}" } } }';
    const result = expectConfig(parseConfigText(text, 'hearth.json5', { NAME: 'Ada' }));
    assert.equal(result.config.agents.defaults.systemPrompt, 'cost: ${PRICE}, ${lower}, $HOME, Ada');
  });

  it('does not substitute inside keys or comments', () => {
    const text = '// ${NOT_SET_ONE}\n{ models: { providers: { "${NOT_SET_TWO}": { api: "ollama" } } } }';
    const result = expectConfig(parseConfigText(text, 'hearth.json5', {}));
    assert.deepEqual(Object.keys(result.config.models.providers), ['${NOT_SET_TWO}']);
  });
});

describe('cross-field checks', () => {
  it('accepts channel accounts and rejects an open DM policy without "*" and typos, with lines and suggestions', () => {
    const ok = expectConfig(
      parseConfigText('{ channels: { telegram: { botToken: "1:a", accounts: { work: { botToken: "2:b", dmPolicy: "open", allowFrom: ["*"] } } } } }', 'hearth.json5', {}),
    );
    assert.equal(ok.config.channels.telegram?.accounts?.work?.dmPolicy, 'open');
    const open = expectIssues(parseConfigText('{\n  channels: {\n    discord: { token: "x", dmPolicy: "open" },\n  },\n}', 'hearth.json5', {}));
    assert.equal(open[0]?.path, 'channels.discord.dmPolicy');
    assert.equal(open[0]?.line, 3);
    assert.match(formatConfigIssues(open), /needs "\*" in allowFrom/);
    const typo = expectIssues(parseConfigText('{ channels: { telegram: { botTokn: "1:a" } } }', 'hearth.json5', {}));
    assert.match(formatConfigIssues(typo), /botTokn.*did you mean "botToken"/s);
    const platform = expectIssues(parseConfigText('{ channels: { telegarm: {} } }', 'hearth.json5', {}));
    assert.match(formatConfigIssues(platform), /did you mean "telegram"/);
    const badPattern = expectIssues(parseConfigText('{ channels: { slack: { mentionPatterns: ["(unclosed"] } } }', 'hearth.json5', {}));
    assert.match(formatConfigIssues(badPattern), /not a valid regular expression/);
  });

  it('rejects a binding to an agent that is not configured', () => {
    const text = '{ agents: { entries: { main: {}, work: {} } }, bindings: [{ agentId: "wrok", match: { channel: "telegram" } }] }';
    assert.match(formatConfigIssues(expectIssues(parseConfigText(text, 'hearth.json5', {}))), /bindings\[0\]\.agentId.*did you mean "work"/s);
  });

  it('rejects two default agents, pointing at the second', () => {
    const text = '{\n  agents: {\n    entries: {\n      main: { default: true },\n      work: { default: true },\n    },\n  },\n}';
    const issues = expectIssues(parseConfigText(text, 'hearth.json5', {}));
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.path, 'agents.entries.work.default');
    assert.equal(issues[0]?.line, 5);
    assert.match(issues[0]?.message ?? '', /only one agent can be the default, and "main" already is/);
  });

  it('rejects a model whose provider is not configured, suggesting the configured ones', () => {
    const text = `{
  models: { providers: { local: { api: "ollama" }, anthropic: { api: "anthropic-messages" } } },
  agents: {
    defaults: { model: "locl/qwen3:8b", fallbacks: ["openai/gpt-5"] },
    entries: { main: { model: "anthropic/claude", fallbacks: ["bare-model-name"] } },
  },
}`;
    const issues = expectIssues(parseConfigText(text, 'hearth.json5', {}));
    assert.deepEqual(
      issues.map(({ path, line, suggestion }) => ({ path, line, suggestion })),
      [
        { path: 'agents.defaults.model', line: 4, suggestion: 'did you mean "local/qwen3:8b"? (configured providers: "local", "anthropic")' },
        { path: 'agents.defaults.fallbacks[0]', line: 4, suggestion: 'configured providers: "local", "anthropic"' },
      ],
    );
  });

  it('rejects a provider that is neither configured nor detected when no providers are configured', () => {
    const text = '{\n  agents: {\n    defaults: { model: "ghost/m" },\n    entries: { main: { fallbacks: ["opnai/gpt-4o"] } },\n  },\n}';
    const issues = expectIssues(parseConfigText(text, 'hearth.json5', {}));
    assert.deepEqual(
      issues.map(({ path, line }) => ({ path, line })),
      [
        { path: 'agents.defaults.model', line: 3 },
        { path: 'agents.entries.main.fallbacks[0]', line: 4 },
      ],
    );
    assert.match(issues[0]?.message ?? '', /provider "ghost", which is not in models.providers/);
    assert.match(issues[1]?.suggestion ?? '', /did you mean "openai\/gpt-4o"/);
  });

  it('rejects memory embeddings through a provider that is not configured or has no embeddings endpoint, naming the key and line', () => {
    const text = [
      '{',
      '  models: { providers: { claude: { api: "anthropic-messages", apiKey: "k" }, local: { api: "ollama" } } },',
      '  agents: {',
      '    defaults: { memory: { embeddings: { provider: "claude", model: "x" } } },',
      '    entries: { main: { memory: { embeddings: { provider: "loacl", model: "nomic-embed-text" } } }, ok: { memory: { embeddings: { provider: "local", model: "nomic-embed-text" } } } },',
      '  },',
      '}',
    ].join('\n');
    const issues = expectIssues(parseConfigText(text, 'hearth.json5', {}));
    assert.deepEqual(
      issues.map(({ path, line }) => ({ path, line })),
      [
        { path: 'agents.defaults.memory.embeddings.provider', line: 4 },
        { path: 'agents.entries.main.memory.embeddings.provider', line: 5 },
      ],
    );
    assert.match(issues[0]?.message ?? '', /uses the anthropic-messages API, which has no embeddings endpoint/);
    assert.match(issues[1]?.message ?? '', /provider "loacl", which is not in models\.providers/);
    assert.match(issues[1]?.suggestion ?? '', /"claude", "local"/);
  });

  it('accepts a provider found at run time when no providers are configured, with a warning', () => {
    const result = parseConfigText('{\n  agents: { defaults: { model: "ollama/qwen3:8b" } },\n}', 'hearth.json5', {});
    assert.ok(result.ok);
    assert.deepEqual(
      result.warnings?.map(({ path, line }) => ({ path, line })),
      [{ path: 'agents.defaults.model', line: 2 }],
    );
    assert.match(result.warnings?.[0]?.message ?? '', /detects it at start/);
  });
});

describe('media.to', () => {
  it('takes an s3:// bucket with its s3 settings or an absolute folder, and refuses a relative folder or a malformed bucket', () => {
    const s3 = expectConfig(parseConfigText('{ media: { to: "s3://hearth-media/node", s3: { endpoint: "http://127.0.0.1:9000", secretAccessKey: "${S3_SECRET}", accessKeyId: "id" } } }', 'hearth.json5', { S3_SECRET: 'secret' }));
    assert.equal(s3.config.media.to, 's3://hearth-media/node');
    assert.equal(s3.config.media.s3?.secretAccessKey, 'secret');
    assert.equal(expectConfig(parseConfigText('{ media: { to: "/srv/hearth-media" } }', 'hearth.json5', {})).config.media.to, '/srv/hearth-media');
    assert.equal(expectConfig(parseConfigText('{}', 'hearth.json5', {})).config.media.to, undefined, 'without it media stays in $HEARTH_HOME/media');
    for (const to of ['media', 's3://X/y']) {
      const issues = expectIssues(parseConfigText(`{ media: { to: "${to}" } }`, 'hearth.json5', {}));
      assert.deepEqual(
        issues.map((issue) => [issue.path, issue.message]),
        [['media.to', 'media.to is a folder (absolute path) or s3://<bucket>/<prefix>']],
      );
    }
  });
});
