import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ChannelRunContext, InboundMessage } from '../contracts/channel.js';
import { createFolderMediaStore, createS3MediaStore } from '../media/media-store.js';
import { saveAttachments } from './save-attachments.js';

const message: InboundMessage = {
  messageId: '1',
  chat: { id: 'c1', kind: 'direct' },
  sender: { id: 'u1' },
  text: 'two photos',
  mentionsBot: false,
  replyToBot: false,
  attachments: [
    { kind: 'image', id: 'a', name: 'cat.jpg' },
    { kind: 'image', id: 'b', name: 'dog.jpg' },
  ],
};

function context(media: { put(bytes: Uint8Array): Promise<{ ref: string; sha256: string; sizeBytes: number }>; maxBytes: number }): ChannelRunContext {
  return {
    signal: new AbortController().signal,
    receive: async () => undefined,
    reject: () => undefined,
    connected: () => undefined,
    progress: () => undefined,
    saveMedia: (bytes) => media.put(bytes),
    mediaMaxBytes: media.maxBytes,
  };
}

test('an attachment the object store refuses is noted as not saved and the message still goes on with the others', async () => {
  // Nothing listens on port 9: every upload fails to connect.
  const unreachable = createS3MediaStore('s3://hearth-media/x', { endpoint: 'http://127.0.0.1:9', accessKeyId: 'k', secretAccessKey: 's' }, 1000);
  try {
    const saved = await saveAttachments(message, context(unreachable), async (item) => Buffer.from(`bytes of ${item.name}`));
    assert.equal(saved.text, 'two photos');
    assert.equal(saved.attachments.length, 2);
    for (const item of saved.attachments) {
      assert.equal(item.media, undefined);
      assert.ok(item.notSaved && item.notSaved.length > 0, `the failure is noted on ${item.name}`);
    }
  } finally {
    unreachable.close();
  }
});

test('a saved attachment refers to media/<sha256> and one whose download fails is noted beside it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-media-'));
  try {
    const media = createFolderMediaStore(dir, 1000);
    const saved = await saveAttachments(message, context(media), async (item) => {
      if (item.name === 'dog.jpg') throw new Error('the platform answered 404');
      return Buffer.from('hello');
    });
    assert.deepEqual(saved.attachments, [
      { kind: 'image', id: 'a', name: 'cat.jpg', media: 'media/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824', sizeBytes: 5 },
      { kind: 'image', id: 'b', name: 'dog.jpg', notSaved: 'the platform answered 404' },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
