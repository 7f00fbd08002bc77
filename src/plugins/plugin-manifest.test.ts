import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../test/support/gateway-harness.js';
import { findPluginFolders } from './plugin-discovery.js';
import { readPluginManifest } from './plugin-manifest.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'plugins');

/** A temp folder holding one plugin folder `name` with `manifest` (an object, or raw text) and an index.js. */
function withPluginFolder(name: string, manifest: unknown, run: (dir: string, root: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const root = mkdtempSync(join(tmpdir(), 'hearth-manifest-'));
    const dir = join(root, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'hearth.plugin.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
    writeFileSync(join(dir, 'index.js'), 'export default function activate() {}\n');
    try {
      await run(dir, root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
}

const valid = { id: 'demo', version: '1.2.3', entry: 'index.js', registers: { tools: ['do_it'], hooks: ['message_sending'] } };

test('a valid manifest is read with its entry resolved inside the folder', async () => {
  const reading = await readPluginManifest(join(FIXTURES, 'shouter'), { expectedId: 'shouter' });
  assert.ok(reading.ok, JSON.stringify(reading));
  assert.equal(reading.manifest.id, 'shouter');
  assert.equal(reading.manifest.version, '1.0.0');
  assert.deepEqual(reading.manifest.registers.tools, ['shout']);
  assert.deepEqual(reading.manifest.registers.hooks, ['before_tool_call', 'message_sending']);
  assert.equal(reading.entryPath, realpathSync(join(FIXTURES, 'shouter', 'index.js')));
});

test('registers defaults to nothing; routes and channels are accepted as declared', withPluginFolder('demo', { id: 'demo', version: '0.1.0', entry: 'index.js', registers: { routes: ['GET /x', 'POST /a/b.c/d_e/f-1/2/3/4/5'], channels: ['irc2'] } }, async (dir) => {
  const reading = await readPluginManifest(dir);
  assert.ok(reading.ok, JSON.stringify(reading));
  assert.deepEqual(reading.manifest.registers, { tools: [], hooks: [], routes: ['GET /x', 'POST /a/b.c/d_e/f-1/2/3/4/5'], channels: ['irc2'] });
}));

const invalidCases: { name: string; manifest: unknown; folder?: string; expected: RegExp }[] = [
  { name: 'an id with capitals', manifest: { ...valid, id: 'Demo' }, expected: /^hearth\.plugin\.json is invalid: id: must be/ },
  { name: 'an id longer than 24 characters', manifest: { ...valid, id: 'a'.repeat(25) }, expected: /id: must be/ },
  { name: 'no version', manifest: { id: 'demo', entry: 'index.js' }, expected: /version: / },
  { name: 'a version that is not one', manifest: { ...valid, version: 'latest' }, expected: /version: must be a version/ },
  { name: 'an entry with ..', manifest: { ...valid, entry: '../../etc/passwd' }, expected: /entry: must be a relative path inside the plugin folder/ },
  { name: 'an absolute entry', manifest: { ...valid, entry: '/etc/passwd' }, expected: /entry: must be a relative path/ },
  { name: 'a Windows-absolute entry', manifest: { ...valid, entry: 'C:\\x\\index.js' }, expected: /entry: must be a relative path/ },
  { name: 'an entry that does not exist', manifest: { ...valid, entry: 'lib/main.js' }, expected: /entry: "lib\/main\.js" does not exist/ },
  { name: 'a bad tool name', manifest: { ...valid, registers: { tools: ['Shout!'] } }, expected: /registers\.tools\.0: tool names are/ },
  { name: 'a tool listed twice', manifest: { ...valid, registers: { tools: ['a', 'a'] } }, expected: /registers\.tools: lists a tool twice/ },
  { name: 'a route without a method', manifest: { ...valid, registers: { routes: ['/x'] } }, expected: /registers\.routes\.0: routes are "METHOD \/path"/ },
  { name: 'a route with an unknown method', manifest: { ...valid, registers: { routes: ['PATCH /x'] } }, expected: /registers\.routes\.0: routes are/ },
  { name: 'a route with ..', manifest: { ...valid, registers: { routes: ['GET /a/../b'] } }, expected: /registers\.routes\.0: routes are/ },
  { name: 'a route with a query or odd characters', manifest: { ...valid, registers: { routes: ['GET /a?b=1'] } }, expected: /registers\.routes\.0: routes are/ },
  { name: 'a route with a trailing slash', manifest: { ...valid, registers: { routes: ['GET /a/'] } }, expected: /registers\.routes\.0: routes are/ },
  { name: 'a route of 9 segments', manifest: { ...valid, registers: { routes: ['GET /1/2/3/4/5/6/7/8/9'] } }, expected: /registers\.routes\.0: routes are/ },
  { name: 'a route listed twice', manifest: { ...valid, registers: { routes: ['GET /x', 'GET /x'] } }, expected: /registers\.routes: lists a route twice/ },
  { name: 'a channel named like a built-in one', manifest: { ...valid, registers: { channels: ['telegram'] } }, expected: /registers\.channels\.0: a plugin's channel cannot take the name of a built-in one \(telegram, discord, slack, irc, ([a-z]+, )*webchat\)/ },
  { name: 'a channel name with capitals', manifest: { ...valid, registers: { channels: ['LoopChat'] } }, expected: /registers\.channels\.0: channel names are 1 to 24 lowercase letters/ },
  { name: 'a channel listed twice', manifest: { ...valid, registers: { channels: ['loopchat', 'loopchat'] } }, expected: /registers\.channels: lists a channel twice/ },
  { name: 'an unknown hook', manifest: { ...valid, registers: { hooks: ['on_boot'] } }, expected: /registers\.hooks\.0: / },
  { name: 'an id that differs from its folder', manifest: valid, folder: 'other', expected: /id: "demo" differs from its folder name "other"/ },
  { name: 'text that is not JSON', manifest: '{ id: demo', expected: /hearth\.plugin\.json is not valid JSON/ },
  { name: 'JSON that is not an object', manifest: '[1, 2]', expected: /\(top level\): / },
];

for (const { name, manifest, folder, expected } of invalidCases) {
  test(`a manifest with ${name} is refused, naming the field`, withPluginFolder(folder ?? 'demo', manifest, async (dir) => {
    const reading = await readPluginManifest(dir, { expectedId: folder ?? 'demo' });
    assert.equal(reading.ok, false);
    assert.ok(!reading.ok);
    assert.equal(reading.missing, false);
    assert.match(reading.error, expected);
  }));
}

test('an entry that is a link leading outside the folder is refused', withPluginFolder('demo', { ...valid, entry: 'link.js' }, async (dir, root) => {
  writeFileSync(join(root, 'outside.js'), 'export default function activate() {}\n');
  symlinkSync(join(root, 'outside.js'), join(dir, 'link.js'));
  const reading = await readPluginManifest(dir);
  assert.ok(!reading.ok);
  assert.match(reading.error, /entry: "link\.js" leads outside the plugin folder/);
}));

test('a folder without a manifest is reported as missing, not invalid', async () => {
  const reading = await readPluginManifest(join(FIXTURES, 'shared'));
  assert.ok(!reading.ok);
  assert.equal(reading.missing, true);
});

test('reading a manifest runs no plugin code', withPluginFolder('demo', valid, async (dir) => {
  const marker = join(dir, 'marker.txt');
  writeFileSync(join(dir, 'index.js'), `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\nexport default function activate() {}\n`);
  const reading = await readPluginManifest(dir, { expectedId: 'demo' });
  assert.ok(reading.ok, JSON.stringify(reading));
  const folders = await findPluginFolders([join(dir, '..')], []);
  assert.deepEqual(folders, [{ dir, expectedId: 'demo' }]);
  assert.equal(existsSync(marker), false, 'the entry was not imported');
}));

test('plugin folders: sorted, dot-folders and missing roots skipped, single folders after, each once', async () => {
  const folders = await findPluginFolders([FIXTURES, join(FIXTURES, 'no-such-folder')], [join(FIXTURES, 'shouter'), join(FIXTURES, 'hangs', '..', 'hangs')]);
  const names = folders.map((folder) => folder.expectedId);
  assert.deepEqual(names, [...names].sort());
  assert.ok(names.includes('shouter') && names.includes('shared'));
  assert.ok(folders.every((folder) => folder.expectedId !== null && !folder.expectedId.startsWith('.')));
  assert.equal(new Set(folders.map((folder) => folder.dir)).size, folders.length);
});
