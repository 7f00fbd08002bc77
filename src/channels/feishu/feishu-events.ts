import type { AttachmentInfo, InboundMessage } from '../../contracts/channel.js';

/** The bot as the normalizer needs it: its open_id (what mentions carry) and its name. */
export interface FeishuBotIdentity {
  openId: string;
  name: string;
}

/** The event type Hearth reads: a message sent to the bot (direct) or in a group it is in. */
export const MESSAGE_EVENT = 'im.message.receive_v1';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);

interface Mention {
  key: string;
  openId: string | undefined;
  name: string | undefined;
}

function mentionsOf(message: Record<string, unknown>): Mention[] {
  const list = Array.isArray(message.mentions) ? message.mentions : [];
  const mentions: Mention[] = [];
  for (const item of list.slice(0, 100)) {
    if (!isRecord(item)) continue;
    const key = str(item.key);
    if (key === undefined) continue;
    mentions.push({ key, openId: isRecord(item.id) ? str(item.id.open_id) : undefined, name: str(item.name) });
  }
  return mentions;
}

/** Feishu writes mentions as placeholders (`@_user_1`); they become `@<name>` (the bot's own as `@<bot name>`). */
function withMentionNames(text: string, mentions: Mention[], bot: FeishuBotIdentity): string {
  let result = text;
  // Longest keys first, so `@_user_1` does not eat the start of `@_user_10`.
  for (const mention of [...mentions].sort((a, b) => b.key.length - a.key.length)) {
    const label = mention.openId === bot.openId ? bot.name : (mention.name ?? mention.openId ?? mention.key.replace(/^@/u, ''));
    result = result.split(mention.key).join(`@${label}`);
  }
  return result.replace(/@_all\b/gu, '@all');
}

/** The text of a rich-text (`post`) message: its title and paragraphs; images become attachments. */
function postText(content: Record<string, unknown>, attachments: AttachmentInfo[]): string {
  // Received posts are `{title, content}`; some carry one object per language (`{zh_cn: {…}}`).
  const body = Array.isArray(content.content) ? content : Object.values(content).find((value) => isRecord(value) && Array.isArray(value.content));
  if (!isRecord(body) || !Array.isArray(body.content)) return '';
  const lines: string[] = [];
  const title = str(body.title);
  if (title !== undefined) lines.push(title);
  for (const paragraph of body.content) {
    if (!Array.isArray(paragraph)) continue;
    const parts: string[] = [];
    for (const element of paragraph) {
      if (!isRecord(element)) continue;
      if (element.tag === 'img' && typeof element.image_key === 'string') attachments.push({ kind: 'image', id: element.image_key });
      else if (element.tag === 'media' && typeof element.file_key === 'string') attachments.push({ kind: 'video', id: element.file_key });
      else if (element.tag === 'at') parts.push(str(element.user_id) ?? `@${str(element.user_name) ?? ''}`);
      else if (typeof element.text === 'string') parts.push(element.text);
    }
    lines.push(parts.join(''));
  }
  return lines.join('\n');
}

/** A file-like message (image, file, audio, media, sticker) as an attachment. */
function fileAttachment(type: string, content: Record<string, unknown>): AttachmentInfo | null {
  const kinds: Record<string, AttachmentInfo['kind']> = { image: 'image', file: 'file', audio: 'audio', media: 'video', sticker: 'sticker' };
  const kind = kinds[type];
  if (kind === undefined) return null;
  const id = str(type === 'image' ? content.image_key : content.file_key);
  const name = str(content.file_name);
  return { kind, ...(id === undefined ? {} : { id }), ...(name === undefined ? {} : { name }) };
}

/** The text and attachments of a message by its type; null for types Hearth does not read (cards, shared chats…). */
function bodyOf(type: string, content: Record<string, unknown>): { text: string; attachments: AttachmentInfo[] } | { problem: string } | null {
  if (type === 'text') {
    if (typeof content.text !== 'string') return { problem: 'a text message whose content has no text' };
    return { text: content.text, attachments: [] };
  }
  if (type === 'post') {
    const attachments: AttachmentInfo[] = [];
    return { text: postText(content, attachments), attachments };
  }
  const attachment = fileAttachment(type, content);
  return attachment === null ? null : { text: '', attachments: [attachment] };
}

/**
 * Turns an `im.message.receive_v1` event into an InboundMessage, or explains why it cannot.
 * Messages from apps and bots (ours included) and message types Hearth does not read are skipped
 * quietly (null reason); events missing their message id, chat or sender are reported.
 *
 * Chats: `chat_type` p2p → direct (chat id = the p2p chat's oc_…); group → group, or thread when
 * the message is in a topic (`thread_id`; threadId = the topic's first message, `root_id`, which
 * replies go under). The sender id is their open_id. `isOwnMessage` tells whether a message id is
 * one the bot sent (for replyToBot).
 */
export function normalizeFeishuMessage(event: Record<string, unknown>, bot: FeishuBotIdentity, isOwnMessage: (messageId: string) => boolean): { message: InboundMessage } | { skip: string | null } {
  const sender = event.sender;
  const message = event.message;
  if (!isRecord(sender) || !isRecord(message)) return { skip: 'a message event without sender or message' };
  if (sender.sender_type !== undefined && sender.sender_type !== 'user') return { skip: null };
  const senderId = isRecord(sender.sender_id) ? str(sender.sender_id.open_id) : undefined;
  const messageId = str(message.message_id);
  const chatId = str(message.chat_id);
  const type = str(message.message_type);
  if (senderId === undefined || messageId === undefined || chatId === undefined || type === undefined) return { skip: 'a message event without message_id, chat_id, message_type or sender open_id' };
  if (senderId === bot.openId) return { skip: null };
  if (typeof message.content !== 'string') return { skip: 'a message event whose content is not a string' };
  let content: unknown;
  try {
    content = JSON.parse(message.content);
  } catch {
    return { skip: 'a message event whose content is not JSON' };
  }
  if (!isRecord(content)) return { skip: 'a message event whose content is not a JSON object' };
  const body = bodyOf(type, content);
  if (body === null) return { skip: null };
  if ('problem' in body) return { skip: body.problem };
  const mentions = mentionsOf(message);
  const direct = message.chat_type === 'p2p';
  const threadRoot = !direct && str(message.thread_id) !== undefined ? (str(message.root_id) ?? messageId) : undefined;
  const parentId = str(message.parent_id);
  return {
    message: {
      messageId,
      chat: { id: chatId, kind: direct ? 'direct' : threadRoot === undefined ? 'group' : 'thread', ...(threadRoot === undefined ? {} : { threadId: threadRoot }) },
      sender: { id: senderId },
      text: withMentionNames(body.text, mentions, bot),
      mentionsBot: mentions.some((mention) => mention.openId === bot.openId),
      replyToBot: parentId !== undefined && isOwnMessage(parentId),
      ...(parentId === undefined ? {} : { replyToMessageId: parentId }),
      attachments: body.attachments,
    },
  };
}
