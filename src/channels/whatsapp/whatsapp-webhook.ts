import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AttachmentInfo, InboundMessage, WebhookRequest } from '../../contracts/channel.js';

/**
 * What Meta pushes to a WhatsApp Cloud API webhook, checked and normalised: the GET handshake
 * that verifies the callback URL, the `X-Hub-Signature-256` of every POST, and the `messages`
 * changes in `entry[].changes[].value`.
 */

/** The largest webhook body read: Meta's payloads are at most 3 MB. */
export const MAX_WEBHOOK_BODY_BYTES = 3 * 1024 * 1024;
/** The longest `hub.challenge` echoed (Meta sends a number). */
const MAX_CHALLENGE_LENGTH = 256;
/** Messages of one push handed over at most (Meta batches up to 1,000 updates). */
const MAX_MESSAGES_PER_PUSH = 1_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Meta's check of the callback URL: `GET …?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`
 * is answered with the challenge when the token equals `verifyToken`, else refused with 403.
 */
export function answerVerification(query: Record<string, string>, verifyToken: string | undefined, where: string): { status: number; body: string } {
  if (verifyToken === undefined || verifyToken.length === 0) return { status: 403, body: `set ${where}.verifyToken to the Verify token entered in the Meta app` };
  if (query['hub.mode'] !== 'subscribe') return { status: 403, body: 'hub.mode must be "subscribe"' };
  const token = query['hub.verify_token'];
  if (token === undefined || !sameSecret(token, verifyToken)) return { status: 403, body: 'wrong hub.verify_token' };
  const challenge = query['hub.challenge'];
  if (challenge === undefined || challenge.length === 0 || challenge.length > MAX_CHALLENGE_LENGTH || !/^[A-Za-z0-9._~-]+$/u.test(challenge)) return { status: 400, body: 'missing or malformed hub.challenge' };
  return { status: 200, body: challenge };
}

/** What of a push's signature can be checked before its body is read: `X-Hub-Signature-256` present and well-formed. */
export function signatureHeaderProblem(headers: WebhookRequest['headers']): string | null {
  const signature = headers['x-hub-signature-256'];
  if (signature === undefined) return 'missing X-Hub-Signature-256';
  if (typeof signature !== 'string' || !/^sha256=[0-9a-fA-F]{64}$/u.test(signature)) return 'malformed X-Hub-Signature-256';
  return null;
}

/** True when `X-Hub-Signature-256` is `sha256=` and the hex HMAC-SHA256 of the raw body keyed with the app secret. */
export function signatureMatches(appSecret: string, request: WebhookRequest): boolean {
  const signature = request.headers['x-hub-signature-256'];
  if (typeof signature !== 'string') return false;
  const expected = `sha256=${createHmac('sha256', appSecret).update(request.body).digest('hex')}`;
  return sameSecret(signature.toLowerCase(), expected);
}

const MEDIA_KINDS: Readonly<Record<string, AttachmentInfo['kind']>> = { image: 'image', audio: 'audio', voice: 'audio', video: 'video', document: 'file', sticker: 'sticker' };

function mediaOf(message: Record<string, unknown>, type: string): { attachment: AttachmentInfo; caption?: string } | null {
  const kind = MEDIA_KINDS[type];
  const media = message[type];
  if (kind === undefined || !isRecord(media)) return null;
  const id = str(media.id);
  const mimeType = str(media.mime_type);
  const name = str(media.filename);
  const caption = str(media.caption);
  return {
    attachment: { kind, ...(id === undefined ? {} : { id }), ...(name === undefined ? {} : { name }), ...(mimeType === undefined ? {} : { mimeType }) },
    ...(caption === undefined ? {} : { caption }),
  };
}

/** The words of a message that is not plain text: a button or list reply, a location, shared contacts. */
function textOf(message: Record<string, unknown>, type: string): string | null {
  if (type === 'button' && isRecord(message.button)) return str(message.button.text) ?? str(message.button.payload) ?? null;
  if (type === 'interactive' && isRecord(message.interactive)) {
    const reply = isRecord(message.interactive.button_reply) ? message.interactive.button_reply : isRecord(message.interactive.list_reply) ? message.interactive.list_reply : undefined;
    return reply ? (str(reply.title) ?? str(reply.id) ?? null) : null;
  }
  if (type === 'location' && isRecord(message.location)) {
    const { latitude, longitude } = message.location;
    if (typeof latitude !== 'number' || typeof longitude !== 'number') return null;
    const label = [str(message.location.name), str(message.location.address)].filter((part) => part !== undefined).join(', ');
    return `[location${label ? `: ${label}` : ''} (${latitude}, ${longitude})]`;
  }
  if (type === 'contacts' && Array.isArray(message.contacts)) {
    const names = message.contacts.flatMap((contact) => (isRecord(contact) && isRecord(contact.name) && typeof contact.name.formatted_name === 'string' ? [contact.name.formatted_name] : []));
    return `[shared contact${names.length === 1 ? '' : 's'}${names.length > 0 ? `: ${names.join(', ')}` : ''}]`;
  }
  return null;
}

