/**
 * Builders for the Discord API v10 objects the fake Discord server hands out over REST and the
 * gateway: users, the test guild with its channels, thread and roles, DM channels and messages.
 * Shapes follow what Discord sends today, trimmed to the fields discord.js v14 reads.
 */

/** Discord's epoch (2015-01-01) in Unix milliseconds; snowflakes count from it. */
export const DISCORD_EPOCH = 1_420_070_400_000;

/** Gateway intent bits the fake server looks at. */
export const Intent = {
  Guilds: 1 << 0,
  GuildMembers: 1 << 1,
  GuildPresences: 1 << 8,
  GuildMessages: 1 << 9,
  DirectMessages: 1 << 12,
  MessageContent: 1 << 15,
} as const;

/** Channel type numbers used here. */
export const ChannelKind = { GuildText: 0, DM: 1, PublicThread: 11 } as const;

/** Message type numbers used here. */
export const MessageKind = { Default: 0, Reply: 19 } as const;

const Permission = {
  AddReactions: 1n << 6n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  EmbedLinks: 1n << 14n,
  AttachFiles: 1n << 15n,
  ReadMessageHistory: 1n << 16n,
  SendMessagesInThreads: 1n << 38n,
} as const;

/** What @everyone may do in the test guild. */
export const EVERYONE_PERMISSIONS = (Permission.ViewChannel | Permission.SendMessages | Permission.ReadMessageHistory | Permission.AddReactions | Permission.SendMessagesInThreads).toString();

/** What the bot role may do in the test guild. */
export const BOT_ROLE_PERMISSIONS = (
  Permission.ViewChannel |
  Permission.SendMessages |
  Permission.EmbedLinks |
  Permission.AttachFiles |
  Permission.ReadMessageHistory |
  Permission.AddReactions |
  Permission.SendMessagesInThreads
).toString();

/** A Discord user as the fake server knows it. */
export interface FakeDiscordUser {
  id: string;
  username: string;
  bot?: boolean;
}

/** A message the fake server holds (sent by a bot over REST or injected by a test). */
export interface StoredMessage {
  id: string;
  channelId: string;
  /** Set for guild text channels and threads, absent for DMs. */
  guildId?: string;
  channelType: number;
  author: FakeDiscordUser;
  content: string;
  mentions: FakeDiscordUser[];
  mentionRoles: string[];
  reference?: { message_id: string; channel_id: string; guild_id?: string };
  referenced?: StoredMessage;
  createdAt: number;
  editedAt: number | null;
  nonce?: string | number;
  embeds: unknown[];
  attachments: unknown[];
  components: unknown[];
  flags: number;
  tts: boolean;
}

/** The fixed shape of the one guild the fake server serves. */
export interface GuildLayout {
  guildId: string;
  name: string;
  ownerId: string;
  createdAt: number;
  textChannelId: string;
  textChannelName: string;
  threadId: string;
  threadName: string;
  botRoleId: string;
  bots: FakeDiscordUser[];
}

/** Makes a source of increasing snowflake ids (time-based, like Discord's). */
export function createSnowflakes(): (at?: number) => string {
  let increment = 0;
  let last = 0n;
  return (at = Date.now()) => {
    increment = (increment + 1) & 0xfff;
    let id = (BigInt(Math.max(0, at - DISCORD_EPOCH)) << 22n) | (1n << 17n) | BigInt(increment);
    if (id <= last) id = last + 1n;
    last = id;
    return id.toString();
  };
}

/** When a snowflake was made, in Unix milliseconds. */
export function snowflakeTime(id: string): number {
  return Number(BigInt(id) >> 22n) + DISCORD_EPOCH;
}

function iso(at: number): string {
  return new Date(at).toISOString();
}

/** A user object as Discord returns it. */
export function userObject(user: FakeDiscordUser): Record<string, unknown> {
  return {
    id: user.id,
    username: user.username,
    global_name: user.bot === true ? null : user.username,
    discriminator: '0',
    avatar: null,
    public_flags: 0,
    flags: 0,
    banner: null,
    accent_color: null,
    avatar_decoration_data: null,
    ...(user.bot === true ? { bot: true } : {}),
  };
}

/** The bot's own user (`GET /users/@me`, READY `user`). */
export function currentUserObject(user: FakeDiscordUser): Record<string, unknown> {
  return { ...userObject({ ...user, bot: true }), verified: true, mfa_enabled: false, email: null, locale: 'en-US', premium_type: 0 };
}

/** The bot's application (`GET /applications/@me`). */
export function applicationObject(applicationId: string, bot: FakeDiscordUser, owner: FakeDiscordUser): Record<string, unknown> {
  return {
    id: applicationId,
    name: bot.username,
    icon: null,
    description: '',
    summary: '',
    type: null,
    bot_public: true,
    bot_require_code_grant: false,
    verify_key: '0'.repeat(64),
    flags: 0,
    owner: userObject(owner),
    team: null,
    bot: currentUserObject(bot),
    approximate_guild_count: 1,
    interactions_endpoint_url: null,
    redirect_uris: [],
    tags: [],
  };
}

/** A guild member object; `withUser` adds the nested user (as GUILD_CREATE and member fetches do). */
export function memberObject(user: FakeDiscordUser, roles: string[], joinedAt: number, withUser: boolean): Record<string, unknown> {
  return {
    ...(withUser ? { user: userObject(user) } : {}),
    roles,
    nick: null,
    avatar: null,
    banner: null,
    joined_at: iso(joinedAt),
    premium_since: null,
    deaf: false,
    mute: false,
    flags: 0,
    pending: false,
    communication_disabled_until: null,
  };
}

