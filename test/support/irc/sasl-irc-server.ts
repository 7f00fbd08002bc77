/**
 * A small scripted IRC server on 127.0.0.1 for testing SASL, which Debian's ngircd lacks. It speaks
 * just enough of the real protocol for irc-framework to register through it:
 *
 * - IRCv3 capability negotiation (`CAP LS [302]`, `CAP REQ`, `CAP LIST`, `CAP END`), offering
 *   `sasl=PLAIN multi-prefix`; registration waits for `CAP END` once negotiation has started.
 * - SASL PLAIN (`AUTHENTICATE PLAIN`, then the base64 payload in 400-byte chunks, `+` for an
 *   empty or final chunk, `*` to abort), answered with 900 + 903 or 904 (and 902, 905, 906, 907, 908
 *   where they apply). Successful logins are recorded in `authenticated`.
 * - RFC 1459 registration (NICK + USER → 001–004, 005 with `CHANTYPES=# NICKLEN=30`, 375/372/376),
 *   PING → PONG, JOIN (echo + 353/366), QUIT (ERROR, then the server closes).
 *
 * There is only one real client (the bot). A scripted person talks to it with `sendToBot`, and
 * whatever the bot PRIVMSGs is recorded (`received()`), whoever it is addressed to.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { parseIrcLine } from './irc-user.js';

export interface SaslIrcServerOptions {
  /** SASL accounts the server accepts: account name → password. */
  accounts: Record<string, string>;
  /** Default 'sasl.hearth.test'. */
  serverName?: string;
}

/** A PRIVMSG a client sent. */
export interface SentPrivmsg {
  /** The sender's nick at the time. */
  from: string;
  target: string;
  text: string;
}

