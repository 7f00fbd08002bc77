import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chatTurn } from '../support/chat-turn.js';
import { type FakeModelServer, fakeModelConfig, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, REPO_ROOT, removeHome, startTestGateway, writeConfig } from '../support/gateway-harness.js';

const RECORDER = pathToFileURL(join(REPO_ROOT, 'dist', 'test', 'support', 'module-load-recorder.js')).href;
/**
 * Packages only an optional part of the gateway needs: the PostgreSQL client (cluster mode), the
 * HTML-to-Markdown converter and its DOM (the first web page fetched), the S3 client (backups or
 * media in a bucket), chat platforms' libraries, MCP and OpenTelemetry.
 */
const OPTIONAL = String.raw`/node_modules/(pg|pg-pool|turndown|@mixmark-io/domino|@aws-sdk/[^/]+|grammy|discord\.js|@slack/[^/]+|imapflow|nodemailer|matrix-js-sdk|irc-framework|@larksuiteoapi/[^/]+|@modelcontextprotocol/[^/]+|@opentelemetry/[^/]+)/`;

let model: FakeModelServer;
const homes: string[] = [];
before(async () => {
  model = await startFakeModelServer();
});
after(async () => {
  await model?.close();
  for (const home of homes) removeHome(home);
});

test('a gateway with one model and nothing optional configured loads no optional package, at start or for a turn', async () => {
  const home = makeHome();
  homes.push(home);
  writeConfig(home, fakeModelConfig(model));
  const log = join(home, 'modules.log');
  const gateway = await startTestGateway({ home, env: { NODE_OPTIONS: `--import=${RECORDER}`, MODULE_LOAD_LOG: log, MODULE_LOAD_PATTERN: OPTIONAL } });
  try {
    await chatTurn(gateway, model, 'hello');
  } finally {
    await gateway.stop();
  }
  const loaded = existsSync(log) ? readFileSync(log, 'utf8') : '';
  assert.equal(loaded, '', `optional packages were loaded:\n${loaded}`);
});
