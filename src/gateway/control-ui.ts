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

/** `index.html`, or the page that says how to build the UI when dist/ui/ is missing. */
function readIndex(root: URL): UiFile {
  try {
    return uiFile(readFileSync(fileURLToPath(new URL('index.html', root))), TYPES['.html']!);
  } catch {
    return uiFile(MISSING_PAGE, TYPES['.html']!);
  }
}

/** The names of the servable files in `assets/` (none when it is missing). */
function listAssets(root: URL): Set<string> {
  try {
    return new Set(readdirSync(fileURLToPath(new URL('assets/', root))).filter((name) => TYPES[extname(name)]));
  } catch {
    return new Set();
  }
}

/**
 * The Control UI as Vite built it into dist/ui/ (docs/ui.md): `index.html` and the hashed files
 * under `assets/`, each read and gzipped when first asked for (not at start: that is a quarter of
 * a megabyte compressed at level 9), then kept. Assets are served with a year's caching (their
 * names change with their content), the page itself never cached, both gzipped for clients that
 * accept it.
 */
export function loadControlUi(root = new URL('../../../dist/ui/', import.meta.url)) {
  let index: UiFile | undefined;
  let assets: Set<string> | undefined;
  /** Only names listed in `assets/`: at most one entry per built file. */
  const files = new Map<string, UiFile>();
  const asset = (path: string): UiFile | undefined => {
    if (!path.startsWith('/assets/')) return undefined;
    const name = path.slice('/assets/'.length);
    assets ??= listAssets(root);
    if (!assets.has(name)) return undefined;
    let file = files.get(name);
    if (!file) {
      try {
        file = uiFile(readFileSync(fileURLToPath(new URL(`assets/${name}`, root))), TYPES[extname(name)]!);
      } catch {
        return undefined;
      }
      files.set(name, file);
    }
    return file;
  };

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
        index ??= readIndex(root);
        send(request, response, index, 'no-cache');
        return true;
      }
      const file = asset(path);
      if (!file) return false;
      send(request, response, file, 'public, max-age=31536000, immutable');
      return true;
    },
  };
}
