import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readChannelCredentials } from './channel-credentials.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test('saved channel credentials are checked against their schema: a file that fails is handed over whole and never half-loaded', () => {
  const credentialsDir = mkdtempSync(join(tmpdir(), 'hearth-credentials-'));
  dirs.push(credentialsDir);
  const dir = join(credentialsDir, 'channels');
  mkdirSync(dir);
  writeFileSync(join(dir, 'telegram--default.json'), JSON.stringify({ botToken: '123:abc' }));
  writeFileSync(join(dir, 'slack--work.json'), JSON.stringify({ botToken: 'xoxb-1', appToken: 42 }));
  writeFileSync(join(dir, 'discord--main.json'), JSON.stringify({ token: 'abc', tokne: 'typo' }));
  writeFileSync(join(dir, 'irc--libera.json'), '{ "password": ');
  writeFileSync(join(dir, 'xmpp--home.json'), JSON.stringify({ token: 'x' }));
  writeFileSync(join(dir, 'matrix--home.json'), JSON.stringify({ token: 'x' }));
  writeFileSync(join(dir, 'telegram--default.json.123.tmp'), 'half written');

  const invalid: Record<string, string> = {};
  const loaded = readChannelCredentials(credentialsDir, (file, problem) => {
    invalid[file.slice(dir.length + 1)] = problem;
  });

  assert.deepEqual(loaded, { 'telegram:default': { botToken: '123:abc' } }, 'only the valid file is loaded; nothing from the others');
  assert.deepEqual(Object.keys(invalid).sort(), ['discord--main.json', 'irc--libera.json', 'matrix--home.json', 'slack--work.json', 'xmpp--home.json']);
  assert.match(invalid['slack--work.json'] ?? '', /"appToken" is not a string/u);
  assert.match(invalid['discord--main.json'] ?? '', /"tokne" is not a discord login field \(token\)/u);
  assert.match(invalid['irc--libera.json'] ?? '', /not JSON/u);
  assert.match(invalid['matrix--home.json'] ?? '', /"token" is not a matrix login field \(accessToken\)/u);
  assert.match(invalid['xmpp--home.json'] ?? '', /"xmpp" is not a platform Hearth knows/u);
});
