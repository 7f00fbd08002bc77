import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A local stand-in for signal-cli's HTTP daemon (`signal-cli daemon --http`), speaking its wire
 * format: JSON-RPC 2.0 at POST /api/v1/rpc (with signal-cli's error codes), Server-Sent Events at
 * GET /api/v1/events (`id:`, `event:receive`, `data:{account, envelope}`, `:` keep-alives), and
 * GET /api/v1/check. It serves several accounts like a daemon started without `-a`, so
 * account-scoped requests name their account.
 *
 * Receiving follows `--receive-mode on-connection`: a message for an account whose events stream
 * is closed waits (as it would at Signal's server) and is sent when a stream opens. Recent events
 * are kept, and a stream opened with `Last-Event-ID` first gets the kept events after that id.
 */

export interface SignalPerson {
  number: string;
  uuid: string;
  name: string;
}

export interface FakeSignalGroup {
  id: string;
  name: string;
}

export interface SentSignalMessage {
  account: string;
  /** The recipient (ACI or number) for a direct message, the group id for a group message. */
  chatId: string;
  isGroup: boolean;
  message: string;
  quote?: { timestamp: number; author: string };
  timestamp: number;
  at: number;
}

export type SignalSendFailure = { kind: 'rate-limit'; retryAfterSeconds: number } | { kind: 'network' };

interface StoredEvent {
  seq: number;
  data: string;
  delivered: boolean;
}

interface Account {
  number: string;
  uuid: string;
  events: StoredEvent[];
  failures: SignalSendFailure[];
  failing: boolean;
}

interface StreamClient {
  account: Account;
  response: ServerResponse;
}

const VERSION = '0.13.22';
const KEPT_EVENTS = 1000;

/** A UUID made from a number, so test people have stable ACIs. */
export function fakeAci(seed: number): string {
  const hex = seed.toString(16).padStart(12, '0');
  return `00000000-0000-4000-8000-${hex}`;
}

export async function startFakeSignalServer(options: { keepAliveMs?: number } = {}) {
  const accounts = new Map<string, Account>();
  const groups = new Map<string, FakeSignalGroup>();
  const people = new Map<string, SignalPerson>();
  const clients = new Set<StreamClient>();
  const sockets = new Set<Socket>();
  const sent: SentSignalMessage[] = [];
  const typing: { account: string; chatId: string; at: number }[] = [];
  /** Every request for an events stream: the account, the Last-Event-ID it sent, and whether it was refused. */
  const streams: { account: string; lastEventId: string | null; refused: boolean }[] = [];
  const idPrefix = `${Date.now()}-`;
  let nextSeq = 1;
  let lastTimestamp = 0;
  let silent = false;
  let refusing = false;
  let cutAfterNextEvent = false;

  /** Signal timestamps are milliseconds and identify a message with its author: keep them unique. */
  const timestamp = () => {
    lastTimestamp = Math.max(Date.now(), lastTimestamp + 1);
    return lastTimestamp;
  };

  const findAccount = (id: unknown) => [...accounts.values()].find((account) => account.number === id || account.uuid === id);

  function deliver(client: StreamClient, event: StoredEvent): void {
    if (client.response.destroyed || client.response.writableEnded) return;
    client.response.write(`id:${idPrefix}${event.seq}\nevent:receive\ndata:${event.data}\n\n`, (error) => {
      if (!error) event.delivered = true;
    });
    if (cutAfterNextEvent) {
      cutAfterNextEvent = false;
      client.response.destroy();
    }
  }

  function push(account: Account, payload: unknown): void {
    const event: StoredEvent = { seq: nextSeq++, data: typeof payload === 'string' ? payload : JSON.stringify(payload), delivered: false };
    account.events.push(event);
    if (account.events.length > KEPT_EVENTS) account.events.shift();
    if (silent) return;
    for (const client of clients) if (client.account === account) deliver(client, event);
  }

  function openStream(request: IncomingMessage, response: ServerResponse, query: URLSearchParams): void {
    const wanted = query.get('account');
    const account = wanted ? findAccount(wanted) : accounts.size === 1 ? [...accounts.values()][0] : undefined;
    if (!account) {
      response.writeHead(400).end();
      return;
    }
    const header = request.headers['last-event-id'];
    const lastEventId = typeof header === 'string' ? header : null;
    streams.push({ account: account.number, lastEventId, refused: refusing });
    if (refusing) {
      response.writeHead(503).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.flushHeaders();
    const client: StreamClient = { account, response };
    const lastSeq = lastEventId?.startsWith(idPrefix) ? Number(lastEventId.slice(idPrefix.length)) : null;
    if (!silent) {
      for (const event of account.events) if (!event.delivered || (lastSeq !== null && event.seq > lastSeq)) deliver(client, event);
    }
    clients.add(client);
    const keepAlive = setInterval(() => {
      if (!silent && !response.destroyed) response.write(':\n');
    }, options.keepAliveMs ?? 15_000);
    response.on('close', () => {
      clearInterval(keepAlive);
      clients.delete(client);
    });
  }

  const rpcError = (code: number, message: string, data: unknown = null) => ({ error: { code, message, data } });

  function sendResults(failure: SignalSendFailure | undefined, recipients: string[]) {
    const type = failure?.kind === 'rate-limit' ? 'RATE_LIMIT_FAILURE' : failure ? 'NETWORK_FAILURE' : 'SUCCESS';
    return recipients.map((recipient) => {
      const person = people.get(recipient);
      return {
        recipientAddress: { uuid: person?.uuid ?? recipient, number: person?.number ?? null },
        type,
        ...(failure?.kind === 'rate-limit' ? { retryAfterSeconds: failure.retryAfterSeconds } : {}),
      };
    });
  }

  /** The recipients of a send or sendTyping, or the error signal-cli answers. */
  function recipientsOf(params: Record<string, unknown>): { chatId: string; isGroup: boolean; members: string[] } | { error: ReturnType<typeof rpcError> } {
    if (typeof params.groupId === 'string') {
      const group = groups.get(params.groupId);
      if (!group) return { error: rpcError(-1, `Group not found: ${params.groupId}`) };
      return { chatId: group.id, isGroup: true, members: [...people.keys()].filter((key) => key.startsWith('+')) };
    }
    const recipient = Array.isArray(params.recipient) ? params.recipient[0] : params.recipient;
    if (typeof recipient !== 'string') return { error: rpcError(-1, 'No recipients given') };
    if (!people.has(recipient)) return { error: rpcError(-1, `The user ${recipient} is not registered.`) };
    return { chatId: recipient, isGroup: false, members: [recipient] };
  }

  function call(method: string, params: Record<string, unknown>): { result: unknown } | { error: unknown } {
    if (method === 'version') return { result: { version: VERSION } };
    if (method === 'listAccounts') return { result: [...accounts.values()].map((account) => ({ number: account.number })) };
    const account = params.account === undefined ? (accounts.size === 1 ? [...accounts.values()][0] : undefined) : findAccount(params.account);
    if (!account) return params.account === undefined ? rpcError(-32602, 'Method requires valid account parameter') : rpcError(-32602, 'Specified account does not exist');
    switch (method) {
      case 'listContacts': {
        const wanted = Array.isArray(params.recipient) ? params.recipient.map(String) : [];
        const everyone = [{ number: account.number, uuid: account.uuid, username: null, name: '' }, ...[...people.values()].filter((person) => person.number.startsWith('+')).map((person) => ({ number: person.number, uuid: person.uuid, username: null, name: person.name }))];
        return { result: everyone.filter((item) => wanted.length === 0 || wanted.includes(item.number) || wanted.includes(item.uuid)) };
      }
      case 'listGroups':
        return { result: [...groups.values()].map((group) => ({ id: group.id, name: group.name, isMember: true, isBlocked: false })) };
      case 'sendTyping': {
        const target = recipientsOf(params);
        if ('error' in target) return target.error;
        typing.push({ account: account.number, chatId: target.chatId, at: Date.now() });
        return { result: { timestamp: timestamp(), results: sendResults(undefined, target.members) } };
      }
      case 'send': {
        const target = recipientsOf(params);
        if ('error' in target) return target.error;
        if (typeof params.message !== 'string' || params.message === '') return rpcError(-1, 'Sending empty message is not allowed, either a message, attachment or sticker must be given.');
        const failure: SignalSendFailure | undefined = account.failing ? { kind: 'network' } : account.failures.shift();
        const at = timestamp();
        const results = sendResults(failure, target.members);
        if (failure?.kind === 'rate-limit') return rpcError(-5, 'Failed to send message due to rate limiting', { response: { timestamp: at, results } });
        if (failure) return rpcError(-1, 'Failed to send message', { response: { timestamp: at, results } });
        const quote = typeof params.quoteTimestamp === 'number' && typeof params.quoteAuthor === 'string' ? { quote: { timestamp: params.quoteTimestamp, author: params.quoteAuthor } } : {};
        sent.push({ account: account.number, chatId: target.chatId, isGroup: target.isGroup, message: params.message, ...quote, timestamp: at, at: Date.now() });
        return { result: { timestamp: at, results } };
      }
      default:
        return rpcError(-32601, 'Method not implemented');
    }
  }

  async function answerRpc(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== 'POST') return void response.writeHead(405).end();
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) return void response.writeHead(415).end();
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    let body: { jsonrpc?: string; method?: unknown; params?: unknown; id?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      return json(response, { jsonrpc: '2.0', ...rpcError(-32700, 'Parse error'), id: null });
    }
    if (typeof body.method !== 'string') return json(response, { jsonrpc: '2.0', ...rpcError(-32600, 'method field must be set'), id: null });
    const params = typeof body.params === 'object' && body.params !== null ? (body.params as Record<string, unknown>) : {};
    // A request without an id is a notification: signal-cli runs it and answers 201 without a body.
    if (body.id === undefined) {
      call(body.method, params);
      return void response.writeHead(201).end();
    }
    json(response, { jsonrpc: '2.0', ...call(body.method, params), id: body.id });
  }

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/api/v1/rpc') {
      void answerRpc(request, response).catch(() => response.destroy());
    } else if (url.pathname === '/api/v1/events') {
      if (request.method !== 'GET') response.writeHead(405).end();
      else openStream(request, response, url.searchParams);
    } else if (url.pathname === '/api/v1/check') {
      response.writeHead(200).end();
    } else {
      response.writeHead(404).end();
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const rpcUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    rpcUrl,
    sent,
    typing,
    streams,
    /** Registers an account on the daemon (as `signal-cli link` or `register` would). */
    addAccount(number: string, uuid: string): void {
      accounts.set(number, { number, uuid, events: [], failures: [], failing: false });
      people.set(number, { number, uuid, name: number });
    },
    /** A Signal user the accounts can write to (by phone number or ACI). */
    addPerson(person: SignalPerson): void {
      people.set(person.number, person);
      people.set(person.uuid, person);
    },
    addGroup(name: string): FakeSignalGroup {
      const group = { id: randomBytes(32).toString('base64'), name };
      groups.set(group.id, group);
      return group;
    },
    /** A person's message arrives for `account`: a direct message, or one in `group`. */
    receive(account: string, from: SignalPerson, text: string, extra: { group?: FakeSignalGroup; mentions?: unknown[]; attachments?: unknown[]; quote?: unknown } = {}): number {
      const own = accounts.get(account);
      if (!own) throw new Error(`no account ${account} on the fake daemon`);
      const at = timestamp();
      const dataMessage = {
        timestamp: at,
        message: text,
        expiresInSeconds: 0,
        viewOnce: false,
        ...(extra.mentions ? { mentions: extra.mentions } : {}),
        ...(extra.attachments ? { attachments: extra.attachments } : {}),
        ...(extra.quote ? { quote: extra.quote } : {}),
        ...(extra.group ? { groupInfo: { groupId: extra.group.id, groupName: extra.group.name, revision: 1, type: 'DELIVER' } } : {}),
      };
      push(own, {
        envelope: { source: from.number, sourceNumber: from.number, sourceUuid: from.uuid, sourceName: from.name, sourceDevice: 1, timestamp: at, serverReceivedTimestamp: at, serverDeliveredTimestamp: at, dataMessage },
        account,
      });
      return at;
    },
    /** Sends an event's data exactly as given (for payloads the adapter cannot understand). */
    receiveRaw(account: string, data: unknown): void {
      const own = accounts.get(account);
      if (!own) throw new Error(`no account ${account} on the fake daemon`);
      push(own, data);
    },
    failSends(account: string, failures: SignalSendFailure[]): void {
      accounts.get(account)?.failures.push(...failures);
    },
    setSendsFailing(account: string, on: boolean): void {
      const own = accounts.get(account);
      if (own) own.failing = on;
    },
    /** While on, open streams get neither events nor keep-alives (a daemon that stopped receiving). */
    setSilent(on: boolean): void {
      silent = on;
    },
    /** While on, events streams are refused (503): messages wait, as at Signal's server. */
    setRefusingStreams(on: boolean): void {
      refusing = on;
    },
    /** The stream that carries the next event is cut right after writing it (the bot may or may not have read it). */
    cutAfterNextEvent(): void {
      cutAfterNextEvent = true;
    },
    /** Events of `account` not yet written to a stream. */
    waiting: (account: string) => (accounts.get(account)?.events ?? []).filter((event) => !event.delivered).length,
    /** Open events streams per account. */
    openStreams: (account: string) => [...clients].filter((client) => client.account.number === account && !client.response.destroyed).length,
    dropConnections(): void {
      for (const client of clients) client.response.destroy();
      clients.clear();
      for (const socket of sockets) socket.destroy();
    },
    async close(): Promise<void> {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type FakeSignalServer = Awaited<ReturnType<typeof startFakeSignalServer>>;

function json(response: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
