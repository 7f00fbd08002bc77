import { randomInt } from 'node:crypto';
import type { Binding } from '../config/channel-schema.js';
import type { AttachmentInfo, Channel, ChannelAccountStatus, ChannelTarget, InboundMessage, WebhookAnswer, WebhookRequest } from '../contracts/channel.js';
import type { MediaStore } from '../media/media-store.js';
import type { ChannelsConfig } from '../config/channel-schema.js';
import { HearthError } from '../contracts/errors.js';
import type { AcceptedTurn, OutboxEntry, PairingRequest, Store } from '../contracts/store.js';
import { bindAgent, decideInbound, inboundSessionKey, listed, untrustedInputReason } from '../routing/inbound-policy.js';
import type { DmScope } from '../routing/session-keys.js';
import type { TurnEvent, TurnRequest } from '../sessions/turn-service.js';
import type { ApprovalService } from '../approvals/approval-service.js';
import { type ApprovalCommand, approvalOutcome, approvalQuestion, parseApprovalCommand } from './approval-messages.js';
import { accountConfigPath, type ChannelAccount, resolveChannelAccounts } from './channel-accounts.js';
import type { ChannelHealthTarget } from './channel-health.js';
import { type ChannelSupervisor, createChannelSupervisor } from './channel-supervisor.js';
import { createOutboxDispatcher, type OutboxDispatcherOptions } from './outbox-dispatcher.js';
import { createTypingIndicators } from './typing-indicators.js';

/** Builds the adapter for an account; platform modules are loaded only when an account needs them. */
export type ChannelFactory = (account: ChannelAccount) => Promise<Channel>;

/** Per platform: how to build an account, its default stall timeout and the fix for refused credentials. */
export interface PlatformSupport {
  create: ChannelFactory;
  /** No sign of life for this long → reconnect (unless the account sets stallTimeoutMs). */
  stallTimeoutMs(account: ChannelAccount, channel: Channel): number;
  authHint(account: ChannelAccount): string;
  /** What is missing from the account's config for it to start (null when it can start). */
  missingConfig(account: ChannelAccount): string | null;
}

export interface ChannelRoutingConfig {
  channels: ChannelsConfig;
  /** Saved by `hearth channels login`, keyed `<platform>:<accountId>`. */
  credentials?: Record<string, Record<string, string>>;
  bindings: Binding[];
  dmScope: DmScope;
  defaultAgentId: string;
  agentIds: readonly string[];
  /**
   * Cluster mode: whether this node holds the account (its lease). An account held by another
   * node is not started here; its replies wait in the outbox for the node that holds it.
   */
  held?: (key: string) => boolean;
}

/** An attachment as the transcript and the model see it: `[image: cat.jpg] (media/<sha256>, 48213 bytes)`. */
function describeAttachment(item: AttachmentInfo): string {
  const label = `[${item.kind}${item.name ? `: ${item.name}` : ''}]`;
  if (item.media) return `${label} (${item.media}${item.sizeBytes === undefined ? '' : `, ${item.sizeBytes} bytes`})`;
  return item.notSaved ? `${label} (not saved: ${item.notSaved})` : label;
}

export interface ChannelManagerOptions {
  store: Store;
  /** Where adapters save received photos, voice messages and files (by content hash). */
  media?: MediaStore;
  turns: {
    submit(request: TurnRequest): Promise<AcceptedTurn>;
    subscribe(listener: (event: TurnEvent) => void): () => void;
  };
  platforms: Partial<Record<string, PlatformSupport>>;
  /** Serves every platform not in `platforms`: the channels plugins provide. */
  pluginPlatforms?: PlatformSupport;
  logger: {
    info(obj: object, msg?: string): void;
    warn(obj: object, msg?: string): void;
    error(obj: object, msg?: string): void;
    debug?(obj: object, msg?: string): void;
  };
  now?: () => number;
  /** The longest a typing indicator runs for one turn. */
  maxTypingMs?: number;
  pairingTtlMs?: number;
  maxPendingPairings?: number;
  outbox?: Pick<OutboxDispatcherOptions, 'retryDelayMs' | 'retryMaxDelayMs' | 'maxAgeMs' | 'onSettled'>;
  /** Told of every failed delivery attempt (metrics). */
  onDeliveryFailure?(channel: string): void;
  /** Exec approvals: asked in the conversation the turn runs in, answered there with /approve or /deny. */
  approvals?: Pick<ApprovalService, 'decide' | 'subscribe'>;
  /** Plugins' message_received hooks: told of every message that becomes a turn. */
  messageReceived?(payload: { channel: string; sessionKey: string; text: string }): Promise<void>;
}

