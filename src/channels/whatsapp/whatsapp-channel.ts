import type { Channel, ChannelProbeResult, ChannelRunContext, ChannelTarget, InboundMessage, OutboundMessage, SendReceipt, WebhookRequest } from '../../contracts/channel.js';
import { ChannelError, isChannelError } from '../../contracts/channel.js';
import { pause } from '../abort-helpers.js';
import { markdownToWhatsApp } from '../markdown.js';
import { createGraphClient, GRAPH_API_VERSION } from './graph-api.js';
import { answerVerification, MAX_WEBHOOK_BODY_BYTES, readWhatsAppPush, signatureHeaderProblem, signatureMatches } from './whatsapp-webhook.js';

export interface WhatsAppChannelOptions {
  accountId: string;
  /** Where the account is configured (`channels.whatsapp` or `channels.whatsapp.accounts.<id>`), for messages. */
  configPath: string;
  /** The business number's Phone number ID (not the number itself). */
  phoneNumberId: string;
  /** Graph API token with `whatsapp_business_messaging` (a System User token for production). */
  accessToken: string;
  /** The Meta app's App secret: the key of every webhook's X-Hub-Signature-256. */
  appSecret: string;
  /** The string Meta sends as `hub.verify_token` when it verifies the callback URL. */
  verifyToken?: string;
  /** The WhatsApp Business Account, for the webhook-subscription check (else learned from the first push). */
  businessAccountId?: string;
  /** Graph API base URL; default https://graph.facebook.com (the API version is added). */
  apiRoot?: string;
  /** How often the phone number is looked up again (the sign of life while no webhook arrives); default 200 s. */
  checkIntervalMs?: number;
}

/** WhatsApp's limit for the body of one text message. */
export const WHATSAPP_MAX_MESSAGE = 4096;

const DEFAULT_CHECK_INTERVAL_MS = 200_000;
/** Meta shows a typing indicator for 25 s (or until the reply); renewing it sooner only repeats the read receipt. */
const TYPING_RENEW_MS = 20_000;
/** Chats whose last received message is remembered for the typing indicator. */
const LAST_MESSAGE_LIMIT = 2_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);

/** The business number as the phone number lookup shows it. */
interface BusinessNumber {
  name: string;
  /** The number's digits (what `context.from` shows when a person replies to one of our messages). */
  digits: string;
}

/**
 * One WhatsApp business phone number on the Cloud API. There is no connection to hold: Meta
 * pushes messages to the gateway's webhook (`receiveWebhook`, after `verifyWebhook` answered
 * Meta's handshake), and `run` looks the phone number up now and then as the sign of life.
 */
