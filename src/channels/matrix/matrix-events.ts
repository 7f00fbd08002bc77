import type { AttachmentInfo, ChatKind, InboundMessage } from '../../contracts/channel.js';

/**
 * Matrix client events (the Client-Server API's JSON, as /sync and /rooms/{id}/state return
 * them) turned into what the adapter needs: the state of a room that decides how a message is
 * treated, and InboundMessages. Everything from the wire is checked here, field by field.
 */

/** A room's state as far as the adapter cares: who is in it, its name, whether it is encrypted. */
export interface RoomInfo {
  encrypted: boolean;
  name?: string;
  /** Membership (`join`, `invite`, `leave`, `ban`, `knock`) and display name per user id. */
  members: Map<string, { membership: string; displayName?: string }>;
}

/** The bot's identity on the homeserver. */
export interface MatrixBotIdentity {
  userId: string;
  displayName: string | null;
}

type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The list at `value`, or an empty one when the server sent something else. */
export const listOf = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

export function emptyRoom(): RoomInfo {
  return { encrypted: false, members: new Map() };
}

/** Applies one state event (from a room's state, a timeline, or an invite's stripped state). */
export function applyStateEvent(room: RoomInfo, event: unknown): void {
  if (!isObject(event) || typeof event.type !== 'string' || typeof event.state_key !== 'string') return;
  const content = isObject(event.content) ? event.content : {};
  if (event.type === 'm.room.encryption' && typeof content.algorithm === 'string') room.encrypted = true;
  else if (event.type === 'm.room.name') {
    if (typeof content.name === 'string' && content.name.length > 0) room.name = content.name;
    else delete room.name;
  } else if (event.type === 'm.room.member' && typeof content.membership === 'string') {
    const displayName = typeof content.displayname === 'string' && content.displayname.length > 0 ? content.displayname : undefined;
    room.members.set(event.state_key, { membership: content.membership, ...(displayName ? { displayName } : {}) });
  }
}

export function roomFromState(events: unknown[]): RoomInfo {
  const room = emptyRoom();
  for (const event of events) applyStateEvent(room, event);
  return room;
}

/** Members who are in the room or invited to it (what makes a two-person room a DM). */
export function memberCount(room: RoomInfo): number {
  let count = 0;
  for (const member of room.members.values()) if (member.membership === 'join' || member.membership === 'invite') count += 1;
  return count;
}

const MEDIA: Record<string, AttachmentInfo['kind']> = { 'm.image': 'image', 'm.file': 'file', 'm.audio': 'audio', 'm.video': 'video' };

function attachmentOf(content: Json): AttachmentInfo[] {
  const kind = typeof content.msgtype === 'string' ? MEDIA[content.msgtype] : undefined;
  if (!kind) return [];
  const info = isObject(content.info) ? content.info : {};
  return [
    {
      kind,
      ...(typeof content.url === 'string' ? { id: content.url } : {}),
      ...(typeof content.body === 'string' && content.body.length > 0 ? { name: content.body } : {}),
      ...(typeof info.mimetype === 'string' ? { mimeType: info.mimetype } : {}),
      ...(typeof info.size === 'number' ? { sizeBytes: info.size } : {}),
    },
  ];
}

