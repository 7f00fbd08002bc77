/**
 * Minimal typings for `irc-framework` 4.14 (the package ships none). Covers only what Hearth uses
 * (the IRC channel adapter and the IRC test harness): the Client, its options, the methods for
 * talking on IRC and the events we listen to. Shapes were read from node_modules/irc-framework/src
 * (client.js, connection.js, transports/net.js, networkinfo.js, commands/handlers/*.js).
 */
declare module 'irc-framework' {
  export interface ClientOptions {
    host?: string;
    /** Default 6667. */
    port?: number;
    /** Default 'ircbot'. */
    nick?: string;
    /** Default 'ircbot'. */
    username?: string;
    /** Real name. Default 'ircbot'. */
    gecos?: string;
    /** Server password (PASS). Also used for SASL PLAIN as nick+password when `account` is unset. */
    password?: string;
    /**
     * SASL PLAIN credentials (only if the server offers the `sasl` capability). An empty object
     * turns off the fallback of using nick + server password for SASL.
     */
    account?: { account?: string; password?: string };
    sasl_mechanism?: string;
    /** Default false: a failed SASL only emits 'sasl failed'. */
    sasl_disconnect_on_fail?: boolean;
    /** Connect with TLS (`ssl` is an alias). */
    tls?: boolean;
    ssl?: boolean;
    /** Passed to tls.connect; undefined means Node's default (true). There is no `ca` option. */
    rejectUnauthorized?: boolean;
    client_certificate?: { private_key: string; certificate: string };
    /** Local address to bind the outgoing socket to. */
    outgoing_addr?: string;
    /** Default 'utf8'. */
    encoding?: string;
    /** Reply to CTCP VERSION; falsy disables the automatic reply. Default 'node.js irc-framework'. */
    version?: string | null;
    /** Default true. Only reconnects after a connection that stayed registered for more than 5 s. */
    auto_reconnect?: boolean;
    /** Cap on the exponential part of the back-off, in ms (a 1–6 s random jitter is always added). Default 300000; 0 means the default. */
    auto_reconnect_max_wait?: number;
    /** Default 3; 0 means the default. */
    auto_reconnect_max_retries?: number;
    /** Seconds between client PINGs once registered. Default 30; 0 disables. */
    ping_interval?: number;
    /** Seconds without any server data before the client gives up. Default 120; 0 disables. */
    ping_timeout?: number;
    /** say()/notice() split each line into blocks of at most this many UTF-8 bytes. Default 350. */
    message_max_length?: number;
    enable_chghost?: boolean;
    enable_setname?: boolean;
    enable_echomessage?: boolean;
  }

  interface SourceFields {
    nick: string;
    ident: string;
    hostname: string;
  }

  export interface MessageEvent extends SourceFields {
    /** True for messages from the server itself (no nick). */
    from_server: boolean;
    /** Our nick for private messages, the channel name for channel messages. */
    target: string;
    message: string;
    tags: Record<string, string>;
    time?: number;
    account?: string;
    group?: string;
    /** Answers in the channel, or privately when the message was private. */
    reply(message: string): void;
  }

  export interface RegisteredEvent {
    nick: string;
  }

  export interface JoinEvent extends SourceFields {
    channel: string;
    gecos: string;
    account?: string | false;
  }

  export interface PartEvent extends SourceFields {
    channel: string;
    message: string;
  }

  export interface QuitEvent extends SourceFields {
    message: string;
  }

  export interface KickEvent extends SourceFields {
    kicked: string;
    channel: string;
    message: string;
  }

  export interface NickEvent extends SourceFields {
    new_nick: string;
  }

  export interface NickInUseEvent {
    nick: string;
    reason: string;
    tags: Record<string, string>;
  }

  export interface IrcErrorEvent {
    /** 'irc' for a server ERROR line (its text is in `reason`), else e.g. 'no_such_nick', 'cannot_send_to_channel'. */
    error: string;
    reason?: string;
    nick?: string;
    channel?: string;
  }

  export interface ReconnectingEvent {
    attempt: number;
    max_retries: number;
    /** Delay before this attempt, in ms. */
    wait: number;
  }

