import type { PlatformAccount, PlatformHarness, Person } from '../../e2e/channel-contract.js';
import { type DovecotServer, startDovecot } from '../mail/dovecot-server.js';
import { type SmtpSink, startSmtpSink } from '../mail/smtp-sink.js';

/** A contract person as a correspondent: an address made from their id. */
export const emailAddressOf = (person: Person) => `person${person.id}@example.org`;

export interface RawMailInput {
  from: string;
  fromName?: string;
  to: string;
  subject?: string;
  text?: string;
  html?: string;
  messageId?: string;
  inReplyTo?: string;
  references?: string[];
  headers?: Record<string, string>;
  attachment?: { name: string; type: string; content: Buffer };
}

/** An RFC 822 message, as a mail client would write it. */
export function rawMail(input: RawMailInput): string {
  const headers = [
    `From: ${input.fromName ? `${input.fromName} <${input.from}>` : input.from}`,
    `To: ${input.to}`,
    `Subject: ${input.subject ?? ''}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: ${input.messageId ?? `<${Math.random().toString(36).slice(2)}@example.org>`}`,
    ...(input.inReplyTo ? [`In-Reply-To: ${input.inReplyTo}`] : []),
    ...(input.references?.length ? [`References: ${input.references.join(' ')}`] : []),
    ...Object.entries(input.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
    'MIME-Version: 1.0',
  ];
  const body = input.html !== undefined ? { type: 'text/html; charset=utf-8', text: input.html } : { type: 'text/plain; charset=utf-8', text: input.text ?? '' };
  if (!input.attachment) return `${headers.join('\r\n')}\r\nContent-Type: ${body.type}\r\n\r\n${body.text}\r\n`;
  const boundary = 'hearth-boundary-1';
  return [
    ...headers,
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    `Content-Type: ${body.type}`,
    '',
    body.text,
    `--${boundary}`,
    `Content-Type: ${input.attachment.type}; name="${input.attachment.name}"`,
    `Content-Disposition: attachment; filename="${input.attachment.name}"`,
    'Content-Transfer-Encoding: base64',
    '',
    input.attachment.content.toString('base64').replace(/(.{76})/gu, '$1\r\n'),
    `--${boundary}--`,
    '',
  ].join('\r\n');
}

export interface EmailAccount extends PlatformAccount {
  address: string;
  password: string;
  /** Delivers a mail to the bot's INBOX; returns its UID. */
  deliver(input: Omit<RawMailInput, 'to'>): Promise<number>;
  mails(): SmtpSink['sent'];
}

export interface EmailHarness extends Omit<PlatformHarness, 'newAccount'> {
  newAccount(): Promise<EmailAccount>;
  imap: DovecotServer;
  smtp: SmtpSink;
}

/**
 * The channel contract's view of email: a real IMAP server (Debian's dovecot) holding each bot
 * account's mailbox, and an SMTP server (smtp-server) receiving its replies, both on 127.0.0.1.
 * A person "writes" by a mail being put into the bot's INBOX, which the bot's IDLE hears of.
 */
export async function createEmailHarness(): Promise<EmailHarness> {
  const imap = await startDovecot();
  const smtp = await startSmtpSink();
  const bots: string[] = [];
  let next = 0;
  const server = (user: string, password: string, port: number) => ({ host: '127.0.0.1', port, secure: false, user, password });
  return {
    platform: 'email',
    maxMessageLength: 100_000,
    typing: false,
    sendFailures: true,
    groups: false,
    imap,
    smtp,
    async newAccount(): Promise<EmailAccount> {
      const address = `bot${next++}@hearth.test`;
      const password = `secret-${next}`;
      await imap.addUser(address, password);
      smtp.addUser(address, password);
      bots.push(address);
      const mine = () => smtp.sent.filter((mail) => mail.from === address);
      const deliver = (input: Omit<RawMailInput, 'to'>) => imap.deliver(address, password, rawMail({ ...input, to: address }));
      return {
        address,
        password,
        settings: { address, imap: server(address, password, imap.port), smtp: server(address, password, smtp.port) },
        groupId: 'no-groups',
        senderId: emailAddressOf,
        dmChatId: emailAddressOf,
        deliver,
        mails: mine,
        async dm(sender, text) {
          await deliver({ from: emailAddressOf(sender), fromName: sender.name, subject: text.slice(0, 40), text });
        },
        async group() {
          throw new Error('email has no group chats');
        },
        sent: () => mine().flatMap((mail) => mail.to.map((to) => ({ chatId: to, text: mail.text, at: mail.at }))),
        typing: () => [],
        failSends(failures) {
          smtp.refuseNext(address, failures.map((failure) => (failure.status === 429 ? { code: 451, retryAfterSeconds: failure.retryAfterSeconds } : { code: 421 })));
        },
        setSendsFailing(on) {
          smtp.setRefusing(address, on);
        },
        async malformed() {
          await imap.deliver(address, password, 'this is not a mail at all\r\n');
          await imap.deliver(address, password, 'Subject: no sender\r\nMessage-ID: <nosender@example.org>\r\n\r\nwho wrote this?\r\n');
        },
      };
    },
    invalidAccountSettings: () => ({ address: 'nobody@hearth.test', imap: server('nobody@hearth.test', 'wrong', imap.port), smtp: server('nobody@hearth.test', 'wrong', smtp.port) }),
    dropConnections() {
      for (const bot of bots) void imap.kick(bot);
      smtp.dropConnections();
    },
    async close() {
      await smtp.close();
      await imap.close();
    },
  };
}
