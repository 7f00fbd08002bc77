import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LOCAL_S3_CREDENTIALS, type LocalS3, startLocalS3 } from '../../test/support/local-s3.js';
import { createFolderMediaStore, createMediaStore, createS3MediaStore, mediaRefs } from './media-store.js';

// The S3 store through the real AWS SDK against s3rver, a local S3 server, on 127.0.0.1.

let s3: LocalS3;
let s3Dir = '';
let endpoint = '';
const credentials = { region: 'us-east-1', ...LOCAL_S3_CREDENTIALS };
const keysIn = (prefix: string) => s3.keysIn('hearth-media', prefix);

before(async () => {
  s3 = await startLocalS3(['hearth-media']);
  ({ endpoint, directory: s3Dir } = s3);
});
after(() => s3?.close());

test('a file is kept once under its SHA-256, refused over the cap, read back, and pruned only when unreferenced and past the grace period', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-media-'));
  try {
    const media = createFolderMediaStore(dir, 10);
    const first = await media.put(Buffer.from('hello'));
    assert.equal(first.sha256, '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    assert.equal(first.ref, `media/${first.sha256}`);
    assert.deepEqual(await media.put(Buffer.from('hello')), first, 'the same bytes are the same file');
    assert.equal(Buffer.from((await media.read(first.ref)) as Uint8Array).toString('utf8'), 'hello');
    await assert.rejects(media.put(Buffer.alloc(11)), /11 bytes, more than media\.maxBytes \(10\)/u);
    const other = await media.put(Buffer.from('bye'));
    const old = Date.now() / 1000 - 3600;
    utimesSync(join(dir, other.sha256.slice(0, 2), other.sha256), old, old);
    utimesSync(join(dir, first.sha256.slice(0, 2), first.sha256), old, old);
    assert.deepEqual(await media.prune(new Set([first.sha256]), 60_000, Date.now()), { files: 1, bytes: 3 });
    assert.ok(await media.read(first.sha256), 'a referenced file stays');
    assert.equal(existsSync(join(dir, other.sha256.slice(0, 2), other.sha256)), false);
    assert.equal(await media.read(other.ref), undefined);
    const fresh = await media.put(Buffer.from('new'));
    assert.deepEqual((await media.prune(new Set(), 60_000, Date.now())).files, 1, 'only the old unreferenced one goes; a file saved a moment ago waits for its transcript');
    assert.ok(await media.read(fresh.ref));
    assert.equal(await media.read('../../etc/passwd'), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the object store keeps media at <prefix>/<sha256>, uploads a hash once, reads it back from another gateway, and prunes only unreferenced objects', async () => {
  const media = createMediaStore({ maxBytes: 1000, to: 's3://hearth-media/node-media', s3: { endpoint, ...credentials } }, '/nonexistent-home');
  const elsewhere = createS3MediaStore('s3://hearth-media/node-media/', { endpoint, ...credentials }, 1000);
  try {
    assert.equal(media.where, 's3://hearth-media/node-media');
    const photo = Buffer.from(Array.from({ length: 700 }, (_, i) => i % 251));
    const saved = await media.put(photo);
    assert.equal(saved.ref, `media/${saved.sha256}`, 'transcripts refer to media/<sha256> whatever the store');
    assert.deepEqual(await keysIn('node-media/'), [`node-media/${saved.sha256}`]);
    assert.deepEqual(Buffer.from((await elsewhere.read(saved.ref)) as Uint8Array), photo, 'another gateway with the same media.to reads the same bytes');

    // Saved again: no second upload (s3rver's file for the object is not written again) and still one key.
    const objectFile = join(s3Dir, 'hearth-media', 'node-media', `${saved.sha256}._S3rver_object`);
    const before = statSync(objectFile, { bigint: true }).mtimeNs;
    assert.deepEqual(await media.put(photo), saved);
    assert.equal(statSync(objectFile, { bigint: true }).mtimeNs, before, 'a hash already in the bucket is not uploaded again');
    assert.deepEqual(await keysIn('node-media/'), [`node-media/${saved.sha256}`]);

    await assert.rejects(media.put(Buffer.alloc(1001)), /1001 bytes, more than media\.maxBytes \(1000\)/u);
    assert.equal(await media.read('f'.repeat(64)), undefined, 'a hash not in the bucket reads as nothing');
    assert.equal(await media.read('../secret'), undefined);

    const note = await media.put(Buffer.from('voice note'));
    const unrelated = createS3MediaStore('s3://hearth-media/other', { endpoint, ...credentials }, 1000);
    const kept = await unrelated.put(Buffer.from('another prefix'));
    // Grace 0 and "now" in the future: everything is old enough, only the references decide.
    const later = Date.now() + 60_000;
    assert.deepEqual(await media.prune(new Set([saved.sha256]), 0, later), { files: 1, bytes: 'voice note'.length });
    assert.deepEqual(await keysIn('node-media/'), [`node-media/${saved.sha256}`], 'the referenced photo stays, the unreferenced note is deleted');
    assert.equal(await media.read(note.ref), undefined);
    assert.deepEqual(await keysIn('other/'), [`other/${kept.sha256}`], 'objects under another prefix are not touched');
    assert.deepEqual(await media.prune(new Set(), 3_600_000, Date.now()), { files: 0, bytes: 0 }, 'an object saved within the grace period waits for its transcript');
    unrelated.close();
  } finally {
    media.close();
    elsewhere.close();
  }
});

test('pruning the object store lists it a bounded page at a time and walks every page', async () => {
  const media = createS3MediaStore('s3://hearth-media/paged', { endpoint, ...credentials }, 1000, { pruneListPageSize: 2 });
  try {
    const saved = [];
    for (let i = 0; i < 7; i++) saved.push(await media.put(Buffer.from(`file ${i}`)));
    const byKey = [...saved].sort((a, b) => a.sha256.localeCompare(b.sha256));
    // Keep the first and the last key in listing order: the last is only on the fourth page.
    const keep = new Set([byKey[0]?.sha256 as string, byKey[6]?.sha256 as string]);
    assert.deepEqual(await media.prune(keep, 0, Date.now() + 60_000), { files: 5, bytes: byKey.slice(1, 6).reduce((sum, item) => sum + item.sizeBytes, 0) });
    assert.deepEqual((await keysIn('paged/')).sort(), [...keep].map((sha) => `paged/${sha}`).sort());
  } finally {
    media.close();
  }
});

test('a media.to folder is used as given; without it media goes to <home>/media', async () => {
  const home = mkdtempSync(join(tmpdir(), 'hearth-home-'));
  try {
    const byDefault = createMediaStore({ maxBytes: 100 }, home);
    const saved = await byDefault.put(Buffer.from('x'));
    assert.deepEqual(readdirSync(join(home, 'media', saved.sha256.slice(0, 2))), [saved.sha256]);
    const elsewhere = createMediaStore({ maxBytes: 100, to: join(home, 'shared') }, home);
    await elsewhere.put(Buffer.from('x'));
    assert.ok(existsSync(join(home, 'shared', saved.sha256.slice(0, 2), saved.sha256)));
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('transcript text refers to media by media/<sha256>', () => {
  const sha = 'a'.repeat(64);
  assert.deepEqual(mediaRefs(`[image: cat.jpg] (media/${sha}, 3000 bytes) and media/short`), [sha]);
});
