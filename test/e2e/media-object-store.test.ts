import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type BetterSqlite3 from 'better-sqlite3';
import { loadCommonJs } from '../../src/runtime/load-commonjs.js';
import { fakeTelegramToken, startFakeTelegramServer } from '../support/fake-telegram/fake-telegram-server.js';
import { fakeModelConfig, type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, testEnv, waitFor } from '../support/gateway-harness.js';
import { LOCAL_S3_CREDENTIALS, type LocalS3, startLocalS3 } from '../support/local-s3.js';

// Channel media in an object store: the real AWS SDK against s3rver, a local S3 server, on 127.0.0.1.

let model: FakeModelServer;
let s3: LocalS3;
let s3Dir = '';
let endpoint = '';
const dirs: string[] = [];

before(async () => {
  model = await startFakeModelServer();
  s3 = await startLocalS3(['hearth-media']);
  ({ endpoint, directory: s3Dir } = s3);
});
after(async () => {
  await s3?.close();
  await model?.close();
  for (const dir of dirs) removeHome(dir);
});

const keysIn = (prefix: string) => s3.keysIn('hearth-media', prefix);

function transcriptBodies(home: string): string[] {
  const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(join(home, 'state', 'hearth.sqlite'), { readonly: true });
  try {
    return (db.prepare('SELECT body FROM transcript ORDER BY id').all() as { body: string }[]).map((row) => row.body);
  } finally {
    db.close();
  }
}

test('a Telegram photo is stored once in the object store under its hash, the transcript refers to media/<sha256>, and retention deletes the object once the session is gone', async () => {
  const home = makeHome();
  dirs.push(home);
  const token = fakeTelegramToken(5_100_000_031);
  const telegram = await startFakeTelegramServer({ token });
  const gateway = await startTestGateway({
    home,
    config: {
      ...fakeModelConfig(model),
      media: { maxBytes: 4096, to: 's3://hearth-media/cluster-a', s3: { endpoint, ...LOCAL_S3_CREDENTIALS } },
      // A session idle for about 17 s is archived; a pass every 1.2 s.
      retention: { sessionsIdleDays: 0.0002, intervalMinutes: 0.02, vacuumFreePercent: 0 },
      channels: { telegram: { botToken: token, apiRoot: telegram.apiRoot, dmPolicy: 'open', allowFrom: ['*'] } },
    },
  });
  try {
    const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
    await waitFor(async () => (JSON.parse((await runCli(['channels', 'status', '--json'], env)).stdout) as { connected: boolean }[])[0]?.connected, 'the bot to connect');
    const photo = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 251));
    const sha = createHash('sha256').update(photo).digest('hex');
    const chat = { id: 5151, type: 'private', first_name: 'Ada' };
    const from = { id: 5151, is_bot: false, first_name: 'Ada' };
    const send = (messageId: number, caption: string) =>
      telegram.injectRawUpdate(
        { message: { message_id: messageId, date: messageId, chat, from, caption, photo: [{ file_id: telegram.addFile(photo, `cat-${messageId}.jpg`), file_unique_id: `p${messageId}`, width: 10, height: 10, file_size: photo.length }] } },
        token,
      );
    send(1, 'look at this');
    await waitFor(() => telegram.sent.some((item) => item.text.includes(`media/${sha}`)), 'the answer that refers to the saved photo');
    send(2, 'the same photo again');
    await waitFor(() => telegram.sent.filter((item) => item.text.includes(`media/${sha}`)).length >= 2, 'the answer to the second photo');

    assert.deepEqual(await keysIn('cluster-a/'), [`cluster-a/${sha}`], 'one object under <prefix>/<sha256> for the same photo sent twice');
    assert.equal(existsSync(join(home, 'media')), false, 'nothing is written to $HEARTH_HOME/media');
    assert.ok(
      transcriptBodies(home).filter((body) => body.includes(`media/${sha}, 3000 bytes`)).length >= 2,
      'both user messages refer to media/<sha256>, not to the bucket',
    );

    // The object store's clock says the photo was saved two hours ago: past the grace period that
    // protects a file whose message is still being stored, so only the transcript keeps it now.
    const objectFile = join(s3Dir, 'hearth-media', 'cluster-a', `${sha}._S3rver_object`);
    assert.ok(existsSync(objectFile), 'the object is where s3rver keeps it');
    const twoHoursAgo = Date.now() / 1000 - 7200;
    utimesSync(objectFile, twoHoursAgo, twoHoursAgo);

    await waitFor(async () => (await keysIn('cluster-a/')).length === 0, 'retention to archive the idle session and delete its photo', 60_000, 250);
    assert.equal(
      transcriptBodies(home).some((body) => body.includes(`media/${sha}`)),
      false,
      'the session that referred to it is gone',
    );
    const status = JSON.parse((await runCli(['status', '--json'], env)).stdout) as { retention: { lastError: unknown } };
    assert.equal(status.retention.lastError, null);
  } finally {
    await gateway.stop();
    await telegram.close();
  }
});