/** Message types that are no one writing to the bot (reactions, notices, unsupported content): skipped quietly. */
const QUIET_TYPES: readonly string[] = ['reaction', 'system', 'unsupported', 'unknown', 'ephemeral', 'request_welcome', 'order', 'referral'];

/**
 * One entry of `value.messages` as an InboundMessage, or why it is skipped (null: quietly).
 * WhatsApp chats with a business are one-to-one: the chat id and the sender id are both the
 * person's WhatsApp id (`from`, their number in international format without `+`).
 */
export function normalizeWhatsAppMessage(message: unknown, names: ReadonlyMap<string, string>, businessNumber: string | undefined): { message: InboundMessage } | { skip: string | null } {
  if (!isRecord(message)) return { skip: 'a message that is not an object' };
  const from = str(message.from);
  const id = str(message.id);
  const type = str(message.type);
  if (from === undefined || id === undefined || type === undefined) return { skip: 'a message without from, id or type' };
  if (message.group_id !== undefined) return { skip: 'a group message (Hearth answers WhatsApp direct chats only)' };
  if (QUIET_TYPES.includes(type)) return { skip: null };
  let text = '';
  const attachments: AttachmentInfo[] = [];
  if (type === 'text') {
    const body = isRecord(message.text) ? message.text.body : undefined;
    if (typeof body !== 'string') return { skip: 'a text message without text.body' };
    text = body;
  } else {
    const media = mediaOf(message, type);
    if (media) {
      attachments.push(media.attachment);
      text = media.caption ?? '';
    } else {
      const words = textOf(message, type);
      if (words === null) return { skip: `a ${type.slice(0, 32)} message Hearth cannot read` };
      text = words;
    }
  }
  const context = isRecord(message.context) ? message.context : undefined;
  const replyTo = context ? str(context.id) : undefined;
  const name = names.get(from);
  return {
    message: {
      messageId: id,
      chat: { id: from, kind: 'direct' },
      sender: { id: from, ...(name === undefined ? {} : { name }) },
      text,
      mentionsBot: false,
      replyToBot: businessNumber !== undefined && context !== undefined && str(context.from)?.replace(/\D/gu, '') === businessNumber,
      ...(replyTo === undefined ? {} : { replyToMessageId: replyTo }),
      attachments,
    },
  };
}

/** What one webhook push holds for one phone number. */
export interface WhatsAppPush {
  messages: InboundMessage[];
  /** Parts that could not be understood: why, and the part. */
  skipped: { reason: string; payload: unknown }[];
  /** The WhatsApp Business Account ids the push came from (`entry[].id`). */
  businessAccountIds: string[];
}

/**
 * Reads a `whatsapp_business_account` push: the messages sent to `phoneNumberId` (in order), what
 * was malformed, and the business account ids. Changes for other numbers of the same business
 * account are left alone (Meta sends every number's events to the app's one callback URL);
 * statuses (sent, delivered, read, failed) are not used.
 */
export function readWhatsAppPush(body: unknown, phoneNumberId: string, businessNumber: string | undefined): WhatsAppPush {
  const push: WhatsAppPush = { messages: [], skipped: [], businessAccountIds: [] };
  if (!isRecord(body) || body.object !== 'whatsapp_business_account' || !Array.isArray(body.entry)) {
    push.skipped.push({ reason: 'a webhook push that is not a whatsapp_business_account object with entries', payload: body });
    return push;
  }
  for (const entry of body.entry) {
    if (!isRecord(entry) || !Array.isArray(entry.changes)) {
      push.skipped.push({ reason: 'a webhook entry without changes', payload: entry });
      continue;
    }
    const wabaId = str(entry.id);
    if (wabaId !== undefined && /^\d{1,32}$/u.test(wabaId) && !push.businessAccountIds.includes(wabaId)) push.businessAccountIds.push(wabaId);
    for (const change of entry.changes) {
      if (!isRecord(change) || change.field !== 'messages') continue;
      const value = change.value;
      if (!isRecord(value) || !isRecord(value.metadata)) {
        push.skipped.push({ reason: 'a messages change without value.metadata', payload: change });
        continue;
      }
      if (str(value.metadata.phone_number_id) !== phoneNumberId) continue;
      const names = new Map<string, string>();
      for (const contact of Array.isArray(value.contacts) ? value.contacts : []) {
        const waId = isRecord(contact) ? str(contact.wa_id) : undefined;
        const name = isRecord(contact) && isRecord(contact.profile) ? str(contact.profile.name) : undefined;
        if (waId !== undefined && name !== undefined) names.set(waId, name);
      }
      if (value.messages !== undefined && !Array.isArray(value.messages)) {
        push.skipped.push({ reason: 'value.messages is not a list', payload: value });
        continue;
      }
      for (const message of (value.messages ?? []).slice(0, MAX_MESSAGES_PER_PUSH)) {
        const normalized = normalizeWhatsAppMessage(message, names, businessNumber);
        if ('message' in normalized) push.messages.push(normalized.message);
        else if (normalized.skip !== null) push.skipped.push({ reason: normalized.skip, payload: message });
      }
    }
  }
  return push;
}
