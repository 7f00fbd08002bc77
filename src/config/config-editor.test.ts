// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests write literal ${VAR} references on purpose
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isHearthError } from '../contracts/errors.js';
import { createConfigEditor } from './config-editor.js';
import { maskConfigText, maskConfigValue, SECRET_MASK, unmaskConfigText } from './config-secrets.js';
import { createConfigState } from './config-state.js';
import { loadConfigFile } from './load-config.js';

const root = mkdtempSync(join(tmpdir(), 'hearth-config-editor-'));
after(() => rmSync(root, { recursive: true, force: true }));

const KEY = 'sk-provider-key-0123456789';
const TOKEN = 'gateway-token-abcdefgh';
const FILE = `{
  // my key was ${KEY}
  gateway: { auth: { token: "${TOKEN}" } },
  models: {
    providers: {
      fake: { api: "openai-chat", baseUrl: "http://127.0.0.1:9/v1", apiKey: "${KEY}", headers: { "x-team": "blue-team-secret" } },
      other: { api: "openai-chat", baseUrl: "http://127.0.0.1:9/v1", apiKey: "\${OTHER_KEY}" },
    },
  },
  agents: { defaults: { model: "fake/echo" } },
}
`;
const ENV = { OTHER_KEY: 'other-key-from-env-99' };

/** An editor on a fresh file, with the config state it applies to and the reloads it caused. */
function setup(name: string, text: string | null = FILE) {
  const dir = mkdtempSync(join(root, `${name}-`));
  const path = join(dir, 'hearth.json5');
  if (text !== null) writeFileSync(path, text, { mode: 0o600 });
  const loaded = loadConfigFile(path, ENV);
  assert.ok(loaded.ok, 'the starting file is valid');
  const state = createConfigState({ config: loaded.config, hash: loaded.hash, source: loaded.source });
  const reloads: unknown[] = [];
  state.onReload((next) => reloads.push(next));
  let clock = 1_000;
  const editor = createConfigEditor({
    path,
    env: ENV,
    state,
    secrets: () => [TOKEN, KEY, ENV.OTHER_KEY],
    logger: { info: () => {} },
    now: () => ++clock,
  });
  return { path, state, editor, reloads };
}

describe('config secrets', () => {
  it('masks secret values by key and known secrets anywhere, keeps ${VAR} references and line numbers', () => {
    const masked = maskConfigText(FILE, [TOKEN, KEY]);
    assert.ok(!masked.includes(KEY) && !masked.includes(TOKEN) && !masked.includes('blue-team-secret'), masked);
    assert.ok(masked.includes('apiKey: "${OTHER_KEY}"'), 'a variable reference is shown');
    assert.ok(masked.includes(`token: "${SECRET_MASK}"`));
    assert.equal(masked.split('\n').length, FILE.split('\n').length);
  });

  it('masks a file that does not parse line by line', () => {
    const masked = maskConfigText('{ models: { providers: { a: { apiKey: "sk-live-123456", } } ', []);
    assert.ok(!masked.includes('sk-live-123456'), masked);
  });

  it('masks a parsed config by key and by value', () => {
    const value = maskConfigValue({ gateway: { auth: { token: TOKEN } }, note: `has ${KEY} in it`, models: { maxTokens: 5 } }, [KEY]);
    assert.deepEqual(value, { gateway: { auth: { token: SECRET_MASK } }, note: `has ${SECRET_MASK} in it`, models: { maxTokens: 5 } });
  });

  it('puts the current value back for a mask, and refuses a mask where the file has no value', () => {
    const edited = maskConfigText(FILE, [TOKEN, KEY]).replace('agents: {', `extra: { apiKey: "${SECRET_MASK}" },\n  agents: {`);
    const result = unmaskConfigText(edited, FILE, 'hearth.json5');
    assert.ok(result.text.includes(`apiKey: "${KEY}"`));
    assert.ok(result.text.includes(`token: "${TOKEN}"`));
    assert.deepEqual(
      result.issues.map((issue) => [issue.path, issue.line]),
      [['extra.apiKey', 10]],
    );
  });
});

describe('config editor', () => {
  it('shows the file and the config in force without a secret in clear', () => {
    const { editor } = setup('read');
    const view = editor.read();
    const shown = JSON.stringify(view);
    for (const secret of [KEY, TOKEN, ENV.OTHER_KEY, 'blue-team-secret']) assert.ok(!shown.includes(secret), `${secret} is not shown`);
    assert.equal(view.exists, true);
    assert.equal(view.lastRejected, null);
    assert.match(view.hash, /^[0-9a-f]{64}$/u);
  });

  it('applies a valid edit of the masked text: secrets kept, file replaced with a backup, config in force at once', () => {
    const { path, state, editor, reloads } = setup('apply');
    const view = editor.read();
    const edited = view.text.replace('fake/echo', 'fake/other');
    const result = editor.apply(edited, view.hash);
    assert.equal(result.applied, true);
    assert.deepEqual(result.issues, []);
    assert.equal(state.current().agents.defaults.model, 'fake/other');
    assert.equal(reloads.length, 1);
    const written = readFileSync(path, 'utf8');
    assert.ok(written.includes(`apiKey: "${KEY}"`) && written.includes(`token: "${TOKEN}"`), 'the secrets are kept');
    assert.equal(readFileSync(`${path}.bak`, 'utf8'), FILE);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(editor.read().hash, result.hash);
    assert.deepEqual(state.apply(loadConfigFile(path, ENV)), { ok: true, changed: false }, 'the watcher seeing the same file is not a second reload');
    assert.equal(reloads.length, 1);
  });

  it('refuses an invalid edit with its line, changes nothing and remembers it, masked', () => {
    const { path, state, editor, reloads } = setup('reject');
    const view = editor.read();
    const edited = view.text.replace('agents: { defaults: { model:', 'agents: { defaults: { modle:').replace(`"${SECRET_MASK}", headers`, '"sk-new-typed-key-777", headers');
    const result = editor.validate(edited);
    assert.equal(result.ok, false);
    const applied = editor.apply(edited, view.hash);
    assert.equal(applied.applied, false);
    assert.equal(applied.hash, view.hash);
    assert.deepEqual(
      applied.issues.map((issue) => [issue.path, issue.line]),
      [['agents.defaults.modle', 10]],
    );
    assert.equal(readFileSync(path, 'utf8'), FILE);
    assert.equal(existsSync(`${path}.bak`), false);
    assert.equal(state.current().agents.defaults.model, 'fake/echo');
    assert.equal(reloads.length, 0);
    const rejected = editor.read().lastRejected;
    assert.deepEqual(rejected?.issues, applied.issues);
    assert.ok(rejected?.text?.includes('modle') && !rejected.text.includes('sk-new-typed-key-777'), 'the refused text is kept, masked');
  });

  it('refuses an apply over a file that changed since it was read', () => {
    const { path, editor } = setup('conflict');
    const view = editor.read();
    writeFileSync(path, FILE.replace('fake/echo', 'fake/hand-edit'));
    assert.throws(
      () => editor.apply(view.text, view.hash),
      (error: unknown) => isHearthError(error) && error.code === 'CONFLICT',
    );
    assert.ok(readFileSync(path, 'utf8').includes('fake/hand-edit'));
  });

  it('creates the file when there was none', () => {
    const { path, state, editor } = setup('create', null);
    const view = editor.read();
    assert.equal(view.exists, false);
    const result = editor.apply('{ logging: { level: "debug" } }\n', view.hash);
    assert.deepEqual(result.issues, []);
    assert.equal(result.applied, true);
    assert.equal(state.current().logging.level, 'debug');
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });
});