  export interface SaslFailedEvent {
    /** e.g. 'capability_missing', 'unsupported_mechanism', 'fail'. */
    reason: string;
    message?: string;
  }

  export interface CtcpRequestEvent extends SourceFields {
    from_server: boolean;
    target: string;
    /** The CTCP command in upper case (null when the request has none), e.g. 'VERSION'. */
    type: string | null;
    /** The text between the \x01 delimiters. */
    message: string;
    tags: Record<string, string>;
  }

  export interface PongEvent {
    /** The PING's token as the server echoed it. */
    message: string;
    time?: number;
    tags: Record<string, string>;
  }

  export interface RawEvent {
    line: string;
    from_server: boolean;
  }

  export interface ClientEvents {
    registered: (event: RegisteredEvent) => void;
    connected: (event: RegisteredEvent) => void;
    privmsg: (event: MessageEvent) => void;
    notice: (event: MessageEvent) => void;
    action: (event: MessageEvent) => void;
    /** A CTCP request other than ACTION (and other than VERSION when `version` is set: that one is answered). */
    'ctcp request': (event: CtcpRequestEvent) => void;
    pong: (event: PongEvent) => void;
    /** No data from the server for `ping_timeout` seconds; the connection is being closed. */
    'ping timeout': () => void;
    message: (event: MessageEvent & { type: 'privmsg' | 'notice' | 'action' }) => void;
    join: (event: JoinEvent) => void;
    part: (event: PartEvent) => void;
    quit: (event: QuitEvent) => void;
    kick: (event: KickEvent) => void;
    nick: (event: NickEvent) => void;
    'nick in use': (event: NickInUseEvent) => void;
    'nick invalid': (event: NickInUseEvent) => void;
    'irc error': (event: IrcErrorEvent) => void;
    'sasl failed': (event: SaslFailedEvent) => void;
    reconnecting: (event: ReconnectingEvent) => void;
    /** The socket closed; `error` is the socket error (e.g. a TLS verification failure) or false. */
    'socket close': (error: Error | false) => void;
    'socket connected': () => void;
    /** Final close: no reconnect will follow. */
    close: (hadError: boolean) => void;
    raw: (event: RawEvent) => void;
    debug: (message: string) => void;
  }

  export class Client {
    constructor(options?: ClientOptions);
    /** True while the socket is open. */
    readonly connected: boolean;
    options: ClientOptions;
    user: { nick: string; username: string; gecos: string; host: string; away: boolean; modes: Set<string> };
    network: {
      /** The server's name (prefix of RPL_WELCOME). */
      server: string;
      /** ISUPPORT (005) tokens, e.g. NICKLEN, CHANTYPES, CASEMAPPING. */
      options: Record<string, unknown>;
      cap: { available: Map<string, string>; enabled: string[] };
      supports(feature: string): unknown;
      /** True when the name starts with one of the server's CHANTYPES (default '&#'). */
      isChannelName(name: string): boolean;
    };
    connection: {
      connected: boolean;
      reconnect_attempts: number;
      /** Closes the socket after writing `data`; without `hadError` it also cancels any pending reconnect. */
      end(data?: string, hadError?: boolean): void;
    };
    connect(options?: ClientOptions): void;
    /** Sends QUIT and closes the socket once it is written (no reconnect follows). */
    quit(message?: string): void;
    join(channel: string, key?: string): void;
    part(channel: string, message?: string): void;
    /** Splits on newlines and at `message_max_length` bytes, one PRIVMSG per block, sent immediately. */
    say(target: string, message: string): void;
    notice(target: string, message: string): void;
    action(target: string, message: string): string[];
    changeNick(nick: string): void;
    /** Sends one line; the last argument gets a ':' prefix when it contains spaces or starts with ':'. */
    raw(...args: (string | number)[]): void;
    ping(message?: string): void;
    caseCompare(a: string, b: string): boolean;
    on<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): this;
    once<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): this;
    off<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): this;
    removeListener<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): this;
    removeAllListeners(event?: keyof ClientEvents): this;
  }
}
