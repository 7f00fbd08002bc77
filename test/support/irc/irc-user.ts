/**
 * A scripted "human" IRC user for tests, on a raw TCP/TLS socket (no IRC library, so it is
 * deterministic and independent of the client under test). It registers, answers server PINGs,
 * records every line and every PRIVMSG/NOTICE it receives, and lets a test wait for them.
 *
 * Keep in mind that the server paces this user like any other client (ngircd: 3 commands per
 * second after a short burst), so many say() calls in a row arrive slowly.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface IrcUserOptions {
  host: string;
  port: number;
  nick: string;
  /** Connect with TLS. With `ca` the certificate is verified against it; without, it is not verified. */
  tls?: boolean;
  ca?: string;
  /** Default: the nick. */
  username?: string;
  /** Default: 'Hearth test user'. */
  realname?: string;
  /** Server password (PASS). */
  password?: string;
  /** Bound on connect + registration (default 10 s). */
  registerTimeoutMs?: number;
}

/** One line received from the server, parsed. */
export interface IrcLine {
  raw: string;
  /** `nick!user@host` or a server name; undefined when the line had no prefix. */
  prefix: string | undefined;
  /** The nick (or server name) part of the prefix. */
  source: string | undefined;
  command: string;
  params: string[];
  /** Date.now() at arrival. */
  at: number;
}

/** A PRIVMSG or NOTICE this user received (directly or in a channel). */
export interface ReceivedMessage {
  kind: 'privmsg' | 'notice';
  /** Sender nick (or server name). */
  from: string;
  /** This user's nick for private messages, else the channel. */
  target: string;
  text: string;
  /** Date.now() at arrival. */
  at: number;
  raw: string;
}

export interface IrcUser {
  readonly nick: string;
  /** Received PRIVMSG/NOTICE lines, oldest first (capped at the newest 5,000). */
  readonly messages: readonly ReceivedMessage[];
  /** Every received line, oldest first (capped at the newest 5,000). */
  readonly lines: readonly IrcLine[];
  readonly connected: boolean;
  /** Joins and resolves once the server has sent the channel's names list (or rejects on a join error). */
  join(channel: string, timeoutMs?: number): Promise<void>;
  /** Sends PRIVMSG. Throws if `text` has a line break or the line would exceed IRC's 512 bytes. */
  say(target: string, text: string): void;
  /** Sends NOTICE, with the same checks as say(). */
  notice(target: string, text: string): void;
  /** Sends one raw line as is (CRLF appended), e.g. for hostile or protocol-level tests. */
  sendRaw(line: string): void;
  /** The first message, already received or still to come, that matches; rejects after `timeoutMs` (default 5 s). */
  waitForMessage(predicate: (message: ReceivedMessage) => boolean, timeoutMs?: number): Promise<ReceivedMessage>;
  /** The first received line, already received or still to come, that matches (default 5 s). */
  waitForLine(predicate: (line: IrcLine) => boolean, timeoutMs?: number): Promise<IrcLine>;
  /** Resolves when the socket has closed (rejects after `timeoutMs`, default 5 s). */
  waitForClose(timeoutMs?: number): Promise<void>;
  /** Sends QUIT, waits (bounded, default 3 s) for the server to close, then destroys the socket. */
  quit(message?: string, timeoutMs?: number): Promise<void>;
}

const MAX_KEPT = 5000;
/** IRC's line limit is 512 bytes including CR LF. */
const MAX_LINE_BYTES = 510;
/** Numerics that answer a JOIN with a refusal. */
const JOIN_ERRORS = new Set(['403', '405', '471', '473', '474', '475', '476', '477']);

