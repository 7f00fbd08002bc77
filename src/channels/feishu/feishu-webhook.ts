import { createHash, timingSafeEqual } from 'node:crypto';
import { AESCipher } from '@larksuiteoapi/node-sdk';
import type { WebhookRequest } from '../../contracts/channel.js';

/**
 * Reading what Feishu pushes to `/channels/feishu/<account>/webhook`: the URL verification
 * challenge and events, in plain JSON or encrypted (`{"encrypt": "…"}`, AES-256-CBC with the
 * SHA-256 of the Encrypt Key, decrypted by the SDK's AESCipher).
 *
 * Authentication: with an Encrypt Key, every event carries `X-Lark-Signature`, the hex SHA-256
 * of timestamp + nonce + Encrypt Key + the raw body; the URL challenge comes unsigned and is
 * authenticated by its Verification Token. Without an Encrypt Key the Verification Token in the
 * body (`header.token` in v2 events) is the only check. The SDK's EventDispatcher is not used: it
 * signs `JSON.stringify` of the parsed body instead of the bytes received, never checks the
 * Verification Token, and answers the challenge without any check.
 */

/** The largest body read: events are a few KiB; 1 MiB leaves room for long rich-text posts. */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

/** What one push is, once read and checked. */
export type FeishuPush =
  /** The URL verification challenge, with a correct Verification Token: answer `{"challenge"}`. */
  | { kind: 'challenge'; challenge: string }
  /** A genuine event (v2: `header.event_id`/`event_type`; v1: `uuid`/`event.type`). */
  | { kind: 'event'; eventId: string; eventType: string; event: Record<string, unknown> }
  /** Not shown to come from Feishu (bad signature or token): refused, nothing is logged as skipped. */
  | { kind: 'refused'; status: number; reason: string }
  /** From Feishu but not understood: acknowledged (a retry would not fix it) and reported. */
  | { kind: 'unreadable'; reason: string; payload: unknown };

