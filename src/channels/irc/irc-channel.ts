import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { Client } from 'irc-framework';
import type { ClientOptions, CtcpRequestEvent, IrcErrorEvent, MessageEvent, RawEvent, RegisteredEvent, SaslFailedEvent } from 'irc-framework';
import type { Channel, ChannelProbeResult, ChannelRunContext, InboundMessage, OutboundMessage, SendReceipt } from '../../contracts/channel.js';
import { ChannelError } from '../../contracts/channel.js';
import { pause } from '../abort-helpers.js';
import { markdownToPlainText } from '../markdown.js';

export interface IrcChannelOptions {
  accountId: string;
  host: string;
  /** Default 6697 with TLS, else 6667. */
  port?: number;
  tls?: boolean;
  /** Accept a server certificate that does not verify (self-signed servers). */
  tlsInsecure?: boolean;
  nick: string;
  /** User name (ident); default: the nick. */
  username?: string;
  /** Real name (gecos); default 'Hearth'. */
  realname?: string;
  /** Server password, sent with PASS. */
  password?: string;
  /** SASL PLAIN credentials, used when the server offers SASL. */
  sasl?: { account: string; password: string };
  /** Channels to join on every registration. */
  channels?: string[];
  /** Gap between two lines sent once the burst is used up (default 500 ms; 0 turns pacing off). */
  floodDelayMs?: number;
  /** Lines sent without delay after a quiet spell (default 4). */
  floodBurst?: number;
  /** Seconds between client PINGs once registered (default 30), so a silent server is noticed. */
  pingIntervalSeconds?: number;
  /** While registered under another nick, how often to try to take the configured one back (default 60 s). */
  nickRegainMs?: number;
}

/** One chunk the outbox hands to `send`, in characters (the adapter splits further by bytes). */
export const IRC_MAX_MESSAGE = 400;
/** A line may be 512 bytes including CR LF. */
const IRC_MAX_LINE_BYTES = 510;
/** Room kept for the `user@host` part of the prefix the server adds when it relays our line. */
const USER_RESERVE_BYTES = 12;
const HOST_RESERVE_BYTES = 63;
const DEFAULT_FLOOD_DELAY_MS = 500;
const DEFAULT_FLOOD_BURST = 4;
const DEFAULT_PING_INTERVAL_SECONDS = 30;
const DEFAULT_NICK_REGAIN_MS = 60_000;
/** How long `send` waits for the server to confirm (PONG) the lines it wrote. */
const CONFIRM_TIMEOUT_MS = 20_000;
/** After QUIT, how long to wait for the server to close before dropping the socket. */
const QUIT_GRACE_MS = 2000;
/** Received messages waiting to be stored; beyond this they are dropped (and logged). */
const MAX_PENDING_INBOUND = 1000;
/** CTCP queries clients send routinely; they are skipped quietly. */
const ROUTINE_CTCP: readonly string[] = ['VERSION', 'PING', 'TIME', 'CLIENTINFO', 'SOURCE', 'USERINFO', 'FINGER'];
/** Numerics that refuse a message to a target; 401 (no such nick) is retried, the rest are not. */
const REFUSALS: Record<string, 'transient' | 'rejected'> = {
  '401': 'transient',
  '403': 'rejected',
  '404': 'rejected',
  '407': 'rejected',
  '412': 'rejected',
  '413': 'rejected',
  '414': 'rejected',
  '477': 'rejected',
  '486': 'rejected',
  '531': 'rejected',
  '716': 'rejected',
};
const JOIN_ERRORS: readonly string[] = ['channel_is_full', 'invite_only_channel', 'banned_from_channel', 'bad_channel_key', 'too_many_channels'];
const TLS_VERIFY_CODES = /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|CERT_UNTRUSTED|CERT_REVOKED|ERR_TLS_CERT_ALTNAME_INVALID)$/u;

