import type { IncomingMessage } from 'node:http';

export class BodyTooLarge extends Error {
  override readonly name = 'BodyTooLarge';
}
export class MalformedBody extends Error {
  override readonly name = 'MalformedBody';
}
/** The client went away (or the request timed out) before the whole body arrived. */
export class BodyAborted extends Error {
  override readonly name = 'BodyAborted';
}

/** Reads a request body of at most `limit` bytes; a larger declared or streamed body rejects with BodyTooLarge. */
export function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length'] ?? '0');
    if (declared > limit) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners('data');
        request.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
    request.on('close', () => {
      if (!request.complete) reject(new BodyAborted());
    });
  });
}

export async function readJsonBody(request: IncomingMessage, limit: number): Promise<unknown> {
  const body = await readBody(request, limit);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new MalformedBody((error as Error).message);
  }
}

/** True when the request has a body that has not been read (to its end) yet. */
export function bodyUnread(request: IncomingMessage): boolean {
  if (request.complete) return false;
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** True when the request says its body is JSON (`application/json`, any parameters). */
export function isJsonContentType(request: IncomingMessage): boolean {
  const type = request.headers['content-type'];
  if (typeof type !== 'string') return false;
  return type.split(';', 1)[0]?.trim().toLowerCase() === 'application/json';
}