export interface FeishuSecrets {
  verificationToken: string;
  encryptKey?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One header's value, or undefined when it is missing or repeated. */
function headerOf(headers: WebhookRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

function sameText(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const SIGNATURE_HEADERS = ['x-lark-request-timestamp', 'x-lark-request-nonce', 'x-lark-signature'] as const;

/** What of the signature headers can be checked before the body is read: all three or none, well-formed. */
export function feishuHeaderProblem(headers: WebhookRequest['headers']): string | null {
  const present = SIGNATURE_HEADERS.filter((name) => headers[name] !== undefined);
  if (present.length === 0) return null;
  if (present.length < SIGNATURE_HEADERS.length) return 'incomplete signature headers (X-Lark-Request-Timestamp, X-Lark-Request-Nonce and X-Lark-Signature go together)';
  const timestamp = headerOf(headers, 'x-lark-request-timestamp');
  const nonce = headerOf(headers, 'x-lark-request-nonce');
  const signature = headerOf(headers, 'x-lark-signature');
  if (timestamp === undefined || !/^\d{1,13}$/u.test(timestamp)) return 'malformed X-Lark-Request-Timestamp';
  if (nonce === undefined || nonce.length === 0 || nonce.length > 128) return 'malformed X-Lark-Request-Nonce';
  if (signature === undefined || !/^[0-9a-f]{64}$/u.test(signature)) return 'malformed X-Lark-Signature';
  return null;
}

/** Feishu's request signature: hex SHA-256 of timestamp + nonce + Encrypt Key + raw body. */
export function feishuSignature(timestamp: string, nonce: string, encryptKey: string, body: Buffer): string {
  return createHash('sha256').update(timestamp + nonce + encryptKey).update(body).digest('hex');
}

/** `signed` when the headers carry a correct signature, `unsigned` when there are none, else why not. */
function checkSignature(request: WebhookRequest, encryptKey: string): 'signed' | 'unsigned' | { problem: string } {
  const problem = feishuHeaderProblem(request.headers);
  if (problem !== null) return { problem };
  const timestamp = headerOf(request.headers, 'x-lark-request-timestamp');
  const nonce = headerOf(request.headers, 'x-lark-request-nonce');
  const signature = headerOf(request.headers, 'x-lark-signature');
  if (timestamp === undefined || nonce === undefined || signature === undefined) return 'unsigned';
  return sameText(signature, feishuSignature(timestamp, nonce, encryptKey, request.body)) ? 'signed' : { problem: 'wrong X-Lark-Signature' };
}

function parseJson(text: string): { value: unknown } | null {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return null;
  }
}

/** The body as JSON, decrypted when it is `{"encrypt": "…"}`; or why it cannot be read. */
function openBody(body: Buffer, encryptKey: string | undefined): { payload: Record<string, unknown>; encrypted: boolean } | { problem: string; status: number } {
  const outer = parseJson(body.toString('utf8'));
  if (outer === null || !isRecord(outer.value)) return { problem: 'a push whose body is not a JSON object', status: 400 };
  const encrypt = outer.value.encrypt;
  if (encrypt === undefined) return { payload: outer.value, encrypted: false };
  if (typeof encrypt !== 'string') return { problem: 'a push whose "encrypt" is not a string', status: 400 };
  if (encryptKey === undefined) return { problem: 'an encrypted push, but this account has no encryptKey (set the Encrypt Key from Events & Callbacks → Encryption strategy)', status: 400 };
  let text: string;
  try {
    text = new AESCipher(encryptKey).decrypt(encrypt);
  } catch {
    return { problem: 'an encrypted push that does not decrypt with the encryptKey', status: 400 };
  }
  const inner = parseJson(text);
  if (inner === null || !isRecord(inner.value)) return { problem: 'an encrypted push that does not decrypt to a JSON object', status: 400 };
  return { payload: inner.value, encrypted: true };
}

/** The Verification Token an event or challenge carries (v2 `header.token`, v1 and challenge `token`). */
function tokenOf(payload: Record<string, unknown>): string | undefined {
  const header = payload.header;
  if (isRecord(header) && typeof header.token === 'string') return header.token;
  return typeof payload.token === 'string' ? payload.token : undefined;
}

/** The event inside a checked payload (v2 schema, or the older v1 envelope). */
function eventOf(payload: Record<string, unknown>): FeishuPush {
  const header = payload.header;
  if (payload.schema === '2.0') {
    if (!isRecord(header) || typeof header.event_id !== 'string' || typeof header.event_type !== 'string' || !isRecord(payload.event)) {
      return { kind: 'unreadable', reason: 'a v2 event without header.event_id, header.event_type or event', payload };
    }
    return { kind: 'event', eventId: header.event_id, eventType: header.event_type, event: payload.event };
  }
  const event = payload.event;
  if (payload.type === 'event_callback' && typeof payload.uuid === 'string' && isRecord(event) && typeof event.type === 'string') {
    return { kind: 'event', eventId: payload.uuid, eventType: event.type, event };
  }
  return { kind: 'unreadable', reason: 'a push that is neither a v2 event, a v1 event nor a URL challenge', payload };
}

/**
 * Reads and checks one push. The challenge needs the right Verification Token; an event needs the
 * right token and, when the account has an Encrypt Key, a correct signature.
 */
export function readFeishuPush(request: WebhookRequest, secrets: FeishuSecrets): FeishuPush {
  const { encryptKey, verificationToken } = secrets;
  const signature = encryptKey === undefined ? 'unsigned' : checkSignature(request, encryptKey);
  if (typeof signature === 'object') return { kind: 'refused', status: 401, reason: signature.problem };
  const opened = openBody(request.body, encryptKey);
  if ('problem' in opened) {
    // Signed by Feishu yet unreadable: acknowledge it so Feishu does not push it again and again.
    if (signature === 'signed') return { kind: 'unreadable', reason: opened.problem, payload: request.body.toString('utf8').slice(0, 200) };
    return { kind: 'refused', status: opened.status, reason: opened.problem };
  }
  const { payload } = opened;
  const token = tokenOf(payload);
  if (payload.type === 'url_verification') {
    if (token === undefined || !sameText(token, verificationToken)) return { kind: 'refused', status: 403, reason: 'a URL challenge with the wrong Verification Token' };
    if (typeof payload.challenge !== 'string') return { kind: 'unreadable', reason: 'a URL challenge without a challenge', payload };
    return { kind: 'challenge', challenge: payload.challenge };
  }
  if (encryptKey !== undefined && signature !== 'signed') {
    return { kind: 'refused', status: 401, reason: 'an unsigned event (with an Encrypt Key set, Feishu signs every event with X-Lark-Signature)' };
  }
  if (token === undefined || !sameText(token, verificationToken)) return { kind: 'refused', status: 403, reason: 'an event with the wrong Verification Token' };
  return eventOf(payload);
}
