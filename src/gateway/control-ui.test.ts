import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { test } from 'node:test';
import { loadControlUi } from './control-ui.js';

interface Answer {
  status?: number;
  headers?: Record<string, unknown>;
  body?: Buffer;
}

function ask(ui: ReturnType<typeof loadControlUi>, path: string, acceptEncoding = ''): Answer | false {
  const answer: Answer = {};
  const request = { method: 'GET', headers: { 'accept-encoding': acceptEncoding } } as unknown as IncomingMessage;
  const response = {
    writeHead(status: number, headers: Record<string, unknown>) {
      answer.status = status;
      answer.headers = headers;
    },
    end(body?: Buffer) {
      answer.body = body;
    },
  } as unknown as ServerResponse;
  return ui.serve(request, response, path) ? answer : false;
}

function builtUi(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-ui-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Hearth</title>');
  writeFileSync(join(dir, 'assets', 'app-1.js'), 'console.log("one")');
  return dir;
}

test('the Control UI is read from disk when first asked for, not at start, and then kept', (t) => {
  const dir = builtUi();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ui = loadControlUi(pathToFileURL(`${dir}/`));
  // Rebuilt after the gateway started: what is served is what is there at the first request.
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Hearth, rebuilt</title>');
  const page = ask(ui, '/');
  assert.ok(page);
  assert.match(String(page.body), /rebuilt/u);
  assert.equal(page.headers?.['cache-control'], 'no-cache');

  const script = ask(ui, '/assets/app-1.js', 'gzip, br');
  assert.ok(script);
  assert.equal(script.headers?.['content-encoding'], 'gzip');
  assert.equal(gunzipSync(script.body!).toString(), 'console.log("one")');
  assert.equal(script.headers?.['cache-control'], 'public, max-age=31536000, immutable');

  // Kept once read: a change on disk afterwards does not show.
  writeFileSync(join(dir, 'assets', 'app-1.js'), 'console.log("changed")');
  const again = ask(ui, '/assets/app-1.js');
  assert.ok(again);
  assert.equal(String(again.body), 'console.log("one")');
});

test('only files built into assets/ are served: no other name, no path out of the folder', (t) => {
  const dir = builtUi();
  writeFileSync(join(dir, 'secret.js'), 'nope');
  writeFileSync(join(dir, 'assets', 'notes.txt'), 'not a type the UI serves');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ui = loadControlUi(pathToFileURL(`${dir}/`));
  assert.equal(ask(ui, '/assets/../secret.js'), false);
  assert.equal(ask(ui, '/assets/missing.js'), false);
  assert.equal(ask(ui, '/assets/notes.txt'), false);
  assert.equal(ask(ui, '/other'), false);
});

test('without a built UI the page says how to build it', () => {
  const ui = loadControlUi(pathToFileURL(join(tmpdir(), 'hearth-no-ui-here/')));
  const page = ask(ui, '/index.html');
  assert.ok(page);
  assert.match(String(page.body), /npm run build/u);
  assert.equal(ask(ui, '/assets/app-1.js'), false);
});