export function parseIrcLine(raw: string, at = Date.now()): IrcLine {
  let rest = raw;
  if (rest.startsWith('@')) {
    const space = rest.indexOf(' ');
    rest = space === -1 ? '' : rest.slice(space + 1).trimStart();
  }
  let prefix: string | undefined;
  if (rest.startsWith(':')) {
    const space = rest.indexOf(' ');
    prefix = space === -1 ? rest.slice(1) : rest.slice(1, space);
    rest = space === -1 ? '' : rest.slice(space + 1).trimStart();
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
  const source = prefix === undefined ? undefined : prefix.split('!')[0];
  return { raw, prefix, source, command, params, at };
}

interface Waiter<T> {
  predicate: (item: T) => boolean;
  resolve: (item: T) => void;
}

function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Connects, registers (PASS/NICK/USER) and resolves once the server has welcomed the user (001). */
export function connectIrcUser(options: IrcUserOptions): Promise<IrcUser> {
  const nick = options.nick;
  const lines: IrcLine[] = [];
  const messages: ReceivedMessage[] = [];
  const lineWaiters = new Set<Waiter<IrcLine>>();
  const messageWaiters = new Set<Waiter<ReceivedMessage>>();
  const closeWaiters = new Set<() => void>();
  let open = true;
  let pending: Buffer = Buffer.alloc(0);

  const socket: Socket = options.tls
    ? tlsConnect({
        host: options.host,
        port: options.port,
        ...(isIP(options.host) === 0 ? { servername: options.host } : {}),
        ...(options.ca === undefined ? { rejectUnauthorized: false } : { ca: options.ca }),
      })
    : netConnect({ host: options.host, port: options.port });

  function write(line: string): void {
    if (open && !socket.destroyed) socket.write(line + '\r\n');
  }

  function checkedLine(command: string, target: string, text: string): string {
    if (/[\r\n\0]/.test(target + text)) throw new RangeError(`${command} text must be a single line without NUL`);
    const line = `${command} ${target} :${text}`;
    const bytes = Buffer.byteLength(line);
    if (bytes > MAX_LINE_BYTES) {
      throw new RangeError(`${command} line is ${bytes} bytes; IRC allows ${MAX_LINE_BYTES} plus CR LF (the server disconnects longer lines)`);
    }
    return line;
  }

  function keep<T>(list: T[], item: T): void {
    list.push(item);
    if (list.length > MAX_KEPT) list.splice(0, list.length - MAX_KEPT);
  }

  function notify<T>(waiters: Set<Waiter<T>>, item: T): void {
    for (const waiter of [...waiters]) {
      if (waiter.predicate(item)) {
        waiters.delete(waiter);
        waiter.resolve(item);
      }
    }
  }

  function handleLine(raw: string): void {
    const line = parseIrcLine(raw);
    if (line.command === 'PING') {
      write(`PONG :${line.params[line.params.length - 1] ?? ''}`);
    }
    keep(lines, line);
    if ((line.command === 'PRIVMSG' || line.command === 'NOTICE') && line.params.length >= 2) {
      const message: ReceivedMessage = {
        kind: line.command === 'PRIVMSG' ? 'privmsg' : 'notice',
        from: line.source ?? '',
        target: line.params[0] ?? '',
        text: line.params[line.params.length - 1] ?? '',
        at: line.at,
        raw,
      };
      keep(messages, message);
      notify(messageWaiters, message);
    }
    notify(lineWaiters, line);
  }

  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      const newline = pending.indexOf(0x0a);
      if (newline === -1) break;
      const raw = pending.subarray(0, newline).toString('utf8').replace(/\r$/, '');
      pending = pending.subarray(newline + 1);
      if (raw.length > 0) handleLine(raw);
    }
  });
  socket.on('close', () => {
    open = false;
    for (const resolve of [...closeWaiters]) resolve();
    closeWaiters.clear();
  });
  // Errors always end in 'close'; registration reports them below.
  socket.on('error', () => {});

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
        reject(new Error(`${nick}: no ${what} matched within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  }

  function waitForClose(timeoutMs = 5000): Promise<void> {
    if (!open) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        closeWaiters.delete(done);
        reject(new Error(`${nick}: socket still open after ${timeoutMs} ms`));
      }, timeoutMs);
      closeWaiters.add(done);
    });
  }

  const user: IrcUser = {
    nick,
    messages,
    lines,
    get connected() {
      return open;
    },
    async join(channel, timeoutMs = 5000) {
      write(`JOIN ${channel}`);
      const answer = await waitFor(
        lines,
        lineWaiters,
        (line) =>
          (line.command === '366' && sameName(line.params[1] ?? '', channel)) ||
          (JOIN_ERRORS.has(line.command) && sameName(line.params[1] ?? '', channel)),
        timeoutMs,
        `reply to JOIN ${channel}`,
      );
      if (answer.command !== '366') throw new Error(`${nick}: cannot join ${channel}: ${answer.raw}`);
    },
    say(target, text) {
      write(checkedLine('PRIVMSG', target, text));
    },
    notice(target, text) {
      write(checkedLine('NOTICE', target, text));
    },
    sendRaw(line) {
      write(line);
    },
    waitForMessage(predicate, timeoutMs = 5000) {
      return waitFor(messages, messageWaiters, predicate, timeoutMs, 'message');
    },
    waitForLine(predicate, timeoutMs = 5000) {
      return waitFor(lines, lineWaiters, predicate, timeoutMs, 'line');
    },
    waitForClose,
    async quit(message = 'Bye', timeoutMs = 3000) {
      if (open) {
        write(`QUIT :${message}`);
        await waitForClose(timeoutMs).catch(() => {});
      }
      socket.destroy();
    },
  };

  const timeoutMs = options.registerTimeoutMs ?? 10_000;
  return new Promise<IrcUser>((resolve, reject) => {
    const fail = (reason: string): void => {
      cleanup();
      socket.destroy();
      reject(new Error(`IRC user ${nick} could not register on ${options.host}:${options.port}: ${reason}`));
    };
    const onLine = (line: IrcLine): boolean => {
      if (line.command === '001') {
        cleanup();
        resolve(user);
      } else if (line.command === '433' || line.command === '432' || line.command === '464' || line.command === 'ERROR') {
        fail(line.raw);
      }
      return false;
    };
    const watcher: Waiter<IrcLine> = { predicate: onLine, resolve: () => {} };
    const onClose = (): void => fail('connection closed');
    const onError = (error: Error): void => fail(error.message);
    const timer = setTimeout(() => fail(`no welcome within ${timeoutMs} ms`), timeoutMs);
    function cleanup(): void {
      clearTimeout(timer);
      lineWaiters.delete(watcher);
      socket.off('close', onClose);
      socket.off('error', onError);
    }
    lineWaiters.add(watcher);
    socket.once('close', onClose);
    socket.once('error', onError);
    socket.once(options.tls ? 'secureConnect' : 'connect', () => {
      if (options.password !== undefined) write(`PASS ${options.password}`);
      write(`NICK ${nick}`);
      write(`USER ${options.username ?? nick} 0 * :${options.realname ?? 'Hearth test user'}`);
    });
  });
}
