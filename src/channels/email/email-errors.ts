import { ChannelError } from '../../contracts/channel.js';

interface ServerSettings {
  host: string;
  port: number;
  user: string;
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * The response codes (RFC 5530) with which a server turns a login down for now, not for good:
 * its authentication service is unavailable or overloaded, or the user has too many connections.
 */
const TEMPORARY_LOGIN_CODES: readonly string[] = ['UNAVAILABLE', 'INUSE', 'LIMIT', 'SERVERBUG'];

/**
 * An IMAP failure as a ChannelError: a refused login is `auth` (naming the keys to fix); a login
 * turned down for now (TEMPORARY_LOGIN_CODES) and the rest are retried.
 */
export function imapError(error: unknown, server: ServerSettings): ChannelError {
  if (error instanceof ChannelError) return error;
  const failure = error as { authenticationFailed?: boolean; serverResponseCode?: string; code?: string; response?: unknown };
  const said = typeof failure.response === 'string' && failure.response.length > 0 ? `: ${failure.response}` : '';
  const temporary = failure.serverResponseCode !== undefined && TEMPORARY_LOGIN_CODES.includes(failure.serverResponseCode);
  if (!temporary && (failure.authenticationFailed || failure.serverResponseCode === 'AUTHENTICATIONFAILED')) {
    return new ChannelError('auth', `the IMAP server ${server.host} refused the login of ${server.user}${said}`, { cause: error });
  }
  if (temporary) return new ChannelError('transient', `the IMAP server ${server.host} turned the login of ${server.user} down for now${said}`, { cause: error });
  return new ChannelError('transient', `IMAP ${server.host}:${server.port}: ${describe(error)}${failure.code ? ` (${failure.code})` : ''}`, { cause: error });
}

/** The delay a 4xx answer names ("try again in 60 seconds", "in 5 minutes"), which greylisting servers often say. */
function retryAfterMs(text: string): number | undefined {
  const match = /(?:again|retry)\s+(?:in|after)\s+(\d+)\s*(s|sec|second|seconds|m|min|minute|minutes)\b/iu.exec(text);
  if (!match) return undefined;
  const amount = Number(match[1]);
  return /^m/iu.test(match[2] as string) ? amount * 60_000 : amount * 1000;
}

/**
 * An SMTP failure as a ChannelError: 535 and other refused logins are `auth`; 4xx answers
 * (greylisting, a full queue, 421 closing) are retried: after the delay the answer names, or with backoff; 5xx refuse this
 * message (no such mailbox, relaying denied) and are not retried; network errors are retried.
 */
export function smtpError(error: unknown, server: ServerSettings): ChannelError {
  if (error instanceof ChannelError) return error;
  const failure = error as { code?: string; responseCode?: number; response?: string };
  const said = failure.response ? `: ${failure.response}` : `: ${describe(error)}`;
  if (failure.code === 'EAUTH' || failure.responseCode === 535 || failure.responseCode === 534) {
    return new ChannelError('auth', `the SMTP server ${server.host} refused the login of ${server.user}${said}`, { cause: error });
  }
  const status = failure.responseCode;
  if (status !== undefined && status >= 500) return new ChannelError('rejected', `the SMTP server ${server.host} refused the message (${status})${said}`, { cause: error });
  if (status !== undefined && status >= 400) {
    const later = retryAfterMs(failure.response ?? describe(error));
    const message = `the SMTP server ${server.host} asked to try later (${status})${said}`;
    return later === undefined ? new ChannelError('transient', message, { cause: error }) : new ChannelError('rate-limited', message, { cause: error, retryAfterMs: later });
  }
  return new ChannelError('transient', `SMTP ${server.host}:${server.port}${said}`, { cause: error });
}
