import type { AttachmentInfo, InboundMessage } from '../../contracts/channel.js';

/**
 * signal-cli's receive events (`{account, envelope}`, JsonMessageEnvelope) turned into
 * InboundMessages. Only data messages with text or attachments are answered; receipts, typing
 * notices, reactions, sync messages from the account's own devices and the like are skipped
 * quietly.
 */

/** Who the bot is on Signal: its phone number (or ACI) and, once known, its ACI. */
export interface SignalSelf {
  account: string;
  uuid: string | null;
}

interface SignalMention {
  number?: string | null;
  uuid?: string | null;
  name?: string | null;
  start?: number;
  length?: number;
}

interface SignalAttachment {
  contentType?: string | null;
  filename?: string | null;
  id?: string | null;
  size?: number | null;
}

interface SignalDataMessage {
  timestamp?: number;
  message?: string | null;
  groupInfo?: { groupId?: string; groupName?: string | null; type?: string } | null;
  mentions?: SignalMention[];
  attachments?: SignalAttachment[];
  quote?: { id?: number; authorNumber?: string | null; authorUuid?: string | null; author?: string | null } | null;
  sticker?: { packId?: string; stickerId?: number } | null;
  reaction?: unknown;
  remoteDelete?: unknown;
}

interface SignalEnvelope {
  source?: string | null;
  sourceNumber?: string | null;
  sourceUuid?: string | null;
  sourceName?: string | null;
  timestamp?: number;
  dataMessage?: SignalDataMessage | null;
}

/** The character Signal puts where a mention sits in the text. */
const MENTION_PLACEHOLDER = '\uFFFC';

const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

/**
 * A message id that names its author too: Signal identifies a message by author and sent
 * timestamp, and replying with a quote needs both.
 */
export function signalMessageId(timestamp: number, author: string): string {
  return `${timestamp}:${author}`;
}

/** The timestamp and author of a message id made by `signalMessageId`, or null. */
export function parseSignalMessageId(id: string): { timestamp: number; author: string } | null {
  const match = /^(\d+):(.+)$/u.exec(id);
  return match ? { timestamp: Number(match[1]), author: match[2] ?? '' } : null;
}

const isSelf = (self: SignalSelf, number: string | null | undefined, uuid: string | null | undefined) =>
  (nonEmpty(number) && number === self.account) || (nonEmpty(uuid) && (uuid === self.uuid || uuid === self.account));

function attachmentKind(contentType: string | null | undefined): AttachmentInfo['kind'] {
  const type = contentType ?? '';
  if (type.startsWith('image/')) return 'image';
  if (type.startsWith('audio/')) return 'audio';
  if (type.startsWith('video/')) return 'video';
  return type === '' ? 'other' : 'file';
}

function attachmentsOf(data: SignalDataMessage): AttachmentInfo[] {
  const list: AttachmentInfo[] = (Array.isArray(data.attachments) ? data.attachments : []).map((item) => ({
    kind: attachmentKind(item.contentType),
    ...(nonEmpty(item.id) ? { id: item.id } : {}),
    ...(nonEmpty(item.filename) ? { name: item.filename } : {}),
    ...(nonEmpty(item.contentType) ? { mimeType: item.contentType } : {}),
    ...(typeof item.size === 'number' ? { sizeBytes: item.size } : {}),
  }));
  if (data.sticker) list.push({ kind: 'sticker', ...(nonEmpty(data.sticker.packId) ? { id: `${data.sticker.packId}:${data.sticker.stickerId ?? 0}` } : {}) });
  return list;
}

/** The text with each mention placeholder replaced by `@name` (the bot's own as `@account`). */
function textWithMentions(text: string, mentions: SignalMention[]): string {
  const sorted = mentions.filter((item) => typeof item.start === 'number').sort((a, b) => (b.start ?? 0) - (a.start ?? 0));
  let out = text;
  for (const mention of sorted) {
    const start = mention.start ?? 0;
    const length = mention.length ?? 1;
    if (out.slice(start, start + length) !== MENTION_PLACEHOLDER.repeat(length)) continue;
    const name = mention.name || mention.number || mention.uuid || 'someone';
    out = `${out.slice(0, start)}@${name}${out.slice(start + length)}`;
  }
  return out;
}

/**
 * Turns one receive event into an InboundMessage, or says why not (a null reason: nothing to
 * answer, skipped quietly).
 */
export function normalizeSignalEvent(event: unknown, self: SignalSelf): { message: InboundMessage } | { skip: string | null } {
  if (typeof event !== 'object' || event === null) return { skip: 'a receive event that is not an object' };
  const envelope = (event as { envelope?: unknown }).envelope as SignalEnvelope | undefined;
  if (typeof envelope !== 'object' || envelope === null) {
    // signal-cli reports messages it could not decrypt as an exception without an envelope.
    return { skip: 'exception' in event ? null : 'a receive event without an envelope' };
  }
  const data = envelope.dataMessage;
  if (!data) return { skip: null };
  if (typeof data !== 'object') return { skip: 'a dataMessage that is not an object' };
  const senderUuid = nonEmpty(envelope.sourceUuid) ? envelope.sourceUuid : null;
  const senderNumber = nonEmpty(envelope.sourceNumber) ? envelope.sourceNumber : nonEmpty(envelope.source) && envelope.source.startsWith('+') ? envelope.source : null;
  const senderId = senderUuid ?? senderNumber;
  if (!senderId) return { skip: 'a message without a sender' };
  if (typeof envelope.timestamp !== 'number') return { skip: 'a message without a timestamp' };
  if (isSelf(self, senderNumber, senderUuid)) return { skip: null };
  if (data.reaction || data.remoteDelete) return { skip: null };
  const mentions = Array.isArray(data.mentions) ? data.mentions : [];
  const rawText = data.message ?? '';
  if (typeof rawText !== 'string') return { skip: 'a message whose text is not a string' };
  const attachments = attachmentsOf(data);
  if (rawText === '' && attachments.length === 0) return { skip: null };
  const group = data.groupInfo;
  if (group && !nonEmpty(group.groupId)) return { skip: 'a group message without a group id' };
  const quote = data.quote;
  const quoteAuthor = quote ? (quote.authorUuid ?? quote.authorNumber ?? quote.author ?? null) : null;
  const name = nonEmpty(envelope.sourceName) ? envelope.sourceName : null;
  return {
    message: {
      messageId: signalMessageId(envelope.timestamp, senderId),
      chat: group?.groupId
        ? { id: group.groupId, kind: 'group', ...(nonEmpty(group.groupName) ? { title: group.groupName } : {}) }
        : { id: senderId, kind: 'direct' },
      sender: { id: senderId, ...(name ? { name } : {}), ...(senderNumber && senderNumber !== senderId ? { username: senderNumber } : {}) },
      text: textWithMentions(rawText, mentions),
      mentionsBot: mentions.some((mention) => isSelf(self, mention.number, mention.uuid)),
      replyToBot: quote ? isSelf(self, quote.authorNumber ?? quote.author, quote.authorUuid) : false,
      ...(quote && typeof quote.id === 'number' && quoteAuthor ? { replyToMessageId: signalMessageId(quote.id, quoteAuthor) } : {}),
      attachments,
    },
  };
}