/** Maps a failure around the IRC client to what the supervisor and the outbox can act on. */
export function toChannelError(error: unknown, action: string): ChannelError {
  if (error instanceof ChannelError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && TLS_VERIFY_CODES.test(code)) {
    return new ChannelError('auth', `could not ${action}: the server's TLS certificate did not verify (${message}); set tlsInsecure: true only if you trust this server`, { cause: error });
  }
  return new ChannelError('transient', `could not ${action}: ${message}`, { cause: error });
}

/** A PRIVMSG, ACTION or CTCP request as the IRC client reports it. */
export interface IrcInboundEvent {
  kind: 'privmsg' | 'action' | 'ctcp';
  /** The sender's nick (undefined for server messages). */
  nick: string | undefined;
  fromServer: boolean;
  /** The bot's nick for private messages, else the channel. */
  target: string;
  /** privmsg and action: the text; ctcp: what stands between the \x01 delimiters. */
  message: string;
  /** ctcp only: the CTCP command, upper case. */
  ctcpType?: string | null;
  tags: Record<string, string>;
}

/** Who the bot is on the network, for normalizing what it receives. */
export interface IrcBotIdentity {
  /** The bot's current nick. */
  nick: string;
  /** Other nicks that count as the bot (the configured nick while the bot uses an alternative). */
  aliases: readonly string[];
  isChannel(name: string): boolean;
  /** The message id when the server does not tag messages with one (IRC has no message ids). */
  fallbackId: string;
}

/** IRC compares nicks case-insensitively, with []\~ the upper case of {}|^ (RFC 1459). */
function foldNick(text: string): string {
  return text.replace(/[A-Z[\]\\~]/gu, (char) => {
    if (char === '[') return '{';
    if (char === ']') return '}';
    if (char === '\\') return '|';
    if (char === '~') return '^';
    return char.toLowerCase();
  });
}