interface RunningAccount {
  account: ChannelAccount;
  supervisor: ChannelSupervisor;
  authHint: string;
}

/** How an account that could not start shows in `channels status` and the health checks. */
function notStartedStatus(entry: { account: ChannelAccount; reason: string; since: number }): Omit<ChannelAccountStatus, 'outbox'> {
  return {
    channel: entry.account.platform,
    accountId: entry.account.accountId,
    state: 'unhealthy',
    connected: false,
    authenticated: false,
    botName: null,
    since: entry.since,
    lastInboundAt: null,
    lastOutboundAt: null,
    lastError: entry.reason,
    suggestedAction: `Fix ${accountConfigPath(entry.account)} in the config: ${entry.reason}`,
    reconnects: 0,
  };
}

/** Pairing codes avoid characters that are easy to misread (0/O, 1/I). */
/** The largest webhook body read for a platform that does not name its own. */
const DEFAULT_WEBHOOK_BODY_BYTES = 1024 * 1024;
const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** The turn options that mark a message from someone other than the owner (docs/memory.md, provenance). */
function untrustedOptions(message: InboundMessage, account: ChannelAccount): Pick<TurnRequest, 'options'> {
  const reason = untrustedInputReason(message, account.routing, account.key);
  return reason ? { options: { untrustedInput: reason } } : {};
}

