import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** A mail the bot sent, as the SMTP server received it. */
export interface SentMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  messageId: string;
  inReplyTo?: string;
  references: string[];
  autoSubmitted?: string;
  at: number;
  parsed: ParsedMail;
}

/** How the next message is refused: 451 with a delay in its text (greylisting), 421, or a permanent 550. */
export type SmtpRefusal = { code: 451; retryAfterSeconds: number } | { code: 421 } | { code: 550 };

export interface SmtpSink {
  host: string;
  port: number;
  sent: SentMail[];
  addUser(user: string, password: string): void;
  /** The next messages this user sends are refused like this, in order. */
  refuseNext(user: string, refusals: SmtpRefusal[]): void;
  /** Every message this user sends is refused with 421 while on. */
  setRefusing(user: string, on: boolean): void;
  /** Ends every open SMTP connection. */
  dropConnections(): void;
  close(): Promise<void>;
}

const refusalText = (refusal: SmtpRefusal) =>
  refusal.code === 451 ? `4.7.1 Greylisted, please try again in ${refusal.retryAfterSeconds} seconds` : refusal.code === 421 ? '4.3.2 Service not available, try later' : '5.1.1 Mailbox unavailable';

const referencesOf = (parsed: ParsedMail) => (parsed.references === undefined ? [] : Array.isArray(parsed.references) ? parsed.references : parsed.references.split(/\s+/u));

/** An SMTP server on 127.0.0.1 (the `smtp-server` package) that checks logins and records what it is sent. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const users = new Map<string, string>();
  const sent: SentMail[] = [];
  const queues = new Map<string, SmtpRefusal[]>();
  const refusing = new Set<string>();
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username && users.get(auth.username) === auth.password) callback(null, { user: auth.username });
      else callback(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }));
    },
    onData(stream, session, callback) {
      const user = String(session.user ?? '');
      const refusal = refusing.has(user) ? ({ code: 421 } as SmtpRefusal) : queues.get(user)?.shift();
      simpleParser(stream)
        .then((parsed) => {
          if (refusal) {
            callback(Object.assign(new Error(refusalText(refusal)), { responseCode: refusal.code }));
            return;
          }
          const autoSubmitted = parsed.headers.get('auto-submitted');
          sent.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase()),
            subject: parsed.subject ?? '',
            text: (parsed.text ?? '').trim(),
            messageId: parsed.messageId ?? '',
            ...(parsed.inReplyTo ? { inReplyTo: parsed.inReplyTo } : {}),
            references: referencesOf(parsed),
            ...(typeof autoSubmitted === 'string' ? { autoSubmitted } : {}),
            at: Date.now(),
            parsed,
          });
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port: address.port,
    sent,
    addUser: (user, password) => users.set(user, password),
    refuseNext: (user, refusals) => queues.set(user, [...(queues.get(user) ?? []), ...refusals]),
    setRefusing: (user, on) => {
      if (on) refusing.add(user);
      else refusing.delete(user);
    },
    dropConnections: () => {
      for (const connection of (server as unknown as { connections: Set<{ close(): void }> }).connections) connection.close();
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