export function createWhatsAppChannel(options: WhatsAppChannelOptions): Channel {
  const graph = createGraphClient({ accessToken: options.accessToken, ...(options.apiRoot === undefined ? {} : { apiRoot: options.apiRoot }) });
  const webhookPath = `/channels/whatsapp/${options.accountId}/webhook`;
  /** The run that takes webhook pushes; null while not connected (Meta retries what it could not deliver). */
  let live: { context: ChannelRunContext; business: BusinessNumber } | null = null;
  /** Per chat: the last message received, and when the typing indicator was last shown for it. */
  const lastMessage = new Map<string, { messageId: string; typedAt: number }>();
  let learnedBusinessAccountId: string | undefined;
  let lastPushAt: number | null = null;

  const remember = (message: InboundMessage) => {
    lastMessage.delete(message.chat.id);
    lastMessage.set(message.chat.id, { messageId: message.messageId, typedAt: 0 });
    if (lastMessage.size > LAST_MESSAGE_LIMIT) {
      const oldest = lastMessage.keys().next();
      if (oldest.done !== true) lastMessage.delete(oldest.value);
    }
  };

  /** Looks the phone number up: the token works and the number belongs to it. */
  async function checkNumber(signal: AbortSignal): Promise<BusinessNumber> {
    const answer = await graph.get(options.phoneNumberId, { fields: 'display_phone_number,verified_name' }, signal, 'look up the phone number (GET /<phoneNumberId>)');
    const display = str(answer.display_phone_number);
    const verified = str(answer.verified_name);
    return { name: [verified, display].filter((part) => part !== undefined).join(' ') || options.phoneNumberId, digits: display?.replace(/\D/gu, '') ?? '' };
  }

  const lastPush = () => (lastPushAt === null ? 'no webhook has arrived since the gateway started' : `the last webhook arrived ${new Date(lastPushAt).toISOString()}`);

  /**
   * "Linked but not receiving": the number and the token work, yet Meta delivers nothing when no
   * app is subscribed to the business account's webhooks. The subscription is read from
   * `GET /<businessAccountId>/subscribed_apps`; without the business account id only the number is checked.
   */
  async function probe(signal: AbortSignal): Promise<ChannelProbeResult> {
    const businessAccountId = options.businessAccountId ?? learnedBusinessAccountId;
    if (businessAccountId === undefined) {
      const business = await checkNumber(signal);
      return {
        status: 'ok',
        detail: `WhatsApp answered for ${business.name}; ${lastPush()}. The webhook subscription is not checked: set ${options.configPath}.businessAccountId (WhatsApp → API Setup) to check it.`,
      };
    }
    const answer = await graph.get(`${businessAccountId}/subscribed_apps`, {}, signal, `list the apps subscribed to the business account's webhooks (GET /${businessAccountId}/subscribed_apps)`);
    const apps = Array.isArray(answer.data) ? answer.data : [];
    if (apps.length === 0) {
      return {
        status: 'degraded',
        detail: `the phone number and the access token work, but no app is subscribed to the webhooks of WhatsApp Business Account ${businessAccountId}, so Meta delivers no messages; ${lastPush()}`,
        suggestedAction: `Subscribe your Meta app to the business account: POST https://graph.facebook.com/${GRAPH_API_VERSION}/${businessAccountId}/subscribed_apps with the access token, and in the app's WhatsApp → Configuration set the callback URL to this gateway's ${webhookPath} and subscribe the "messages" field.`,
      };
    }
    const names = apps.flatMap((app) => (isRecord(app) && isRecord(app.whatsapp_business_api_data) && typeof app.whatsapp_business_api_data.name === 'string' ? [app.whatsapp_business_api_data.name] : []));
    return { status: 'ok', detail: `${apps.length} app(s) subscribed to the webhooks of WhatsApp Business Account ${businessAccountId}${names.length > 0 ? ` (${names.join(', ')})` : ''}; ${lastPush()}` };
  }

  return {
    platform: 'whatsapp',
    accountId: options.accountId,
    format: { maxMessageLength: WHATSAPP_MAX_MESSAGE, render: markdownToWhatsApp },

    async run(context: ChannelRunContext): Promise<void> {
      const { signal } = context;
      const interval = Math.max(100, options.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS);
      let current: typeof live = null;
      try {
        const business = await checkNumber(signal);
        current = { context, business };
        live = current;
        context.connected({ botId: options.phoneNumberId, botName: business.name });
        while (!signal.aborted) {
          await pause(interval, signal);
          if (signal.aborted) break;
          await checkNumber(signal);
          context.progress();
        }
      } catch (error) {
        if (signal.aborted) return;
        throw isChannelError(error) ? error : new ChannelError('transient', `the WhatsApp account failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      } finally {
        if (live === current) live = null;
      }
    },

    async send(message: OutboundMessage, signal: AbortSignal): Promise<SendReceipt> {
      const { target } = message;
      const answer = await graph.post(
        `${options.phoneNumberId}/messages`,
        {
          messaging_product: 'whatsapp',
          recipient_type: 'individual',
          to: target.chatId,
          type: 'text',
          text: { preview_url: false, body: message.text },
          ...(target.replyToMessageId === undefined ? {} : { context: { message_id: target.replyToMessageId } }),
        },
        signal,
        'send a message (POST /<phoneNumberId>/messages)',
      );
      const first = Array.isArray(answer.messages) ? answer.messages[0] : undefined;
      const id = isRecord(first) ? str(first.id) : undefined;
      if (id === undefined) throw new ChannelError('transient', 'WhatsApp answered the send without a message id');
      return { messageId: id };
    },

    /**
     * Marks the message being answered as read with a typing indicator (Meta's only way to show
     * one). The gateway names no message for direct chats, so it is the chat's last message
     * received; nothing is shown for a chat with none since the start.
     */
    async typing(target: ChannelTarget, signal: AbortSignal): Promise<void> {
      const last = lastMessage.get(target.chatId);
      const messageId = target.replyToMessageId ?? last?.messageId;
      if (messageId === undefined) return;
      if (last?.messageId === messageId && Date.now() - last.typedAt < TYPING_RENEW_MS) return;
      await graph.post(
        `${options.phoneNumberId}/messages`,
        { messaging_product: 'whatsapp', status: 'read', message_id: messageId, typing_indicator: { type: 'text' } },
        signal,
        'show the typing indicator',
      );
      if (last?.messageId === messageId) last.typedAt = Date.now();
    },

    probe,

    verifyWebhook: (query: Record<string, string>) => answerVerification(query, options.verifyToken, options.configPath),

    checkWebhookHeaders(headers: WebhookRequest['headers']): { status: number; body?: string } | { maxBodyBytes: number } {
      const problem = signatureHeaderProblem(headers);
      return problem === null ? { maxBodyBytes: MAX_WEBHOOK_BODY_BYTES } : { status: 401, body: problem };
    },

    async receiveWebhook(request: WebhookRequest): Promise<{ status: number; body?: string }> {
      const problem = signatureHeaderProblem(request.headers);
      if (problem !== null) return { status: 401, body: problem };
      if (!signatureMatches(options.appSecret, request)) return { status: 403, body: 'wrong X-Hub-Signature-256 (is appSecret the App secret of the app whose webhook this is?)' };
      const current = live;
      // Not connected yet (or stopping): Meta retries the push.
      if (current === null) return { status: 503, body: 'not ready' };
      current.context.progress();
      lastPushAt = Date.now();
      let body: unknown;
      try {
        body = JSON.parse(request.body.toString('utf8'));
      } catch {
        // Signed but unreadable: a retry would not fix it, so Meta is told it arrived.
        current.context.reject('a webhook body that is not JSON', request.body.toString('utf8').slice(0, 200));
        return { status: 200 };
      }
      const push = readWhatsAppPush(body, options.phoneNumberId, current.business.digits || undefined);
      if (push.businessAccountIds.length === 1) learnedBusinessAccountId = push.businessAccountIds[0];
      for (const skipped of push.skipped) current.context.reject(skipped.reason, skipped.payload);
      for (const message of push.messages) {
        remember(message);
        try {
          await current.context.receive(message);
        } catch {
          // Not stored: Meta sends the whole push again, and what was stored already is recognised by its id.
          return { status: 500, body: 'could not store the message; retry' };
        }
      }
      return { status: 200 };
    },

    async close(): Promise<void> {
      live = null;
      lastMessage.clear();
    },
  };
}