export function newPairingCode(): string {
  let code = '';
  for (let i = 0; i < 8; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

/**
 * Runs the configured channel accounts and connects them to the gateway: inbound messages go
 * through routing (policies, pairing, bindings) into the turn service; replies come back through
 * the outbox dispatcher; typing indicators follow the turns. `apply` reconciles with a new
 * config: only accounts whose settings changed are restarted.
 */
export function createChannelManager(options: ChannelManagerOptions) {
  const { store, logger } = options;
  const now = options.now ?? Date.now;
  const running = new Map<string, RunningAccount>();
  /** Accounts that could not start (missing settings, unknown platform), with the reason. */
  const notStarted = new Map<string, { account: ChannelAccount; reason: string; since: number }>();
  let routing: ChannelRoutingConfig | null = null;
  let stopped = false;
  /** Whether the outbox is being delivered (after `startDelivery`): a starting account then gets its waiting messages. */
  let delivering = false;
  /** Configured accounts another node of the cluster holds. */
  const elsewhere = new Set<string>();

  const deliveryAccount = (key: string) => {
    const entry = running.get(key);
    if (!entry) return undefined;
    return {
      channel: entry.supervisor.channel,
      isConnected: () => entry.supervisor.isConnected(),
      textChunkLimit: entry.account.textChunkLimit,
      noteOutbound: () => entry.supervisor.noteOutbound(),
      noteSendError: (message: string) => entry.supervisor.noteSendError(message),
      typingIntervalMs: entry.account.typingIntervalMs,
    };
  };

  const dispatcher = createOutboxDispatcher({
    store,
    account: deliveryAccount,
    logger,
    ...(options.now ? { now: options.now } : {}),
    ...(options.onDeliveryFailure ? { onFailure: options.onDeliveryFailure } : {}),
    ...options.outbox,
  });
  const typing = createTypingIndicators({ account: deliveryAccount, logger, maxDurationMs: options.maxTypingMs ?? 15 * 60_000 });

  const unsubscribe = options.turns.subscribe((event) => {
    if (event.type === 'started') {
      if (event.replyTo && running.has(event.replyTo.channel)) typing.start(event.runId, event.replyTo.channel, event.replyTo.target);
    } else if (event.type === 'final') {
      typing.stop(event.runId);
      if (event.outbox && running.has(event.outbox.channel)) dispatcher.enqueue(event.outbox);
      else if (event.outbox && !elsewhere.has(event.outbox.channel)) logger.warn({ outboxId: event.outbox.id, channel: event.outbox.channel }, 'reply kept in the outbox: its channel account is not running');
    }
  });

  const unsubscribeApprovals = options.approvals?.subscribe(({ type, approval }) => {
    const replyTo = approval.replyTo;
    if (!replyTo || !running.has(replyTo.channel)) return;
    // The conversation is told of the question, and of an expiry; a decision made there is answered where it was made.
    if (type === 'resolved' && approval.status !== 'expired') return;
    const text = type === 'requested' ? approvalQuestion(approval) : approvalOutcome(approval);
    queueMessage(replyTo.channel, JSON.parse(replyTo.target) as ChannelTarget, text, 'approval', approval.sessionKey)
      .then((entry) => dispatcher.enqueue(entry))
      .catch((error: unknown) => logger.error({ approvalId: approval.id, err: error }, 'the approval message could not be queued'));
  });

  /** Answers `/approve` or `/deny` from the chat: only the owner (a direct message from someone in allowFrom) may. */
  async function answerApproval(account: ChannelAccount, message: InboundMessage, target: ChannelTarget, sessionKey: string, command: ApprovalCommand) {
    let text: string;
    if (untrustedInputReason(message, account.routing, account.key) !== null) {
      text = 'Only the owner can answer approvals: in a direct message, from an account named in allowFrom.';
    } else if (command.id === '') {
      text = 'Say which approval: /approve <id> or /deny <id> (hearth approvals list shows the waiting ones).';
    } else {
      try {
        const by = `${account.key}:${message.sender.id}`;
        text = approvalOutcome(await options.approvals!.decide(command.id, { approve: command.approve, always: command.always, by }));
      } catch (error) {
        text = error instanceof Error ? error.message : String(error);
      }
    }
    const entry = await queueMessage(account.key, target, text, 'approval', sessionKey);
    dispatcher.enqueue(entry);
  }

  async function queueMessage(accountKey: string, target: ChannelTarget, text: string, origin: string, sessionKey: string) {
    const entry = await store.enqueueOutbox({
      channel: accountKey,
      target: JSON.stringify(target),
      text,
      sessionKey,
      runId: `${origin}_${now().toString(36)}${randomInt(1_000_000).toString(36)}`,
      now: now(),
    });
    return entry;
  }

  async function receive(account: ChannelAccount, message: InboundMessage): Promise<void> {
    const config = routing;
    if (!config || stopped) throw new HearthError('SHUTTING_DOWN', 'the gateway is stopping');
    const log = { channel: account.key, chat: message.chat.id, sender: message.sender.id, messageId: message.messageId };
    // Only a direct message from someone not in allowFrom needs the pairing approvals.
    const inAllowList = listed(account.routing.allowFrom, message.sender.id, message.sender.username);
    const approved = message.chat.kind === 'direct' && !inAllowList ? await store.isApprovedSender(account.platform, account.accountId, message.sender.id) : false;
    const decision = decideInbound(message, account.routing, approved);
    if (decision.action === 'ignore') {
      logger.debug?.({ ...log, reason: decision.reason }, 'message not answered');
      if (message.chat.kind === 'direct') logger.info({ ...log, reason: decision.reason }, 'direct message not answered');
      return;
    }
    if (decision.action === 'pair') {
      const outcome = await store.requestPairing({
        channel: account.platform,
        accountId: account.accountId,
        senderId: message.sender.id,
        senderName: message.sender.name ?? message.sender.username ?? null,
        chatId: message.chat.id,
        code: newPairingCode(),
        now: now(),
        ttlMs: options.pairingTtlMs ?? 3_600_000,
        maxPending: options.maxPendingPairings ?? 3,
      });
      if (outcome.status === 'approved') return receive(account, message);
      if (outcome.status === 'full') {
        logger.warn({ ...log }, 'pairing request not created: this account already has the most pending requests (approve or wait for them to expire)');
        return;
      }
      if (outcome.status === 'pending') return;
      logger.info({ ...log, code: outcome.request.code }, `pairing requested: approve with \`hearth pairing approve ${outcome.request.code}\``);
      const minutes = Math.round((outcome.request.expiresAt - outcome.request.createdAt) / 60_000);
      await queueMessage(
        account.key,
        { chatId: message.chat.id },
        `I only answer people my owner has approved.\n\nYour pairing code: **${outcome.request.code}** (valid for ${minutes} minutes).\nAsk the owner to run \`hearth pairing approve ${outcome.request.code}\`.`,
        'pairing',
        `pairing:${account.key}:${message.sender.id}`,
      ).then((entry) => dispatcher.enqueue(entry));
      return;
    }
    const peerId = message.chat.kind === 'direct' ? message.sender.id : message.chat.id;
    let agentId = bindAgent(config.bindings, { channel: account.platform, accountId: account.accountId, kind: message.chat.kind === 'direct' ? 'direct' : 'group', peerId }, config.defaultAgentId);
    if (!config.agentIds.includes(agentId)) {
      logger.warn({ ...log, agentId }, `a binding names agent "${agentId}", which is not configured; using the default agent`);
      agentId = config.defaultAgentId;
    }
    const sessionKey = inboundSessionKey(message, { agentId, channel: account.platform, accountId: account.accountId, dmScope: config.dmScope });
    // A direct chat with a thread (an email conversation) is answered in that thread, replying to the message.
    const threaded = message.chat.threadId !== undefined && (message.chat.kind === 'thread' || message.chat.kind === 'direct');
    const target: ChannelTarget = {
      chatId: message.chat.id,
      ...(threaded ? { threadId: message.chat.threadId } : {}),
      ...(message.chat.kind === 'direct' && !threaded ? {} : { replyToMessageId: message.messageId }),
    };
    const who = message.sender.name ?? message.sender.username ?? message.sender.id;
    const attachments = message.attachments.map(describeAttachment).join(' ');
    const body = [message.text, attachments].filter((part) => part.length > 0).join('\n');
    if (body.trim() === '') return;
    const approvalCommand = options.approvals ? parseApprovalCommand(message.text) : null;
    if (approvalCommand) return answerApproval(account, message, target, sessionKey, approvalCommand);
    options.messageReceived?.({ channel: account.key, sessionKey, text: body }).catch((error: unknown) => logger.warn({ ...log, err: error }, 'the message_received hooks failed'));
    await options.turns.submit({
      sessionKey,
      agentId,
      source: 'channel',
      text: message.chat.kind === 'direct' ? body : `${who}: ${body}`,
      replyTo: { channel: account.key, target: JSON.stringify(target) },
      idempotency: { scope: `channel:${account.key}`, key: `${message.chat.id}:${message.messageId}` },
      ...untrustedOptions(message, account),
    });
  }

  async function startAccount(account: ChannelAccount): Promise<void> {
    const support = options.platforms[account.platform] ?? options.pluginPlatforms;
    if (!support) {
      notStarted.set(account.key, { account, reason: `the ${account.platform} channel is not available in this build`, since: now() });
      return;
    }
    const missing = support.missingConfig(account);
    if (missing) {
      notStarted.set(account.key, { account, reason: missing, since: now() });
      logger.error({ channel: account.key }, `channel account not started: ${missing}`);
      return;
    }
    let channel: Channel;
    try {
      channel = await support.create(account);
    } catch (error) {
      const reason = `could not be created: ${error instanceof Error ? error.message : String(error)}`;
      notStarted.set(account.key, { account, reason, since: now() });
      logger.error({ channel: account.key, err: error }, `channel account ${reason}`);
      return;
    }
    const authHint = support.authHint(account);
    const supervisor = createChannelSupervisor({
      channel,
      receive: (message) => receive(account, message),
      ...(options.media ? { media: options.media } : {}),
      onConnected: () => dispatcher.accountConnected(account.key),
      logger,
      reconnectDelayMs: account.reconnectDelayMs,
      reconnectMaxDelayMs: account.reconnectMaxDelayMs,
      stallTimeoutMs: account.stallTimeoutMs ?? support.stallTimeoutMs(account, channel),
      authHint,
      ...(options.now ? { now: options.now } : {}),
    });
    notStarted.delete(account.key);
    running.set(account.key, { account, supervisor, authHint });
    supervisor.start();
    if (delivering) await dispatcher.refill(account.key);
  }

  async function stopAccount(key: string): Promise<void> {
    const entry = running.get(key);
    if (!entry) return;
    running.delete(key);
    typing.stopAccount(key);
    dispatcher.forgetAccount(key);
    await entry.supervisor.stop();
  }

  return {
    /** Starts, restarts (changed settings) and stops accounts to match the config. */
    async apply(config: ChannelRoutingConfig): Promise<{ started: string[]; restarted: string[]; stopped: string[] }> {
      routing = config;
      const configured = resolveChannelAccounts(config.channels, config.credentials).filter((account) => account.enabled);
      const accounts = configured.filter((account) => config.held?.(account.key) ?? true);
      elsewhere.clear();
      for (const account of configured) if (!accounts.includes(account)) elsewhere.add(account.key);
      const wanted = new Map(accounts.map((account) => [account.key, account]));
      const result = { started: [] as string[], restarted: [] as string[], stopped: [] as string[] };
      for (const key of [...running.keys()]) {
        if (!wanted.has(key)) {
          await stopAccount(key);
          result.stopped.push(key);
        }
      }
      for (const key of [...notStarted.keys()]) if (!wanted.has(key)) notStarted.delete(key);
      for (const account of accounts) {
        const current = running.get(account.key);
        if (current && current.account.fingerprint === account.fingerprint) {
          current.account = account;
          continue;
        }
        if (current) {
          await stopAccount(account.key);
          result.restarted.push(account.key);
        } else {
          const previous = notStarted.get(account.key);
          if (previous && previous.account.fingerprint === account.fingerprint) continue;
          result.started.push(account.key);
        }
        await startAccount(account);
      }
      return result;
    },

    /** Delivers what earlier runs left in the outbox (for the accounts running here). */
    async startDelivery(): Promise<void> {
      delivering = true;
      await dispatcher.refill();
    },

    /** Cluster mode: reads the outbox again for replies other nodes queued for accounts running here. */
    refillOutbox: (): Promise<void> => (delivering && running.size > 0 ? dispatcher.refill() : Promise.resolve()),

    async status(): Promise<ChannelAccountStatus[]> {
      const counts = new Map((await store.outboxCounts()).map((row) => [row.channel, { pending: row.pending, failed: row.failed }]));
      const list: ChannelAccountStatus[] = [];
      for (const [key, entry] of running) list.push({ ...entry.supervisor.status(), outbox: counts.get(key) ?? { pending: 0, failed: 0 } });
      for (const [key, entry] of notStarted) list.push({ ...notStartedStatus(entry), outbox: counts.get(key) ?? { pending: 0, failed: 0 } });
      return list.sort((a, b) => `${a.channel}:${a.accountId}`.localeCompare(`${b.channel}:${b.accountId}`));
    },

    /** Queues a message to a peer and waits (bounded) until it is delivered or given up. */
    async send(input: { channel: string; accountId?: string; to: string; threadId?: string; text: string; timeoutMs: number }) {
      const accountKey = `${input.channel}:${input.accountId ?? 'default'}`;
      if (!running.has(accountKey)) {
        const configured = [...running.keys(), ...notStarted.keys()];
        throw new HearthError(
          'NOT_FOUND',
          `No running channel account ${accountKey}.${configured.length > 0 ? ` Running or configured: ${configured.join(', ')}.` : ' Configure one under channels in the config.'}`,
        );
      }
      const entry = await queueMessage(accountKey, { chatId: input.to, ...(input.threadId ? { threadId: input.threadId } : {}) }, input.text, 'send', `send:${accountKey}:${input.to}`);
      const delivery = dispatcher.waitForDelivery(entry.id, input.timeoutMs);
      dispatcher.enqueue(entry);
      const result = await delivery;
      return { outboxId: entry.id, delivered: result?.delivered ?? false, pending: result === null, error: result?.error ?? null };
    },

    /**
     * Before a webhook's body is read: 404 when no such account takes pushes, the platform's
     * refusal when its secret or signature headers are wrong, else the largest body to read.
     */
    checkWebhook(platform: string, accountId: string, headers: WebhookRequest['headers']): { status: number; body?: string } | { maxBodyBytes: number } {
      const channel = running.get(`${platform}:${accountId}`)?.supervisor.channel;
      if (!channel && elsewhere.has(`${platform}:${accountId}`)) return { status: 503, body: 'another node of the cluster holds this account: send the webhook there, or retry' };
      if (!channel?.receiveWebhook) return { status: 404, body: 'no channel account takes webhooks here' };
      return channel.checkWebhookHeaders?.(headers) ?? { maxBodyBytes: DEFAULT_WEBHOOK_BODY_BYTES };
    },

    /** Answers a platform's GET check of an account's webhook URL; 404 when no such account answers one. */
    verifyWebhook(platform: string, accountId: string, query: Record<string, string>): { status: number; body?: string } {
      const channel = running.get(`${platform}:${accountId}`)?.supervisor.channel;
      if (!channel?.receiveWebhook || !channel.verifyWebhook) return { status: 404, body: 'no channel account takes webhooks here' };
      return channel.verifyWebhook(query);
    },

    /** Hands a platform's webhook push to the account it is for; 404 when no such account takes pushes. */
    async webhook(platform: string, accountId: string, request: WebhookRequest): Promise<WebhookAnswer> {
      const entry = running.get(`${platform}:${accountId}`);
      const handler = entry?.supervisor.channel.receiveWebhook;
      if (!entry || !handler) return { status: 404, body: 'no channel account takes webhooks here' };
      return handler.call(entry.supervisor.channel, request);
    },

    listPairing: (): Promise<PairingRequest[]> => store.listPairingRequests(now()),

    /** Approves a pairing code and tells the sender they can talk to the bot now. */
    async approvePairing(code: string): Promise<PairingRequest | null> {
      const request = await store.approvePairing(code, now());
      if (!request) return null;
      const accountKey = `${request.channel}:${request.accountId}`;
      logger.info({ channel: accountKey, sender: request.senderId }, 'pairing approved');
      const entry = await queueMessage(accountKey, { chatId: request.chatId }, 'You are approved. Send me a message any time.', 'pairing', `pairing:${accountKey}:${request.senderId}`);
      dispatcher.enqueue(entry);
      return request;
    },

    /**
     * Every configured account for the health reconciler: running ones with their probe and a
     * reconnect, ones that could not start with the reason (nothing to reconnect).
     */
    healthTargets(): ChannelHealthTarget[] {
      const targets: ChannelHealthTarget[] = [];
      for (const entry of running.values()) {
        const { supervisor } = entry;
        const probe = supervisor.channel.probe?.bind(supervisor.channel);
        targets.push({
          channel: entry.account.platform,
          account: entry.account.accountId,
          status: () => supervisor.status(),
          credentialsRefused: () => supervisor.credentialsRefused(),
          ...(probe ? { probe } : {}),
          reconnect: (reason) => supervisor.reconnect(reason),
          authHint: entry.authHint,
        });
      }
      for (const entry of notStarted.values()) {
        targets.push({
          channel: entry.account.platform,
          account: entry.account.accountId,
          status: () => notStartedStatus(entry),
          credentialsRefused: () => false,
          authHint: null,
        });
      }
      return targets.sort((a, b) => `${a.channel}:${a.account}`.localeCompare(`${b.channel}:${b.account}`));
    },

    /**
     * Delivers a message already committed to the outbox (an operator alert). An account that is
     * not running gets it when it starts, like any queued reply.
     */
    deliver(entry: OutboxEntry): void {
      if (running.has(entry.channel)) dispatcher.enqueue(entry);
    },

    /** Waits until no delivery is in progress (tests). */
    deliveryIdle: () => dispatcher.idle(),

    async stop(): Promise<void> {
      stopped = true;
      unsubscribe();
      unsubscribeApprovals?.();
      typing.stopAll();
      dispatcher.stop();
      await Promise.all([...running.keys()].map((key) => stopAccount(key)));
      notStarted.clear();
    },
  };
}

export type ChannelManager = ReturnType<typeof createChannelManager>;
