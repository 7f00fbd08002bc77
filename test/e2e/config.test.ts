/**
 * Config at the edges: a bad file refuses to start the gateway (exit 78, naming the file, line and
 * key), `hearth config validate` agrees, a bad edit to a running gateway's file is rejected while
 * the last good config stays in force (and `hearth status` says so), and a good edit takes effect
 * at the next turn. Also `hearth status` without a gateway and `hearth gateway token`.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectGateway, type GatewayClient } from '../../src/cli/gateway-client.js';
import { type FakeModelServer, type RecordedRequest, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, type TestGateway, testEnv, waitFor } from '../support/gateway-harness.js';

const EXIT_CONFIG = 78;

/** `agents.defaults.modle` sits on line 8. */
const TYPO_CONFIG = `// Hearth config with a typo (line 1)
{
  // a provider that is never called
  models: { providers: { fake: { api: 'openai-chat', baseUrl: 'http://127.0.0.1:9/v1' } } },
  agents: {
    defaults: {
      // the model every agent uses
      modle: 'fake/echo',
    },
  },
}
`;

/** A doubled comma on line 4. */
const SYNTAX_ERROR_CONFIG = `{
  gateway: {
    // the port
    port: 18789,,
  },
}
`;

const homes: string[] = [];
function home(): string {
  const dir = makeHome();
  homes.push(dir);
  return dir;
}

function configText(fakeUrl: string, model: string, extra = ''): string {
  return `// written by config.test.ts
{
  models: {
    providers: {
      fake: { api: 'openai-chat', baseUrl: '${fakeUrl}', maxRetries: 0 },
      fake2: { api: 'openai-chat', baseUrl: '${fakeUrl}', maxRetries: 0 },
    },
  },
  agents: {
    defaults: {
      model: '${model}',${extra}
    },
  },
}
`;
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    assert.fail(`${what} printed no JSON:\n${text}`);
  }
}

after(() => {
  for (const dir of homes) removeHome(dir);
});

