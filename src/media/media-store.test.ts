import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createMediaStore, mediaRefs } from './media-store.js';

test('a file is kept once under its SHA-256, refused over the cap, and pruned only when unreferenced and past the grace period', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-media-'));
  try {
    const media = createMediaStore(dir, 10);
    const first = media.put(Buffer.from('hello'));
    assert.equal(first.sha256, '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    assert.equal(first.ref, `media/${first.sha256}`);
    assert.deepEqual(media.put(Buffer.from('hello')), first, 'the same bytes are the same file');
    assert.equal(readFileSync(media.path(first.sha256) as string, 'utf8'), 'hello');
    assert.throws(() => media.put(Buffer.alloc(11)), /11 bytes, more than .*\(10\)/u);
    const other = media.put(Buffer.from('bye'));
    const old = Date.now() / 1000 - 3600;
    utimesSync(media.path(other.sha256) as string, old, old);
    utimesSync(media.path(first.sha256) as string, old, old);
    assert.deepEqual(media.prune(new Set([first.sha256]), 60_000, Date.now()), { files: 1, bytes: 3 });
    assert.ok(media.path(first.sha256), 'a referenced file stays');
    assert.equal(existsSync(join(dir, other.sha256.slice(0, 2), other.sha256)), false);
    const fresh = media.put(Buffer.from('new'));
    assert.deepEqual(media.prune(new Set(), 60_000, Date.now()).files, 1, 'only the old unreferenced one goes; a file saved a moment ago waits for its transcript');
    assert.ok(media.path(fresh.sha256));
    assert.equal(media.path('../../etc/passwd'), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('transcript text refers to media by media/<sha256>', () => {
  const sha = 'a'.repeat(64);
  assert.deepEqual(mediaRefs(`[image: cat.jpg] (media/${sha}, 3000 bytes) and media/short`), [sha]);
});