const isNickChar = (char: string | undefined) => char !== undefined && /[A-Za-z0-9[\]\\`_^{|}-]/u.test(char);

/** True when `text` names one of `nicks` as a whole word ("hearth: hi", "hey hearth", "@hearth"). */
export function mentionsNick(text: string, nicks: readonly string[]): boolean {
  const folded = foldNick(text);
  for (const nick of nicks) {
    const wanted = foldNick(nick);
    if (wanted === '') continue;
    for (let index = folded.indexOf(wanted); index !== -1; index = folded.indexOf(wanted, index + 1)) {
      if (!isNickChar(text[index - 1]) && !isNickChar(text[index + wanted.length])) return true;
    }
  }
  return false;
}

/** Removes mIRC formatting (bold, colours, …) and other control characters; keeps tabs. */
export function stripIrcFormatting(text: string): string {
  return text
    .replace(/\x03(\d{1,2}(,\d{1,2})?)?/gu, '')
    .replace(/\x04([0-9a-fA-F]{6}(,[0-9a-fA-F]{6})?)?/gu, '')
    .replace(/[\x00-\x08\x0a-\x1f\x7f]/gu, '');
}

/**
 * Turns a received PRIVMSG (or ACTION) into an InboundMessage, or explains why it cannot.
 * Private messages are direct chats keyed by the sender's nick in lower case; channel messages
 * are group chats keyed by the channel name in lower case. The text is kept as sent (a leading
 * "hearth:" address stays), minus IRC formatting codes; an ACTION reads "/me <text>".
 * Server notices, the bot's own lines and routine CTCP queries are skipped quietly (null reason).
 */
export function normalizeIrcMessage(event: IrcInboundEvent, bot: IrcBotIdentity): { message: InboundMessage } | { skip: string | null } {
  const nick = event.nick;
  if (event.fromServer || !nick) return { skip: null };
  if (foldNick(nick) === foldNick(bot.nick)) return { skip: null };
  let kind = event.kind;
  let body = event.message;
  if (kind === 'ctcp') {
    const type = (event.ctcpType ?? '').trim();
    if (type === '' || !/^[A-Z0-9_-]+$/u.test(type)) return { skip: 'a CTCP request without a valid command' };
    if (ROUTINE_CTCP.includes(type)) return { skip: null };
    return { skip: `an unsupported CTCP request (${type.slice(0, 32)})` };
  }
  if (kind === 'privmsg' && body.startsWith('\x01')) {
    // A CTCP request without the closing \x01: accept an ACTION, refuse the rest.
    const action = /^\x01ACTION(?: (.*))?$/su.exec(body);
    if (!action) return { skip: 'a CTCP request without its closing \\x01' };
    kind = 'action';
    body = action[1] ?? '';
  }
  const cleaned = stripIrcFormatting(body).trim();
  if (cleaned === '') return { skip: kind === 'action' ? null : 'an empty message' };
  const text = kind === 'action' ? `/me ${cleaned}` : cleaned;
  const isGroup = bot.isChannel(event.target);
  const msgid = event.tags['msgid'];
  return {
    message: {
      messageId: typeof msgid === 'string' && msgid !== '' ? msgid : bot.fallbackId,
      chat: isGroup ? { id: event.target.toLowerCase(), kind: 'group', title: event.target } : { id: nick.toLowerCase(), kind: 'direct' },
      sender: { id: nick.toLowerCase(), name: nick },
      text,
      mentionsBot: mentionsNick(cleaned, [bot.nick, ...bot.aliases]),
      replyToBot: false,
      attachments: [],
    },
  };
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Removes what may not appear inside an IRC line (NUL, CR, LF, CTCP and other control characters); keeps tabs. */
function cleanOutgoing(line: string): string {
  return line.replace(/[\x00-\x08\x0a-\x1f\x7f]/gu, '');
}

/** Cuts `line` into pieces of at most `maxBytes` UTF-8 bytes, at a space when one is near the end, else between characters. */
function splitLine(line: string, maxBytes: number, out: string[]): void {
  let rest = line;
  while (Buffer.byteLength(rest, 'utf8') > maxBytes) {
    let bytes = 0;
    let cut = 0;
    let lastSpace = -1;
    outer: for (const { segment } of segmenter.segment(rest)) {
      // A grapheme larger than a whole line (combining-mark floods) is cut between code points.
      const parts = Buffer.byteLength(segment, 'utf8') > maxBytes ? Array.from(segment) : [segment];
      for (const part of parts) {
        const size = Buffer.byteLength(part, 'utf8');
        if (bytes + size > maxBytes) break outer;
        if (part === ' ') lastSpace = cut;
        bytes += size;
        cut += part.length;
      }
    }
    const atSpace = lastSpace > cut / 2;
    const head = rest.slice(0, atSpace ? lastSpace : cut);
    rest = rest.slice(atSpace ? lastSpace + 1 : cut);
    if (head.trim() !== '') out.push(head);
  }
  if (rest.trim() !== '') out.push(rest);
}

/**
 * Splits text into IRC message lines: one per line of the text (empty lines dropped, trailing
 * spaces trimmed), each at most `maxBytes` UTF-8 bytes, never inside a character.
 */
export function splitIrcText(text: string, maxBytes: number): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r\n|\r|\n/u)) {
    const line = cleanOutgoing(raw).replace(/\s+$/u, '');
    if (line.trim() === '') continue;
    splitLine(line, Math.max(16, maxBytes), out);
  }
  return out;
}

/** The longest text of one PRIVMSG to `target` that arrives intact once the server adds our prefix. */
export function ircTextBudget(nick: string, username: string, target: string): number {
  const user = Math.max(USER_RESERVE_BYTES, Buffer.byteLength(username, 'utf8') + 1);
  const prefix = 1 + Buffer.byteLength(nick, 'utf8') + 1 + user + 1 + HOST_RESERVE_BYTES;
  return IRC_MAX_LINE_BYTES - prefix - Buffer.byteLength(` PRIVMSG ${target} :`, 'utf8');
}

/** A `send` waiting for the server to answer its PING: errors about its target arrive before the PONG. */
interface Confirmation {
  token: string;
  target: string;
  error: ChannelError | null;
  settle(error: ChannelError | null): void;
}

/** One connection (one `run`). */
interface Link {
  client: Client;
  registered: boolean;
  closed: boolean;
  nick: string;
  confirmations: Set<Confirmation>;
}

interface ParsedLine {
  command: string;
  params: string[];
}

/** Enough of an IRC line to read numerics and PONGs (tags and prefix dropped). */
function parseLine(line: string): ParsedLine | null {
  let rest = line.replace(/[\r\n]+$/u, '');
  if (rest.startsWith('@')) rest = rest.slice(rest.indexOf(' ') + 1).trimStart();
  if (rest.startsWith(':')) {
    const space = rest.indexOf(' ');
    if (space === -1) return null;
    rest = rest.slice(space + 1).trimStart();
  }
  const params: string[] = [];
  let command = '';
  while (rest.length > 0) {
    if (command !== '' && rest.startsWith(':')) {
      params.push(rest.slice(1));
      break;
    }
    const space = rest.indexOf(' ');
    const word = space === -1 ? rest : rest.slice(0, space);
    if (command === '') command = word.toUpperCase();
    else params.push(word);
    rest = space === -1 ? '' : rest.slice(space + 1).trimStart();
  }
  return command === '' ? null : { command, params };
}

/** Nicks to try when the configured one is taken: nick_, nick__, then two with random digits (the last one fits 9 characters). */
function alternativeNicks(nick: string): string[] {
  const digits = (count: number) => String(randomInt(10 ** count)).padStart(count, '0');
  return [`${nick}_`, `${nick}__`, `${nick}${digits(3)}`, `${nick.slice(0, 5)}${digits(4)}`];
}

/** Waits `ms`; rejects (the send is cancelled) when `signal` aborts first. */
async function abortable(ms: number, signal: AbortSignal): Promise<void> {
  await pause(ms, signal);
  if (signal.aborted) throw new ChannelError('transient', 'sending was cancelled (timed out or the gateway is stopping)');
}

/**
 * An IRC bot account (irc-framework client): registers with the configured nick (or an
 * alternative when it is taken), joins its channels on every registration and hands PRIVMSGs to
 * the gateway. Replies go out as one PRIVMSG per line, each cut to fit IRC's 512-byte limit after
 * the server adds our prefix, paced to stay under flood limits, and confirmed with a PING so a
 * refusal (no such nick, cannot send to channel) or a lost connection fails the send.
 * irc-framework's own reconnect is off: a lost connection ends `run` and the supervisor reconnects.
 */
export function createIrcChannel(options: IrcChannelOptions): Channel {
  const floodDelayMs = options.floodDelayMs ?? DEFAULT_FLOOD_DELAY_MS;
  const floodBurst = Math.max(1, options.floodBurst ?? DEFAULT_FLOOD_BURST);
  const username = options.username ?? options.nick;
  const port = options.port ?? (options.tls ? 6697 : 6667);
  const channels = [...new Set(options.channels ?? [])];
  let current: Link | null = null;
  /** When the next line may go out, minus the burst allowance (classic client-side flood control). */
  let floodClock = 0;

  /** Waits for this line's turn: `floodBurst` lines at once after a quiet spell, then one per `floodDelayMs`. */
  async function pace(signal: AbortSignal): Promise<void> {
    if (floodDelayMs <= 0) return;
    const now = Date.now();
    floodClock = Math.max(floodClock, now);
    const wait = floodClock - (floodBurst - 1) * floodDelayMs - now;
    floodClock += floodDelayMs;
    if (wait > 0) await abortable(wait, signal);
  }

  function confirm(link: Link, target: string, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const token = `hearth-${randomBytes(6).toString('hex')}`;
      const timer = setTimeout(() => confirmation.settle(new ChannelError('transient', 'the IRC server did not confirm the message in time')), CONFIRM_TIMEOUT_MS);
      const onAbort = () => confirmation.settle(new ChannelError('transient', 'sending was cancelled before the IRC server confirmed it'));
      const confirmation: Confirmation = {
        token,
        target: foldNick(target),
        error: null,
        settle(error) {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          link.confirmations.delete(confirmation);
          if (error) reject(error);
          else resolve();
        },
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      link.confirmations.add(confirmation);
      link.client.raw(`PING :${token}`);
    });
  }

  function assertOpen(link: Link): void {
    if (link.closed || current !== link || !link.client.connected) throw new ChannelError('transient', 'the IRC connection was lost while sending');
  }

  return {
    platform: 'irc',
    accountId: options.accountId,
    format: { maxMessageLength: IRC_MAX_MESSAGE, render: markdownToPlainText },

    run(context: ChannelRunContext): Promise<void> {
      const { signal } = context;
      if (signal.aborted) return Promise.resolve();
      const client = new Client();
      const link: Link = { client, registered: false, closed: false, nick: options.nick, confirmations: new Set() };
      current = link;
      const alternatives = alternativeNicks(options.nick);
      const wanted = new Set(channels.map((name) => name.toLowerCase()));
      let triedNick = options.nick;
      let failure: ChannelError | null = null;
      let serverError: string | null = null;
      let socketError: Error | null = null;
      let inbound: Promise<void> = Promise.resolve();
      let pendingInbound = 0;
      let regainTimer: ReturnType<typeof setInterval> | undefined;
      let quitTimer: ReturnType<typeof setTimeout> | undefined;

      return new Promise<void>((resolve, reject) => {
        const fail = (error: ChannelError) => {
          failure ??= error;
          if (link.closed) return;
          client.quit(error.kind === 'auth' ? 'Authentication failed' : 'Reconnecting');
          quitTimer ??= setTimeout(dropSocket, QUIT_GRACE_MS);
        };

        const onAbort = () => {
          if (link.closed) return;
          client.quit('Hearth is stopping');
          quitTimer ??= setTimeout(dropSocket, QUIT_GRACE_MS);
        };

        /** The server did not close after our QUIT in time: drop the socket and end the run. */
        const dropSocket = () => {
          client.connection.end(undefined, true);
          finish();
        };

        const finish = () => {
          if (link.closed) return;
          link.closed = true;
          if (current === link) current = null;
          clearInterval(regainTimer);
          clearTimeout(quitTimer);
          signal.removeEventListener('abort', onAbort);
          client.removeAllListeners();
          const lost = new ChannelError('transient', 'the IRC connection closed before the server confirmed the message');
          for (const confirmation of [...link.confirmations]) confirmation.settle(lost);
          if (signal.aborted) return resolve();
          if (failure) return reject(failure);
          const where = `${options.host}:${port}`;
          if (socketError && !link.registered) return reject(toChannelError(socketError, `connect to ${where}`));
          // The server's ERROR line (e.g. "KILLed by …", "Ping timeout") says more than the socket error that follows it.
          const reason = serverError ?? socketError?.message ?? 'no reason given';
          reject(new ChannelError('transient', link.registered ? `lost the connection to ${where}: ${reason}` : `${where} closed the connection before registration: ${reason}`, socketError ? { cause: socketError } : {}));
        };

        const identity = (): IrcBotIdentity => ({
          nick: link.nick,
          aliases: foldNick(link.nick) === foldNick(options.nick) ? [] : [options.nick],
          isChannel: (name) => client.network.isChannelName(name),
          fallbackId: randomUUID(),
        });

        const deliver = (event: IrcInboundEvent, payload: unknown) => {
          if (!link.registered || failure) return;
          const normalized = normalizeIrcMessage(event, identity());
          if ('skip' in normalized) {
            if (normalized.skip !== null) context.reject(normalized.skip, payload);
            return;
          }
          if (pendingInbound >= MAX_PENDING_INBOUND) {
            context.reject('too many received messages are waiting to be stored; dropped this one', payload);
            return;
          }
          pendingInbound += 1;
          inbound = inbound.then(
            () =>
              context.receive(normalized.message).then(
                () => {
                  pendingInbound -= 1;
                },
                (error: unknown) => {
                  pendingInbound -= 1;
                  fail(toChannelError(error, 'store a received message'));
                },
              ),
          );
        };

        const toEvent = (kind: 'privmsg' | 'action', event: MessageEvent): IrcInboundEvent => ({
          kind,
          nick: event.nick,
          fromServer: event.from_server,
          target: event.target,
          message: typeof event.message === 'string' ? event.message : '',
          tags: event.tags ?? {},
        });

        client.on('raw', (event: RawEvent) => {
          if (!event.from_server) return;
          context.progress();
          const line = parseLine(event.line);
          if (!line) return;
          if (line.command === 'PONG') {
            for (const confirmation of [...link.confirmations]) {
              if (line.params.includes(confirmation.token)) confirmation.settle(confirmation.error);
            }
            return;
          }
          if (line.command === '464') {
            fail(new ChannelError('auth', `the IRC server refused the password: ${line.params.at(-1) ?? ''}`));
            return;
          }
          if (line.command === '465') {
            fail(new ChannelError('auth', `the IRC server bans this connection: ${line.params.at(-1) ?? ''}`));
            return;
          }
          const refusal = REFUSALS[line.command];
          const target = line.params[1];
          if (refusal && target !== undefined) {
            // A nick may come back (retry); a channel that does not exist will not (ngircd answers 401 for both).
            const kind = refusal === 'transient' && client.network.isChannelName(target) ? 'rejected' : refusal;
            const folded = foldNick(target);
            const reason = line.params.at(-1) ?? '';
            for (const confirmation of link.confirmations) {
              if (confirmation.target !== folded || confirmation.error) continue;
              confirmation.error =
                kind === 'transient'
                  ? new ChannelError('transient', `${target} is not on IRC right now (${line.command} ${reason}); will retry`)
                  : new ChannelError('rejected', `the IRC server refused the message to ${target} (${line.command} ${reason})`);
            }
          }
        });

        /** While the bot goes by another nick, it asks for the configured one now and then (its holder may be a ghost of our last connection). */
        const watchNick = () => {
          const own = foldNick(link.nick) === foldNick(options.nick);
          if (own) {
            clearInterval(regainTimer);
            regainTimer = undefined;
          } else if (regainTimer === undefined) {
            regainTimer = setInterval(() => {
              if (!link.closed) client.changeNick(options.nick);
            }, options.nickRegainMs ?? DEFAULT_NICK_REGAIN_MS);
          }
        };

        client.on('registered', (event: RegisteredEvent) => {
          if (failure) return;
          link.registered = true;
          link.nick = event.nick;
          for (const name of channels) client.join(name);
          context.connected({ botId: link.nick, botName: link.nick });
          watchNick();
        });

        client.on('nick', (event) => {
          if (!link.registered || foldNick(event.nick) !== foldNick(link.nick)) return;
          link.nick = event.new_nick;
          watchNick();
          context.connected({ botId: link.nick, botName: link.nick });
        });

        const nextNick = (why: string) => {
          if (link.registered) return; // a failed attempt to take the configured nick back
          const next = alternatives.shift();
          if (next === undefined) {
            fail(new ChannelError('transient', `no nick available: ${options.nick} and its alternatives are ${why}`));
            return;
          }
          triedNick = next;
          client.changeNick(next);
        };
        client.on('nick in use', () => nextNick('in use'));
        client.on('nick invalid', (event) => {
          if (!link.registered && triedNick === options.nick) {
            fail(new ChannelError('auth', `the IRC server refuses the nick ${options.nick}: ${event.reason}`));
            return;
          }
          nextNick('refused');
        });

        client.on('sasl failed', (event: SaslFailedEvent) => {
          // Without the capability the server has no SASL (e.g. ngircd): carry on unauthenticated.
          if (!options.sasl || event.reason === 'capability_missing') return;
          fail(new ChannelError('auth', `SASL authentication failed (${event.reason})${event.message ? `: ${event.message}` : ''}`));
        });

        client.on('irc error', (event: IrcErrorEvent) => {
          if (event.error === 'irc') {
            serverError = event.reason ?? null;
            // ngircd answers a wrong server password with only "ERROR :Access denied: Bad password?".
            if (!link.registered && /passw|access denied|authenticat/iu.test(serverError ?? '')) {
              failure ??= new ChannelError('auth', `the IRC server refused the connection: ${serverError}`);
            }
            return;
          }
          if (event.error === 'password_mismatch') {
            fail(new ChannelError('auth', 'the IRC server refused the password'));
            return;
          }
          if (event.error === 'banned_from_network') {
            fail(new ChannelError('auth', `the IRC server bans this connection: ${event.reason ?? ''}`));
            return;
          }
          if (JOIN_ERRORS.includes(event.error) && event.channel !== undefined && wanted.has(event.channel.toLowerCase())) {
            context.reject(`could not join ${event.channel}: ${event.reason ?? event.error}`, event);
          }
        });

        client.on('privmsg', (event: MessageEvent) => deliver(toEvent('privmsg', event), event));
        client.on('action', (event: MessageEvent) => deliver(toEvent('action', event), event));
        client.on('ctcp request', (event: CtcpRequestEvent) =>
          deliver(
            {
              kind: 'ctcp',
              nick: event.nick,
              fromServer: event.from_server,
              target: event.target,
              message: event.message,
              ctcpType: event.type,
              tags: event.tags ?? {},
            },
            event,
          ),
        );

        client.on('socket close', (error) => {
          if (error) socketError = error;
        });
        client.on('close', finish);
        signal.addEventListener('abort', onAbort, { once: true });

        const connectOptions: ClientOptions = {
          host: options.host,
          port,
          nick: options.nick,
          username,
          gecos: options.realname ?? 'Hearth',
          tls: options.tls === true,
          rejectUnauthorized: options.tlsInsecure !== true,
          ...(options.password ? { password: options.password } : {}),
          // An empty account stops irc-framework from trying the server password as SASL credentials.
          account: options.sasl ? { account: options.sasl.account, password: options.sasl.password } : {},
          sasl_disconnect_on_fail: false,
          auto_reconnect: false,
          ping_interval: options.pingIntervalSeconds ?? DEFAULT_PING_INTERVAL_SECONDS,
          ping_timeout: Math.max(60, 4 * (options.pingIntervalSeconds ?? DEFAULT_PING_INTERVAL_SECONDS)),
          version: 'Hearth',
          enable_echomessage: false,
        };
        try {
          client.connect(connectOptions);
        } catch (error) {
          link.closed = true;
          if (current === link) current = null;
          signal.removeEventListener('abort', onAbort);
          client.removeAllListeners();
          reject(toChannelError(error, `connect to ${options.host}`));
        }
      });
    },

    async send(message: OutboundMessage, signal: AbortSignal): Promise<SendReceipt> {
      const link = current;
      if (!link?.registered || link.closed) throw new ChannelError('transient', 'not connected to the IRC server');
      const target = message.target.chatId;
      if (!/^[^\s,:\x00-\x1f][^\s,\x00-\x1f]*$/u.test(target)) throw new ChannelError('rejected', `${JSON.stringify(target)} is not an IRC nick or channel`);
      const lines = splitIrcText(message.text, ircTextBudget(link.nick, username, target));
      for (const line of lines) {
        await pace(signal);
        assertOpen(link);
        link.client.raw(`PRIVMSG ${target} :${line}`);
      }
      if (lines.length > 0) {
        await pace(signal);
        assertOpen(link);
        await confirm(link, target, signal);
      }
      return { messageId: message.idempotencyKey };
    },

    /** A PING the server must answer with its PONG: the connection carries lines both ways. */
    async probe(signal: AbortSignal): Promise<ChannelProbeResult> {
      const link = current;
      if (!link?.registered || link.closed) throw new ChannelError('transient', 'not connected to the IRC server');
      const started = Date.now();
      await confirm(link, link.nick, signal);
      return { status: 'ok', detail: `the IRC server answered a PING in ${Date.now() - started} ms` };
    },

    async close(): Promise<void> {
      const link = current;
      current = null;
      if (link && !link.closed) {
        link.client.quit('Hearth is stopping');
        link.client.connection.end(undefined, true);
      }
    },
  };
}
