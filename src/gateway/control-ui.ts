import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** One file of the built Control UI, kept in memory with its gzip form. */
interface UiFile {
  body: Buffer;
  gzip: Buffer;
  type: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
};

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const MISSING_PAGE = Buffer.from(
  '<!doctype html><html lang="en"><title>Hearth</title><p>The Control UI is not built in this install (dist/ui/ is missing): run <code>npm run build</code>, then reload. <a href="/webchat">WebChat</a> works without it.</p></html>',
);

function uiFile(body: Buffer, type: string): UiFile {
  return { body, gzip: gzipSync(body, { level: 9 }), type };
}

/**
 * The Control UI as Vite built it into dist/ui/ (docs/ui.md): `index.html` and the hashed files
 * under `assets/`, read once at start. Assets are served with a year's caching (their names change
 * with their content), the page itself never cached, both gzipped for clients that accept it.
 */
export function loadControlUi(root = new URL('../../../dist/ui/', import.meta.url)) {
  const files = new Map<string, UiFile>();
  let index: UiFile;
  try {
    index = uiFile(readFileSync(fileURLToPath(new URL('index.html', root))), TYPES['.html']!);
    for (const name of readdirSync(fileURLToPath(new URL('assets/', root)))) {
      const type = TYPES[extname(name)];
      if (type) files.set(`/assets/${name}`, uiFile(readFileSync(fileURLToPath(new URL(`assets/${name}`, root))), type));
    }
  } catch {
    index = uiFile(MISSING_PAGE, TYPES['.html']!);
  }

  const send = (request: IncomingMessage, response: ServerResponse, file: UiFile, cache: string) => {
    const gzip = /\bgzip\b/u.test(String(request.headers['accept-encoding'] ?? ''));
    const body = gzip ? file.gzip : file.body;
    response.writeHead(200, {
      'content-type': file.type,
      'content-length': body.length,
      'cache-control': cache,
      vary: 'accept-encoding',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      ...SECURITY_HEADERS,
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  };

  return {
    /** Answers `/` and `/assets/…`; false when the path is not the Control UI's. */
    serve(request: IncomingMessage, response: ServerResponse, path: string): boolean {
      if (path === '/' || path === '/index.html') {
        send(request, response, index, 'no-cache');
        return true;
      }
      const file = files.get(path);
      if (!file) return false;
      send(request, response, file, 'public, max-age=31536000, immutable');
      return true;
    },
  };
}