/** Drops the quoted "> <@someone:server> …" lines older clients put before a reply's own text. */
function withoutReplyFallback(body: string): string {
  if (!body.startsWith('> <')) return body;
  const lines = body.split('\n');
  let index = 0;
  while (index < lines.length && lines[index]?.startsWith('>')) index += 1;
  if (lines[index] === '') index += 1;
  return lines.slice(index).join('\n');
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&');

/**
 * Whether the message mentions the bot: `m.mentions.user_ids` (the current spec's intentional
 * mentions), or, as older clients and people typing do, the bot's user id or display name in
 * the text or a matrix.to pill to it in the HTML.
 */
export function mentionsBot(content: Json, body: string, bot: MatrixBotIdentity): boolean {
  const mentions = isObject(content['m.mentions']) ? content['m.mentions'] : {};
  if (listOf(mentions.user_ids).includes(bot.userId)) return true;
  if (body.includes(bot.userId)) return true;
  if (bot.displayName && new RegExp(`(^|[^\\p{L}\\p{N}_])${escapeRegExp(bot.displayName)}($|[^\\p{L}\\p{N}_])`, 'iu').test(body)) return true;
  const html = typeof content.formatted_body === 'string' ? content.formatted_body : '';
  return html.includes(`matrix.to/#/${bot.userId}`) || html.includes(`matrix.to/#/${encodeURIComponent(bot.userId)}`);
}

/** What became of one timeline event. */
export type TimelineOutcome =
  | { message: InboundMessage }
  /** An end-to-end encrypted message: the adapter cannot read it. */
  | { encrypted: { eventId: string; sender: string } }
  /** Not something to answer; `reason` says why when the event was malformed (null: skipped quietly). */
  | { skip: string | null };

export interface TimelineContext {
  roomId: string;
  room: RoomInfo;
  /** The room is a DM (in the bot's m.direct, or only two people in it). */
  direct: boolean;
  bot: MatrixBotIdentity;
  /** Events the bot sent, to tell a reply to the bot. */
  ownEvents: ReadonlySet<string>;
}

/** The event's relation: the thread it is in, and the event it really replies to. */
function relationOf(content: Json): { threadRoot?: string; replyTo?: string; edit: boolean } {
  const relation = isObject(content['m.relates_to']) ? content['m.relates_to'] : {};
  const thread = relation.rel_type === 'm.thread' && typeof relation.event_id === 'string' ? relation.event_id : undefined;
  const inReplyTo = isObject(relation['m.in_reply_to']) ? relation['m.in_reply_to'].event_id : undefined;
  // In a thread, clients without thread support see a reply to the thread's last event: not a real reply.
  const fallback = thread !== undefined && relation.is_falling_back === true;
  return {
    ...(thread === undefined ? {} : { threadRoot: thread }),
    ...(typeof inReplyTo === 'string' && !fallback ? { replyTo: inReplyTo } : {}),
    edit: relation.rel_type === 'm.replace',
  };
}

/** Turns one room timeline event into an InboundMessage, or says why not. */
export function normalizeMatrixEvent(raw: unknown, context: TimelineContext): TimelineOutcome {
  if (!isObject(raw)) return { skip: 'a timeline event that is not an object' };
  const { type, event_id: eventId, sender } = raw;
  if (typeof type !== 'string' || typeof eventId !== 'string' || typeof sender !== 'string') return { skip: 'a timeline event without type, event_id or sender' };
  if (sender === context.bot.userId) return { skip: null };
  if (type === 'm.room.encrypted') return { encrypted: { eventId, sender } };
  if (type !== 'm.room.message' || typeof raw.state_key === 'string') return { skip: null };
  // A redacted message has empty content: nothing to answer.
  if (isObject(raw.unsigned) && raw.unsigned.redacted_because !== undefined) return { skip: null };
  if (!isObject(raw.content)) return { skip: 'an m.room.message without content' };
  const content = raw.content;
  if (typeof content.msgtype !== 'string' || typeof content.body !== 'string') return { skip: 'an m.room.message without msgtype or body' };
  if (context.room.encrypted) return { encrypted: { eventId, sender } };
  const relation = relationOf(content);
  // Notices are what bots send (answering them loops bots into each other); edits were answered as first sent.
  if (content.msgtype === 'm.notice' || relation.edit) return { skip: null };
  const attachments = attachmentOf(content);
  const text = attachments.length > 0 ? '' : withoutReplyFallback(content.body);
  const kind: ChatKind = !context.direct && relation.threadRoot !== undefined ? 'thread' : context.direct ? 'direct' : 'group';
  const member = context.room.members.get(sender);
  const name = member?.displayName ?? /^@([^:]+)/u.exec(sender)?.[1];
  return {
    message: {
      messageId: eventId,
      chat: {
        id: context.roomId,
        kind,
        ...(kind === 'thread' && relation.threadRoot !== undefined ? { threadId: relation.threadRoot } : {}),
        ...(context.room.name ? { title: context.room.name } : {}),
      },
      sender: { id: sender, ...(name ? { name } : {}) },
      text: content.msgtype === 'm.emote' && name ? `* ${name} ${text}` : text,
      mentionsBot: mentionsBot(content, content.body, context.bot),
      replyToBot: relation.replyTo !== undefined && context.ownEvents.has(relation.replyTo),
      ...(relation.replyTo === undefined ? {} : { replyToMessageId: relation.replyTo }),
      attachments,
    },
  };
}