/** The guild's text channel. */
export function textChannelObject(layout: GuildLayout, lastMessageId: string | null): Record<string, unknown> {
  return {
    id: layout.textChannelId,
    type: ChannelKind.GuildText,
    guild_id: layout.guildId,
    name: layout.textChannelName,
    position: 0,
    permission_overwrites: [],
    parent_id: null,
    topic: null,
    nsfw: false,
    last_message_id: lastMessageId,
    rate_limit_per_user: 0,
    flags: 0,
  };
}

/** The public thread under the text channel. */
export function threadObject(layout: GuildLayout, lastMessageId: string | null, messageCount: number): Record<string, unknown> {
  return {
    id: layout.threadId,
    type: ChannelKind.PublicThread,
    guild_id: layout.guildId,
    parent_id: layout.textChannelId,
    owner_id: layout.ownerId,
    name: layout.threadName,
    last_message_id: lastMessageId,
    message_count: messageCount,
    total_message_sent: messageCount,
    member_count: 1 + layout.bots.length,
    rate_limit_per_user: 0,
    flags: 0,
    applied_tags: [],
    thread_metadata: {
      archived: false,
      auto_archive_duration: 1440,
      archive_timestamp: iso(layout.createdAt),
      locked: false,
      create_timestamp: iso(layout.createdAt),
    },
  };
}

/** A DM channel between a bot and one user. */
export function dmChannelObject(channelId: string, recipient: FakeDiscordUser, lastMessageId: string | null): Record<string, unknown> {
  return { id: channelId, type: ChannelKind.DM, last_message_id: lastMessageId, flags: 0, recipients: [userObject(recipient)] };
}

function roleObject(id: string, name: string, permissions: string, position: number): Record<string, unknown> {
  return {
    id,
    name,
    description: null,
    permissions,
    position,
    color: 0,
    colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
    hoist: false,
    icon: null,
    unicode_emoji: null,
    managed: false,
    mentionable: true,
    flags: 0,
  };
}

/** The guild without its channels and members (`GET /guilds/:id`). */
export function guildObject(layout: GuildLayout): Record<string, unknown> {
  return {
    id: layout.guildId,
    name: layout.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    banner: null,
    description: null,
    owner_id: layout.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 1,
    explicit_content_filter: 0,
    mfa_level: 0,
    nsfw_level: 0,
    premium_tier: 0,
    premium_subscription_count: 0,
    premium_progress_bar_enabled: false,
    system_channel_id: layout.textChannelId,
    system_channel_flags: 0,
    rules_channel_id: null,
    public_updates_channel_id: null,
    safety_alerts_channel_id: null,
    vanity_url_code: null,
    preferred_locale: 'en-US',
    features: [],
    max_members: 500_000,
    max_video_channel_users: 25,
    application_id: null,
    widget_enabled: false,
    widget_channel_id: null,
    roles: [
      roleObject(layout.guildId, '@everyone', EVERYONE_PERMISSIONS, 0),
      roleObject(layout.botRoleId, 'Hearth Bot', BOT_ROLE_PERMISSIONS, 1),
    ],
    emojis: [],
    stickers: [],
  };
}

/** The full GUILD_CREATE payload, so discord.js caches the guild, channels, thread, roles and members. */
export function guildCreateObject(layout: GuildLayout, lastTextMessageId: string | null, lastThreadMessageId: string | null, threadMessages: number): Record<string, unknown> {
  const owner: FakeDiscordUser = { id: layout.ownerId, username: 'guild-owner' };
  return {
    ...guildObject(layout),
    joined_at: iso(layout.createdAt),
    large: false,
    unavailable: false,
    lazy: true,
    member_count: 1 + layout.bots.length,
    voice_states: [],
    members: [memberObject(owner, [], layout.createdAt, true), ...layout.bots.map((bot) => memberObject({ ...bot, bot: true }, [layout.botRoleId], layout.createdAt, true))],
    channels: [textChannelObject(layout, lastTextMessageId)],
    threads: [threadObject(layout, lastThreadMessageId, threadMessages)],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}

/**
 * A message object. REST responses leave out `guild_id` and `member`; gateway MESSAGE_CREATE adds
 * them plus `channel_type` (discord.js needs that to build a DM channel it has not seen yet).
 */
export function messageObject(message: StoredMessage, options: { gateway: boolean; memberRoles: (userId: string) => string[]; joinedAt: number }): Record<string, unknown> {
  const inGuild = message.guildId !== undefined;
  const mentionEntry = (user: FakeDiscordUser): Record<string, unknown> =>
    options.gateway && inGuild ? { ...userObject(user), member: memberObject(user, options.memberRoles(user.id), options.joinedAt, false) } : userObject(user);
  const body: Record<string, unknown> = {
    id: message.id,
    type: message.reference === undefined ? MessageKind.Default : MessageKind.Reply,
    content: message.content,
    channel_id: message.channelId,
    author: userObject(message.author),
    attachments: message.attachments,
    embeds: message.embeds,
    mentions: message.mentions.map(mentionEntry),
    mention_roles: message.mentionRoles,
    mention_everyone: false,
    pinned: false,
    tts: message.tts,
    timestamp: iso(message.createdAt),
    edited_timestamp: message.editedAt === null ? null : iso(message.editedAt),
    flags: message.flags,
    components: message.components,
  };
  if (message.nonce !== undefined) body.nonce = message.nonce;
  if (message.reference !== undefined) {
    body.message_reference = { type: 0, ...message.reference };
    body.referenced_message = message.referenced === undefined ? null : messageObject({ ...message.referenced, reference: undefined, referenced: undefined }, { ...options, gateway: false });
  }
  if (options.gateway) {
    body.channel_type = message.channelType;
    if (inGuild) {
      body.guild_id = message.guildId;
      body.member = memberObject(message.author, options.memberRoles(message.author.id), options.joinedAt, false);
    }
  }
  return body;
}
