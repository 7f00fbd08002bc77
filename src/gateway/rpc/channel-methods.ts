import { z } from 'zod';
import { LOGIN_FIELDS, LOGIN_GUIDANCE } from '../../channels/channel-credentials.js';
import { CHANNEL_PLATFORMS, type ChannelPlatform } from '../../config/channel-schema.js';
import { HearthError } from '../../contracts/errors.js';
import { defineMethod, type RpcMethod } from './rpc-types.js';

const accountIdSchema = z.string().regex(/^[a-z0-9_][a-z0-9_-]{0,63}$/u, 'account ids are lowercase letters, digits, _ and -');

/** One account: its platform and account id (default `default`). */
const accountParams = z.strictObject({ channel: z.string().min(1).max(64), account: z.string().min(1).max(64).optional() });

/** `channels.status|reload`, `channels.health.list|get|probe`, `pairing.list|approve`, `message.send`. */
export const channelMethods: Record<string, RpcMethod> = {
  'channels.status': defineMethod({ description: 'Per channel account: state, connection, authentication, last inbound and outbound traffic, last error, what to do, reconnects and outbox counts.', returns: '{accounts:[{channel, accountId, state, connected, authenticated, lastInboundAt, lastOutboundAt, lastError, …, outbox:{pending, failed}}]}' }, z.strictObject({}).optional(), async (_params, _connection, context) => ({
    accounts: await context.channels.status(),
  })),
  'channels.health.list': defineMethod({ description: 'The last health report of every channel account.', returns: '{accounts:[report]}' }, z.strictObject({}).optional(), async (_params, _connection, context) => ({
    accounts: context.channelHealth.list(),
  })),
  'channels.health.get': defineMethod({ description: 'The last health report of one account (`account` defaults to `default`).', returns: 'report' }, accountParams, async (params, _connection, context) => context.channelHealth.get(params.channel, params.account ?? 'default')),
  'channels.health.probe': defineMethod({ description: 'Checks the account now, its probe included; recovery stays with the periodic check.', returns: 'report' }, accountParams, async (params, _connection, context) => context.channelHealth.probe(params.channel, params.account ?? 'default')),
  'channels.reload': defineMethod({ description: 'Re-reads channel accounts and saved logins, restarting only the accounts whose settings changed.', returns: '{started, restarted, stopped} (account keys like telegram:default)' }, z.strictObject({}).optional(), async (_params, _connection, context) => context.reloadChannels()),
  'pairing.list': defineMethod({ description: 'Pending pairing requests (codes expire after an hour).', returns: '{requests:[{code, channel, accountId, senderId, senderName, chatId, createdAt, expiresAt}]}' }, z.strictObject({}).optional(), async (_params, _connection, context) => ({
    requests: await context.channels.listPairing(),
  })),
  'pairing.approve': defineMethod({ description: 'Approves the sender who received this code (kept across restarts) and tells them so.', returns: '{approved:request}' }, z.strictObject({ code: z.string().min(4).max(32) }), async (params, _connection, context) => {
    const request = await context.channels.approvePairing(params.code);
    if (!request) {
      throw new HearthError('NOT_FOUND', `No pending pairing request has the code ${params.code.toUpperCase()}. Codes expire after an hour; \`hearth pairing list\` shows the live ones.`);
    }
    return { approved: request };
  }),
  'channels.logins': defineMethod(
    { description: 'What each platform\'s login asks for (hearth channels login): the secrets\' keys, in order, and which may be empty.', returns: '{platforms:[{platform, fields:[{key, prompt, optional}], guidance?}]}' },
    z.strictObject({}).optional(),
    async () => ({
      platforms: CHANNEL_PLATFORMS.map((platform) => ({
        platform,
        fields: LOGIN_FIELDS[platform].map((field) => ({ key: field.key, prompt: field.prompt, optional: field.optional === true })),
        ...(LOGIN_GUIDANCE[platform] ? { guidance: LOGIN_GUIDANCE[platform] } : {}),
      })),
    }),
  ),
  'channels.login': defineMethod(
    {
      description: 'Saves an account\'s secrets as hearth channels login does (credentials/channels/, readable only by the gateway\'s user) and starts or restarts the account; values in hearth.json5 still win over saved ones.',
      returns: '{channel, accountId, saved, applied:{started, restarted, stopped}}',
    },
    z.strictObject({ channel: z.enum(CHANNEL_PLATFORMS as [ChannelPlatform, ...ChannelPlatform[]]), accountId: accountIdSchema.optional(), values: z.record(z.string(), z.string().max(4096)) }),
    async (params, _connection, context) => {
      const accountId = params.accountId ?? 'default';
      const values = loginValues(params.channel, params.values);
      const saved = context.channelLogins.save(params.channel, accountId, values);
      context.logger.info({ channel: `${params.channel}:${accountId}` }, 'channel login saved');
      return { channel: params.channel, accountId, saved, applied: await context.reloadChannels() };
    },
  ),
  'channels.logout': defineMethod(
    { description: 'Forgets an account\'s saved secrets as hearth channels logout does and stops it (secrets written in hearth.json5 are removed by editing it).', returns: '{channel, accountId, removed, applied:{started, restarted, stopped}}' },
    z.strictObject({ channel: z.enum(CHANNEL_PLATFORMS as [ChannelPlatform, ...ChannelPlatform[]]), accountId: accountIdSchema.optional() }),
    async (params, _connection, context) => {
      const accountId = params.accountId ?? 'default';
      if (!context.channelLogins.remove(params.channel, accountId)) {
        throw new HearthError('NOT_FOUND', `No saved credentials for ${params.channel}:${accountId}. (Credentials written in hearth.json5 are removed by editing it.)`);
      }
      return { channel: params.channel, accountId, removed: true, applied: await context.reloadChannels() };
    },
  ),
  'pairing.deny': defineMethod(
    { description: 'Refuses a pending pairing request: it is removed and the sender is not let in (they may ask again later).', returns: '{denied:request}' },
    z.strictObject({ code: z.string().min(4).max(32) }),
    async (params, _connection, context) => {
      const request = await context.store.denyPairing(params.code, Date.now());
      if (!request) throw new HearthError('NOT_FOUND', `No pending pairing request has the code ${params.code.toUpperCase()}; \`hearth pairing list\` shows the live ones.`);
      context.logger.info({ channel: `${request.channel}:${request.accountId}`, sender: request.senderId }, 'pairing denied');
      return { denied: request };
    },
  ),
  'pairing.approved': defineMethod(
    { description: 'The senders approved through pairing, newest first.', returns: '{senders:[{channel, accountId, senderId, senderName, approvedAt}]}' },
    z.strictObject({}).optional(),
    async (_params, _connection, context) => ({ senders: await context.store.listApprovedSenders() }),
  ),
  'pairing.revoke': defineMethod(
    { description: 'Takes back an approval: the sender must pair again before the bot answers them.', returns: '{revoked}' },
    z.strictObject({ channel: z.string().min(1).max(64), accountId: z.string().min(1).max(64).optional(), senderId: z.string().min(1).max(256) }),
    async (params, _connection, context) => {
      const accountId = params.accountId ?? 'default';
      const revoked = await context.store.revokeApprovedSender(params.channel, accountId, params.senderId);
      if (!revoked) throw new HearthError('NOT_FOUND', `${params.senderId} is not an approved sender of ${params.channel}:${accountId}; \`hearth pairing approved\` lists them.`);
      context.logger.info({ channel: `${params.channel}:${accountId}`, sender: params.senderId }, 'approved sender revoked');
      return { revoked: true };
    },
  ),
  'message.send': defineMethod(
    { description: 'Sends Markdown to a chat through the outbox and waits up to `timeoutMs` (default 30 s) for delivery.', returns: '{outboxId, delivered, pending, error} (`pending` when not delivered in time; it stays queued)' },
    z.strictObject({
      channel: z.string().min(1),
      accountId: z.string().min(1).optional(),
      to: z.string().min(1).max(256),
      threadId: z.string().min(1).max(256).optional(),
      text: z.string().min(1).max(100_000),
      timeoutMs: z.number().int().min(0).max(120_000).optional(),
    }),
    async (params, _connection, context) =>
      context.channels.send({
        channel: params.channel,
        ...(params.accountId ? { accountId: params.accountId } : {}),
        to: params.to,
        ...(params.threadId ? { threadId: params.threadId } : {}),
        text: params.text,
        timeoutMs: params.timeoutMs ?? 30_000,
      }),
  ),
};


/** The login's values for `platform`: its fields only, the required ones present. */
function loginValues(platform: ChannelPlatform, given: Record<string, string>): Record<string, string> {
  const fields = LOGIN_FIELDS[platform];
  const guidance = LOGIN_GUIDANCE[platform];
  if (fields.length === 0 && guidance) throw new HearthError('BAD_REQUEST', `A ${platform} account has no secrets to save here. ${guidance}`);
  const unknown = Object.keys(given).filter((key) => !fields.some((field) => field.key === key));
  if (unknown.length > 0) throw new HearthError('BAD_REQUEST', `A ${platform} login takes ${fields.map((field) => field.key).join(', ')}; not ${unknown.join(', ')}.`);
  const values: Record<string, string> = {};
  for (const field of fields) {
    const value = given[field.key]?.trim() ?? '';
    if (value === '' && !field.optional) throw new HearthError('BAD_REQUEST', `${field.key} is required: ${field.prompt}.`);
    if (value !== '') values[field.key] = value;
  }
  return values;
}