// The groups are independent (own homes, own gateways), so they run side by side; the
// tests inside each group run in order.
describe('config', { concurrency: true }, () => {
  describe('a bad config at start', { concurrency: false }, () => {
    test('an unknown key: exit 78 naming the file, line and key, suggesting the right one', async () => {
      const dir = home();
      writeFileSync(join(dir, 'hearth.json5'), TYPO_CONFIG);
      const result = await runCli(['gateway', '--port', '0'], testEnv(dir), undefined, 15_000);
      assert.equal(result.code, EXIT_CONFIG, `exit ${result.code}\n${result.stdout}\n${result.stderr}`);
      assert.doesNotMatch(result.stdout, /Hearth is running/);
      const file = join(dir, 'hearth.json5');
      assert.ok(result.stderr.includes(`${file}:8:`), `no file:line in\n${result.stderr}`);
      assert.match(result.stderr, /agents\.defaults\.modle/);
      assert.match(result.stderr, /"model"/);
      assert.match(result.stderr, /hearth config validate/);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'a stack trace was printed');
    });

    test('invalid JSON5 syntax: exit 78 with the line', async () => {
      const dir = home();
      writeFileSync(join(dir, 'hearth.json5'), SYNTAX_ERROR_CONFIG);
      const result = await runCli(['gateway', '--port', '0'], testEnv(dir), undefined, 15_000);
      assert.equal(result.code, EXIT_CONFIG, `exit ${result.code}\n${result.stdout}\n${result.stderr}`);
      assert.ok(result.stderr.includes(`${join(dir, 'hearth.json5')}:4:`), `no file:line in\n${result.stderr}`);
      assert.match(result.stderr, /syntax/i);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'a stack trace was printed');
    });
  });

  describe('hearth gateway arguments', { concurrency: false }, () => {
    test('a bad --port exits 1 with one line, with or without the other flag forms', async () => {
      const dir = home();
      const [plain, equals] = await Promise.all([runCli(['gateway', '--port', 'abc'], testEnv(dir)), runCli(['gateway', '--port=abc'], testEnv(dir))]);
      for (const result of [plain, equals]) {
        assert.equal(result.code, 1, `exit ${result.code}\n${result.stderr}`);
        assert.match(result.stderr, /--port must be a whole number from 0 to 65535, not "abc"/);
        assert.doesNotMatch(result.stderr, /\n\s+at /, 'a stack trace was printed');
      }
    });

    test('gateway --help still lists the options', async () => {
      const result = await runCli(['gateway', '--help'], testEnv(home()));
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /--port <port>/);
      assert.match(result.stdout, /--bind <bind>/);
    });
  });

  describe('hearth config validate', { concurrency: false }, () => {
    test('a good file: exit 0, text and --json', async () => {
      const dir = home();
      writeFileSync(join(dir, 'hearth.json5'), configText('http://127.0.0.1:9/v1', 'fake/echo'));
      const [text, json] = await Promise.all([runCli(['config', 'validate'], testEnv(dir)), runCli(['config', 'validate', '--json'], testEnv(dir))]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /is valid/);
      assert.equal(json.code, 0, json.stderr);
      assert.deepEqual(parseJson(json.stdout, 'config validate --json'), { ok: true, path: join(dir, 'hearth.json5'), source: 'file' });
    });

    test('a model naming a provider that does not exist: exit 78 naming the key and line; a detected provider only warns', async () => {
      const dir = home();
      const file = join(dir, 'hearth.json5');
      writeFileSync(file, `// no providers configured\n{\n  agents: { defaults: { model: "ghost/m" } },\n}\n`);
      const ghost = await runCli(['config', 'validate'], testEnv(dir));
      assert.equal(ghost.code, EXIT_CONFIG, `exit ${ghost.code}\n${ghost.stdout}\n${ghost.stderr}`);
      assert.ok(ghost.stderr.includes(`${file}:3:`), ghost.stderr);
      assert.match(ghost.stderr, /agents\.defaults\.model: model "ghost\/m" names provider "ghost"/);
      assert.doesNotMatch(ghost.stdout, /is valid/);

      writeFileSync(file, `{\n  agents: { defaults: { model: "openai/gpt-4o-mini" } },\n}\n`);
      const [text, json] = await Promise.all([runCli(['config', 'validate'], testEnv(dir)), runCli(['config', 'validate', '--json'], testEnv(dir))]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /is valid/);
      assert.match(text.stderr, new RegExp(`warning: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:\\d+ agents\\.defaults\\.model: .*OPENAI_API_KEY`));
      const report = parseJson<{ ok: boolean; warnings?: { path: string; line?: number }[] }>(json.stdout, 'config validate --json');
      assert.equal(report.ok, true);
      assert.deepEqual(report.warnings?.map(({ path, line }) => ({ path, line })), [{ path: 'agents.defaults.model', line: 2 }]);
    });

    test('no file: the defaults are valid', async () => {
      const dir = home();
      const result = await runCli(['config', 'validate', '--json'], testEnv(dir));
      assert.equal(result.code, 0, result.stderr);
      assert.equal(parseJson<{ ok: boolean; source: string }>(result.stdout, 'config validate --json').source, 'defaults');
    });

    test('a bad file: exit 78, text names the line; --json lists the issues', async () => {
      const dir = home();
      const file = join(dir, 'hearth.json5');
      writeFileSync(file, TYPO_CONFIG);
      const [text, json] = await Promise.all([runCli(['config', 'validate'], testEnv(dir)), runCli(['config', 'validate', '--json'], testEnv(dir))]);
      assert.equal(text.code, EXIT_CONFIG);
      assert.ok(text.stderr.includes(`${file}:8:`), text.stderr);
      assert.match(text.stderr, /agents\.defaults\.modle/);
      assert.equal(json.code, EXIT_CONFIG);
      const report = parseJson<{ ok: boolean; path: string; issues: { file: string; line?: number; column?: number; path: string; message: string; suggestion?: string }[] }>(
        json.stdout,
        'config validate --json',
      );
      assert.equal(report.ok, false);
      assert.equal(report.path, file);
      assert.equal(report.issues.length, 1, JSON.stringify(report.issues));
      const issue = report.issues[0]!;
      assert.equal(issue.file, file);
      assert.equal(issue.line, 8);
      assert.equal(typeof issue.column, 'number');
      assert.equal(issue.path, 'agents.defaults.modle');
      assert.match(issue.suggestion ?? '', /"model"/);
    });

    test('several problems are all reported, in file order; HEARTH_CONFIG points elsewhere', async () => {
      const dir = home();
      const file = join(dir, 'elsewhere.json5');
      writeFileSync(
        file,
        `{
    gateway: {
      port: 'not a number',
    },
    models: { providers: { fake: { api: 'openai-chat', apiKey: '\${HEARTH_TEST_UNSET_VARIABLE}' } } },
    agents: { defaults: { fallback: [] } },
  }
  `,
      );
      const result = await runCli(['config', 'validate', '--json'], testEnv(dir, { HEARTH_CONFIG: file }));
      assert.equal(result.code, EXIT_CONFIG, result.stderr);
      const report = parseJson<{ ok: boolean; path: string; issues: { line?: number; path: string; message: string; suggestion?: string }[] }>(
        result.stdout,
        'config validate --json',
      );
      assert.equal(report.path, file);
      assert.deepEqual(
        report.issues.map((issue) => [issue.line, issue.path]),
        [
          [3, 'gateway.port'],
          [5, 'models.providers.fake.apiKey'],
          [6, 'agents.defaults.fallback'],
        ],
      );
      assert.match(report.issues[1]!.message, /HEARTH_TEST_UNSET_VARIABLE/);
      assert.match(report.issues[2]!.suggestion ?? '', /fallbacks/);
    });
  });

  describe('hearth status without a gateway', { concurrency: false }, () => {
    test('no gateway has ever run: exit 1 and how to start one', async () => {
      const dir = home();
      const result = await runCli(['status'], { ...testEnv(dir), HEARTH_GATEWAY_URL: `http://127.0.0.1:${await closedPort()}` });
      assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
      assert.match(result.stderr, /hearth gateway/);
    });

    test('nothing listening at the address: exit 1 and how to start one (text and --json)', async () => {
      const dir = home();
      const token = await runCli(['gateway', 'token'], testEnv(dir));
      assert.equal(token.code, 0, token.stderr);
      const url = `http://127.0.0.1:${await closedPort()}`;
      const env = { ...testEnv(dir), HEARTH_GATEWAY_URL: url };
      const [text, json] = await Promise.all([runCli(['status'], env), runCli(['status', '--json'], env)]);
      assert.equal(text.code, 1, `${text.stdout}\n${text.stderr}`);
      assert.match(text.stderr, /No gateway is running/);
      assert.ok(text.stderr.includes(url), text.stderr);
      assert.match(text.stderr, /hearth gateway/);
      assert.equal(json.code, 1);
      const report = parseJson<{ running: boolean; url: string }>(json.stdout, 'status --json');
      assert.equal(report.running, false);
      assert.equal(report.url, url);
    });
  });

  describe('after a rejected edit, the CLI still finds a gateway configured by the file', { concurrency: false }, () => {
    test(
      'hearth status and hearth gateway token use the last good port and token',
      async () => {
        const dir = home();
        const port = await closedPort();
        const token = 'a-token-from-the-config-file';
        const text = (extra: string) => `{\n  gateway: { port: ${port}, auth: { token: '${token}' } },\n  agents: { defaults: { maxSteps: 5,${extra} } },\n}\n`;
        const running = await startTestGateway({ home: dir, configText: text(''), port });
        try {
          assert.equal(running.token, token);
          const env = testEnv(dir);
          const before = await runCli(['status', '--json'], env);
          assert.equal(before.code, 0, before.stderr);
          writeFileSync(join(dir, 'hearth.json5'), text(" modle: 'x'"));
          const probe = await connectGateway(running.url, token);
          try {
            await waitFor(
              async () => (await probe.call<{ config: { lastReload: { ok: boolean } | null } }>('status', {}, 5000)).config.lastReload?.ok === false,
              'the edit to be rejected',
              10_000,
              50,
            );
          } finally {
            probe.close();
          }
          const [status, printed] = await Promise.all([runCli(['status'], env), runCli(['gateway', 'token'], env)]);
          assert.equal(status.code, 0, `hearth status: exit ${status.code}\n${status.stdout}${status.stderr}`);
          assert.match(status.stdout, /REJECTED/);
          assert.equal(printed.stdout.trim(), token, 'hearth gateway token printed a token the gateway does not use');
        } finally {
          await running.stop();
        }
      },
    );
  });

  describe('a running gateway and edits to its config', { concurrency: false }, () => {
    let fake: FakeModelServer;
    let gateway: TestGateway;
    let client: GatewayClient;
    let dir: string;
    let tokenBeforeStart: string;

    interface StatusReport {
      config: { path: string; hash: string; lastReload: { ok: boolean; error?: string; at: number } | null };
      agents: { id: string; models: string[] }[];
    }

    const status = () => client.call<StatusReport>('status', {}, 5000);
    const cliEnv = () => ({ ...testEnv(dir), HEARTH_GATEWAY_URL: gateway.url });

    /** One chat turn over HTTP; returns the model request it caused. */
    async function turn(text: string): Promise<RecordedRequest> {
      const mark = fake.requests.length;
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'hearth', messages: [{ role: 'user', content: text }] }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await response.json()) as { choices?: { message: { content: string } }[] };
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.equal(body.choices?.[0]?.message.content, `echo: ${text}`);
      const sent = fake.requests.slice(mark).filter((request) => request.path === '/v1/chat/completions');
      assert.equal(sent.length, 1);
      return sent[0]!;
    }

    before(async () => {
      fake = await startFakeModelServer();
      dir = home();
      writeFileSync(join(dir, 'hearth.json5'), configText(fake.openaiBaseUrl, 'fake/echo'));
      // `hearth gateway token` before the first start creates the token the gateway will use.
      const printed = await runCli(['gateway', 'token'], testEnv(dir));
      assert.equal(printed.code, 0, printed.stderr);
      tokenBeforeStart = printed.stdout.trim();
      gateway = await startTestGateway({ home: dir });
      client = await connectGateway(gateway.url, gateway.token);
    });

    after(async () => {
      client?.close();
      if (gateway) {
        const code = await gateway.stop();
        assert.equal(code, 0, `the gateway did not stop cleanly:\n${gateway.output()}`);
      }
      await fake?.close();
    });

    test('hearth gateway token prints the token the gateway uses', async () => {
      assert.ok(tokenBeforeStart.length >= 16, `token: ${tokenBeforeStart}`);
      assert.equal(gateway.token, tokenBeforeStart);
      // HEARTH_GATEWAY_TOKEN wins over the stored token.
      const [printed, fromEnv] = await Promise.all([
        runCli(['gateway', 'token'], testEnv(dir)),
        runCli(['gateway', 'token'], testEnv(dir, { HEARTH_GATEWAY_TOKEN: 'a-token-from-the-env' })),
      ]);
      assert.equal(printed.code, 0, printed.stderr);
      assert.equal(printed.stdout.trim(), gateway.token);
      assert.equal(fromEnv.stdout.trim(), 'a-token-from-the-env');
    });

    test('an invalid edit is rejected, the old config stays in force, and status says so; a valid edit takes effect', async () => {
      assert.equal((await status()).config.lastReload, null);
      assert.equal(((await turn('before any edit')).body as { model: string }).model, 'echo');
      const goodHash = (await status()).config.hash;

      // An invalid edit: a typo that also tries to switch the model.
      writeFileSync(join(dir, 'hearth.json5'), configText(fake.openaiBaseUrl, 'fake2/second', "\n      modle: 'oops',"));
      const rejected = await waitFor(
        async () => {
          const report = await status();
          return report.config.lastReload?.ok === false ? report : undefined;
        },
        'the invalid edit to be rejected',
        10_000,
        50,
      );
      assert.match(rejected.config.lastReload?.error ?? '', /agents\.defaults\.modle/);
      assert.equal(rejected.config.hash, goodHash, 'the config hash changed after a rejected edit');
      assert.deepEqual(rejected.agents.find((agent) => agent.id === 'main')?.models, ['fake/echo']);
      // Still serving, with the old model.
      assert.equal(((await turn('after a bad edit')).body as { model: string }).model, 'echo');
      const health = await fetch(`${gateway.url}/health`);
      assert.equal(health.status, 200);
      await health.body?.cancel();

      const [text, json] = await Promise.all([runCli(['status'], cliEnv()), runCli(['status', '--json'], cliEnv())]);
      assert.equal(text.code, 0, `${text.stdout}\n${text.stderr}`);
      assert.match(text.stdout, /REJECTED/);
      assert.match(text.stdout, /modle/);
      assert.equal(json.code, 0, json.stderr);
      const report = parseJson<{ running: boolean; config: { lastReload: { ok: boolean; error?: string } | null }; configFileValid?: boolean }>(json.stdout, 'status --json');
      assert.equal(report.running, true);
      assert.equal(report.config.lastReload?.ok, false);
      assert.match(report.config.lastReload?.error ?? '', /modle/);
      assert.equal(report.configFileValid, false);
      // /readyz still answers 200 (degraded, not down), naming the rejected edit.
      const ready = await fetch(`${gateway.url}/readyz`);
      const readyBody = (await ready.json()) as { components: Record<string, { status: string; detail?: string }> };
      assert.equal(ready.status, 200);
      assert.equal(readyBody.components.config?.status, 'degraded');

      // A valid edit that switches the default model to the second provider.
      writeFileSync(join(dir, 'hearth.json5'), configText(fake.openaiBaseUrl, 'fake2/second'));
      const applied = await waitFor(
        async () => {
          const current = await status();
          return current.config.lastReload?.ok === true ? current : undefined;
        },
        'the valid edit to be applied',
        10_000,
        50,
      );
      assert.notEqual(applied.config.hash, goodHash);
      assert.deepEqual(applied.agents.find((agent) => agent.id === 'main')?.models, ['fake2/second']);
      assert.equal(((await turn('after a good edit')).body as { model: string }).model, 'second');

      const final = parseJson<{ config: { lastReload: { ok: boolean } | null }; configFileValid?: boolean }>(
        (await runCli(['status', '--json'], cliEnv())).stdout,
        'status --json',
      );
      assert.equal(final.config.lastReload?.ok, true);
      assert.equal(final.configFileValid, true);
      assert.equal(gateway.child.exitCode, null, 'the gateway exited');
    });
  });
});