export interface SaslIrcServer {
  host: '127.0.0.1';
  port: number;
  /** Accounts that logged in with SASL, one entry per successful login, oldest first. */
  readonly authenticated: readonly string[];
  /** Every line received from any client, oldest first (CR LF removed). */
  readonly lines: readonly string[];
  /** PRIVMSGs the clients sent, oldest first. */
  received(): SentPrivmsg[];
  /** Sends `:fromNick!u@h PRIVMSG <bot nick> :text` to the client that registered last. Throws when none is connected. */
  sendToBot(fromNick: string, text: string): void;
  /** The first received line, already there or still to come, that matches; rejects after `timeoutMs` (default 10 s). */
  waitForLine(predicate: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** The first PRIVMSG, already there or still to come, that matches; rejects after `timeoutMs` (default 10 s). */
  waitForPrivmsg(predicate: (message: SentPrivmsg) => boolean, timeoutMs?: number): Promise<SentPrivmsg>;
  /** Closes every connection and stops listening. */
  close(): Promise<void>;
}

/** Capabilities on offer, with their CAP 302 values. */
const CAPABILITIES: ReadonlyMap<string, string> = new Map([
  ['sasl', 'PLAIN'],
  ['multi-prefix', ''],
]);
/** A line longer than this (without CR LF) gets the client disconnected, as real servers do. */
const MAX_LINE_BYTES = 510;
/** SASL payload chunks are at most 400 bytes; a full chunk means more follow. */
const SASL_CHUNK = 400;
/** Refuse SASL payloads beyond this (a PLAIN payload is small). */
const MAX_SASL_PAYLOAD = 4096;
const DEFAULT_WAIT_MS = 10_000;
/** Commands a client may send before it has registered. */
const PRE_REGISTRATION = new Set(['CAP', 'AUTHENTICATE', 'NICK', 'USER', 'PASS', 'PING', 'PONG', 'QUIT']);

/** One client connection. */
interface Client {
  socket: Socket;
  nick: string | null;
  hasUser: boolean;
  registered: boolean;
  closed: boolean;
  /** True from CAP LS / CAP REQ until CAP END: registration is held back meanwhile. */
  negotiating: boolean;
  caps: Set<string>;
  /** The SASL exchange in progress: its mechanism and the payload received so far. */
  sasl: { payload: string } | null;
  account: string | null;
  pending: Buffer;
}

interface Waiter<T> {
  predicate: (item: T) => boolean;
  resolve: (item: T) => void;
}

/** Starts the server on a free loopback port. */
export async function startSaslIrcServer(options: SaslIrcServerOptions): Promise<SaslIrcServer> {
  const serverName = options.serverName ?? 'sasl.hearth.test';
  const accounts = new Map(Object.entries(options.accounts));
  const clients = new Set<Client>();
  const authenticated: string[] = [];
  const lines: string[] = [];
  const privmsgs: SentPrivmsg[] = [];
  const lineWaiters = new Set<Waiter<string>>();
  const privmsgWaiters = new Set<Waiter<SentPrivmsg>>();
  /** The client that registered last: the one `sendToBot` talks to. */
  let bot: Client | null = null;

  function notify<T>(waiters: Set<Waiter<T>>, item: T): void {
    for (const waiter of [...waiters]) {
      if (waiter.predicate(item)) {
        waiters.delete(waiter);
        waiter.resolve(item);
      }
    }
  }

  function waitFor<T>(kept: readonly T[], waiters: Set<Waiter<T>>, predicate: (item: T) => boolean, timeoutMs: number, what: string): Promise<T> {
    const found = kept.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        predicate,
        resolve: (item) => {
          clearTimeout(timer);
          resolve(item);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`SASL IRC server: no ${what} matched within ${timeoutMs} ms (received: ${JSON.stringify(lines.slice(-20))})`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  }

  function send(client: Client, line: string): void {
    if (!client.closed && !client.socket.destroyed) client.socket.write(`${line}\r\n`);
  }

  /** Sends a numeric (or other server reply) addressed to the client: `:server <what> <nick|*> <rest>`. */
  function reply(client: Client, what: string, rest: string): void {
    send(client, `:${serverName} ${what} ${client.nick ?? '*'} ${rest}`);
  }

  function mask(client: Client): string {
    return `${client.nick ?? '*'}!u@h`;
  }

  /** Ends a client's connection with an ERROR line, as a server does after QUIT or a protocol violation. */
  function drop(client: Client, reason: string): void {
    if (client.closed) return;
    send(client, `ERROR :Closing Link: 127.0.0.1 (${reason})`);
    client.closed = true;
    client.socket.end();
  }

  function tryRegister(client: Client): void {
    if (client.registered || client.negotiating || client.nick === null || !client.hasUser) return;
    client.registered = true;
    bot = client;
    const nick = client.nick;
    reply(client, '001', `:Welcome to the Hearth SASL test network ${mask(client)}`);
    reply(client, '002', `:Your host is ${serverName}, running version hearth-sasl-test-1`);
    reply(client, '003', ':This server was created today');
    reply(client, '004', `${serverName} hearth-sasl-test-1 io ntikl`);
    reply(client, '005', 'CHANTYPES=# NICKLEN=30 CASEMAPPING=rfc1459 PREFIX=(ov)@+ NETWORK=HearthSasl :are supported by this server');
    reply(client, '375', `:- ${serverName} Message of the day -`);
    reply(client, '372', `:- Hello ${nick}${client.account ? `, logged in as ${client.account}` : ''}`);
    reply(client, '376', ':End of MOTD command');
  }

  function handleCap(client: Client, params: string[]): void {
    const sub = (params[0] ?? '').toUpperCase();
    if (sub === 'LS') {
      if (!client.registered) client.negotiating = true;
      const v302 = Number(params[1] ?? '0') >= 302;
      const offered = [...CAPABILITIES].map(([name, value]) => (v302 && value !== '' ? `${name}=${value}` : name));
      reply(client, 'CAP', `LS :${offered.join(' ')}`);
    } else if (sub === 'REQ') {
      if (!client.registered) client.negotiating = true;
      const wanted = (params[1] ?? '').split(' ').filter((cap) => cap !== '');
      // All or nothing (IRCv3): one unknown capability refuses the whole request.
      const ok = wanted.length > 0 && wanted.every((cap) => CAPABILITIES.has(cap.replace(/^-/u, '')));
      if (ok) {
        for (const cap of wanted) {
          if (cap.startsWith('-')) client.caps.delete(cap.slice(1));
          else client.caps.add(cap);
        }
      }
      reply(client, 'CAP', `${ok ? 'ACK' : 'NAK'} :${wanted.join(' ')}`);
    } else if (sub === 'LIST') {
      reply(client, 'CAP', `LIST :${[...client.caps].join(' ')}`);
    } else if (sub === 'END') {
      client.negotiating = false;
      tryRegister(client);
    } else {
      reply(client, '410', `${sub} :Invalid CAP command`);
    }
  }

  /** Checks a complete PLAIN payload (`authzid \0 authcid \0 password`, base64) and answers 900+903 or 904. */
  function finishPlain(client: Client, payload: string): void {
    client.sasl = null;
    const decoded = Buffer.from(payload, 'base64').toString('utf8');
    const parts = decoded.split('\0');
    const [authzid, authcid, password] = parts;
    const valid =
      parts.length === 3 &&
      /^[A-Za-z0-9+/]*={0,2}$/u.test(payload) &&
      authcid !== undefined &&
      password !== undefined &&
      accounts.has(authcid) &&
      accounts.get(authcid) === password &&
      (authzid === '' || authzid === authcid);
    if (!valid || authcid === undefined) {
      reply(client, '904', ':SASL authentication failed');
      return;
    }
    client.account = authcid;
    authenticated.push(authcid);
    reply(client, '900', `${mask(client)} ${authcid} :You are now logged in as ${authcid}`);
    reply(client, '903', ':SASL authentication successful');
  }

  function handleAuthenticate(client: Client, params: string[]): void {
    const argument = params[0] ?? '';
    if (!client.caps.has('sasl')) {
      reply(client, '904', ':SASL authentication failed (the sasl capability is not enabled)');
      return;
    }
    if (client.account !== null) {
      reply(client, '907', ':You have already authenticated using SASL');
      return;
    }
    if (client.sasl === null) {
      if (argument.toUpperCase() !== 'PLAIN') {
        reply(client, '908', 'PLAIN :are available SASL mechanisms');
        reply(client, '904', ':SASL authentication failed');
        return;
      }
      client.sasl = { payload: '' };
      send(client, 'AUTHENTICATE +');
      return;
    }
    if (argument === '*') {
      client.sasl = null;
      reply(client, '906', ':SASL authentication aborted');
      return;
    }
    if (argument.length > SASL_CHUNK || client.sasl.payload.length + argument.length > MAX_SASL_PAYLOAD) {
      client.sasl = null;
      reply(client, '905', ':SASL message too long');
      return;
    }
    if (argument !== '+') client.sasl.payload += argument;
    if (argument === '+' || argument.length < SASL_CHUNK) finishPlain(client, client.sasl.payload);
  }

  function handleNick(client: Client, params: string[]): void {
    const nick = params[0] ?? '';
    if (nick === '') {
      reply(client, '431', ':No nickname given');
      return;
    }
    if (!/^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]{0,29}$/u.test(nick)) {
      reply(client, '432', `${nick} :Erroneous nickname`);
      return;
    }
    const taken = [...clients].some((other) => other !== client && !other.closed && other.nick?.toLowerCase() === nick.toLowerCase());
    if (taken) {
      reply(client, '433', `${nick} :Nickname is already in use`);
      return;
    }
    if (client.registered) send(client, `:${mask(client)} NICK :${nick}`);
    client.nick = nick;
    tryRegister(client);
  }

  function handleLine(client: Client, raw: string): void {
    lines.push(raw);
    notify(lineWaiters, raw);
    const { command, params } = parseIrcLine(raw);
    if (!client.registered && !PRE_REGISTRATION.has(command)) {
      reply(client, '451', ':You have not registered');
      return;
    }
    switch (command) {
      case 'CAP':
        handleCap(client, params);
        break;
      case 'AUTHENTICATE':
        handleAuthenticate(client, params);
        break;
      case 'NICK':
        handleNick(client, params);
        break;
      case 'USER':
        if (client.registered) reply(client, '462', ':You may not reregister');
        else if (params.length < 4) reply(client, '461', 'USER :Not enough parameters');
        else {
          client.hasUser = true;
          tryRegister(client);
        }
        break;
      case 'PING':
        send(client, `:${serverName} PONG ${serverName} :${params.at(-1) ?? ''}`);
        break;
      case 'QUIT':
        drop(client, `Quit: ${params[0] ?? ''}`);
        break;
      case 'JOIN':
        for (const channel of (params[0] ?? '').split(',').filter((name) => name !== '')) {
          if (!channel.startsWith('#')) {
            reply(client, '403', `${channel} :No such channel`);
            continue;
          }
          send(client, `:${mask(client)} JOIN ${channel}`);
          reply(client, '353', `= ${channel} :@${client.nick ?? '*'}`);
          reply(client, '366', `${channel} :End of /NAMES list`);
        }
        break;
      case 'PRIVMSG': {
        const [target, text] = params;
        if (target === undefined || text === undefined) {
          reply(client, '412', ':No text to send');
          break;
        }
        const message: SentPrivmsg = { from: client.nick ?? '*', target, text };
        privmsgs.push(message);
        notify(privmsgWaiters, message);
        break;
      }
      // Accepted and ignored.
      case 'PASS':
      case 'PONG':
      case 'NOTICE':
      case 'MODE':
      case 'WHO':
        break;
      default:
        reply(client, '421', `${command} :Unknown command`);
    }
  }

  const server = createServer((socket) => {
    const client: Client = { socket, nick: null, hasUser: false, registered: false, closed: false, negotiating: false, caps: new Set(), sasl: null, account: null, pending: Buffer.alloc(0) };
    clients.add(client);
    socket.on('data', (chunk: Buffer) => {
      client.pending = client.pending.length === 0 ? chunk : Buffer.concat([client.pending, chunk]);
      for (;;) {
        if (client.closed) return;
        const newline = client.pending.indexOf(0x0a);
        if (newline === -1) break;
        const raw = client.pending.subarray(0, newline).toString('utf8').replace(/\r$/u, '');
        client.pending = client.pending.subarray(newline + 1);
        if (Buffer.byteLength(raw) > MAX_LINE_BYTES) {
          drop(client, 'Request too long');
          return;
        }
        if (raw !== '') handleLine(client, raw);
      }
      if (client.pending.length > MAX_LINE_BYTES) drop(client, 'Request too long');
    });
    socket.on('close', () => {
      client.closed = true;
      clients.delete(client);
      if (bot === client) bot = null;
    });
    // Resets and the like always end in 'close'.
    socket.on('error', () => {});
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    host: '127.0.0.1',
    port,
    authenticated,
    lines,
    received: () => [...privmsgs],
    sendToBot(fromNick, text) {
      if (/[\r\n\0]/u.test(fromNick + text)) throw new RangeError('sendToBot: the nick and text must be one line without NUL');
      const target = bot;
      if (target === null || target.closed || target.nick === null) throw new Error('sendToBot: no registered client is connected');
      send(target, `:${fromNick}!u@h PRIVMSG ${target.nick} :${text}`);
    },
    waitForLine: (predicate, timeoutMs = DEFAULT_WAIT_MS) => waitFor(lines, lineWaiters, predicate, timeoutMs, 'line'),
    waitForPrivmsg: (predicate, timeoutMs = DEFAULT_WAIT_MS) => waitFor(privmsgs, privmsgWaiters, predicate, timeoutMs, 'PRIVMSG'),
    close() {
      for (const client of clients) {
        client.closed = true;
        client.socket.destroy();
      }
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
