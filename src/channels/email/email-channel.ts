import { htmlToText } from 'html-to-text';
import { ImapFlow } from 'imapflow';
import { simpleParser } from 'mailparser';
import { createTransport, type Transporter } from 'nodemailer';
import type { Channel, ChannelProbeResult, ChannelRunContext, OutboundMessage, SendReceipt } from '../../contracts/channel.js';
import { ChannelError } from '../../contracts/channel.js';
import type { PlatformDeps } from '../platforms.js';
import { markdownToPlainText } from '../markdown.js';
import { saveAttachments } from '../save-attachments.js';
import { imapError, smtpError } from './email-errors.js';
import { type NormalizedMail, normalizeMail, replySubject } from './email-message.js';

export interface MailServer {
  host: string;
  port: number;
  secure: boolean;
  user: string;
  password: string;
  /** Accept a certificate that does not verify (a self-signed server of your own). */
  tlsInsecure?: boolean;
}

export interface EmailChannelOptions {
  accountId: string;
  /** The bot's address: the From of its replies; mail from it is never answered. */
  address: string;
  imap: MailServer;
  smtp: MailServer;
  /** The folder read for new mail (default INBOX). */
  mailbox?: string;
  deps: PlatformDeps;
}

/** Email has no length limit that matters; a very long answer is still split, as a safeguard. */
export const EMAIL_MAX_MESSAGE = 100_000;
/** The sign of life: a NOOP this often while the mailbox is idle. */
const KEEPALIVE_MS = 60_000;

interface Cursor {
  uidValidity: string;
  lastUid: number;
}

const parseCursor = (text: string | null): Cursor | null => {
  const match = /^(\d+):(\d+)$/u.exec(text ?? '');
  return match ? { uidValidity: match[1] as string, lastUid: Number(match[2]) } : null;
};

/**
 * An email account: IMAP (through imapflow) for receiving, SMTP (through nodemailer) for
 * replies. New mail is fetched by UID after the last one handled, which is saved in the store
 * (with the mailbox's UIDVALIDITY) only once the mail up to it is stored, so a reconnect or a
 * restart neither reads a mail twice nor skips one. IDLE tells of new mail as it arrives.
 * Replies keep the thread: In-Reply-To and References name the mail answered, the subject is
 * `Re: …`, and each piece's Message-ID comes from its outbox key, so a resend after a crash is
 * the same message to every mail client.
 */
export function createEmailChannel(options: EmailChannelOptions): Channel {
  const mailbox = options.mailbox ?? 'INBOX';
  const cursorKey = `email:${options.accountId}`;
  const domain = options.address.split('@')[1] ?? 'hearth.local';
  const state = { client: null as ImapFlow | null };
  const transport: Transporter = createTransport({
    // A few connections kept open between replies: no new TLS handshake and login for each.
    pool: true,
    maxConnections: 2,
    host: options.smtp.host,
    port: options.smtp.port,
    secure: options.smtp.secure,
    auth: { user: options.smtp.user, pass: options.smtp.password },
    tls: { rejectUnauthorized: options.smtp.tlsInsecure !== true },
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 60_000,
  });

  const imapClient = () =>
    new ImapFlow({
      host: options.imap.host,
      port: options.imap.port,
      secure: options.imap.secure,
      auth: { user: options.imap.user, pass: options.imap.password },
      tls: { rejectUnauthorized: options.imap.tlsInsecure !== true },
      logger: false,
      // IDLE is entered by `nextChange` as soon as the mailbox is read, not after imapflow's 15 s pause.
      disableAutoIdle: true,
      maxIdleTime: 5 * 60_000,
    });

  async function handleMail(uid: number, source: Buffer, context: ChannelRunContext): Promise<void> {
    const parsed = await simpleParser(source);
    const normalized = normalizeMail(parsed, uid, { ownAddress: options.address, htmlToText: (html) => htmlToText(html, { wordwrap: false }) });
    if ('skip' in normalized) {
      if (normalized.malformed) context.reject(normalized.skip, source.subarray(0, 200).toString('utf8'));
      else options.deps.logger.info({ channel: 'email', accountId: options.accountId }, `not answered: ${normalized.skip}`);
      return;
    }
    await context.receive(await withAttachments(normalized, context));
  }

  async function withAttachments(normalized: NormalizedMail, context: ChannelRunContext) {
    return saveAttachments(normalized.message, context, async (attachment) => normalized.contents.get(attachment.id as string) ?? Buffer.alloc(0));
  }

  /** Hands over every mail after the cursor, saving the cursor after each one is stored. */
  async function fetchNew(client: ImapFlow, cursor: Cursor, context: ChannelRunContext): Promise<void> {
    const lock = await client.getMailboxLock(mailbox);
    try {
      const found: { uid: number; source: Buffer }[] = [];
      for await (const item of client.fetch(`${cursor.lastUid + 1}:*`, { uid: true, source: true }, { uid: true })) {
        // `n:*` always names the newest mail, even when its UID is below n.
        if (item.uid > cursor.lastUid && item.source) found.push({ uid: item.uid, source: item.source });
      }
      for (const mail of found.sort((a, b) => a.uid - b.uid)) {
        await handleMail(mail.uid, mail.source, context);
        cursor.lastUid = mail.uid;
        await options.deps.store.writeChannelCursor(cursorKey, `${cursor.uidValidity}:${cursor.lastUid}`, Date.now());
      }
    } finally {
      lock.release();
    }
  }

  /** Where to resume: the saved cursor, or (first start, or a mailbox whose UIDVALIDITY changed) the mail arriving from now on. */
  async function resumePoint(client: ImapFlow): Promise<Cursor> {
    const opened = await client.mailboxOpen(mailbox);
    const uidValidity = String(opened.uidValidity);
    const saved = parseCursor(await options.deps.store.readChannelCursor(cursorKey));
    if (saved && saved.uidValidity === uidValidity) return saved;
    const cursor = { uidValidity, lastUid: Math.max(0, opened.uidNext - 1) };
    if (saved) options.deps.logger.warn({ channel: 'email', accountId: options.accountId }, `the mailbox ${mailbox} was renumbered (UIDVALIDITY ${saved.uidValidity} → ${uidValidity}): reading the mail that arrives from now on`);
    await options.deps.store.writeChannelCursor(cursorKey, `${cursor.uidValidity}:${cursor.lastUid}`, Date.now());
    return cursor;
  }

  /** Waits for the server to tell of new mail (IDLE), a keep-alive tick, or the connection's end. */
  function nextChange(client: ImapFlow, signal: AbortSignal): Promise<'mail' | 'tick' | 'closed'> {
    return new Promise((resolve) => {
      let finished = false;
      const done = (why: 'mail' | 'tick' | 'closed') => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        client.off('exists', onMail);
        client.off('close', onClose);
        signal.removeEventListener('abort', onClose);
        resolve(why);
      };
      const onMail = () => done('mail');
      const onClose = () => done('closed');
      const timer = setTimeout(() => done('tick'), KEEPALIVE_MS);
      client.on('exists', onMail);
      client.on('close', onClose);
      signal.addEventListener('abort', onClose, { once: true });
      // IDLE ends whenever another command is sent (a reply looking up the mail it answers):
      // enter it again for as long as this wait lasts, or new mail would go unannounced.
      const stayIdle = () => {
        if (finished) return;
        client.idle().then(() => setImmediate(stayIdle), () => done('closed'));
      };
      stayIdle();
    });
  }

  async function serve(client: ImapFlow, context: ChannelRunContext): Promise<void> {
    const cursor = await resumePoint(client);
    context.connected({ botId: options.address, botName: options.address });
    for (;;) {
      await fetchNew(client, cursor, context);
      context.progress();
      const change = await nextChange(client, context.signal);
      if (context.signal.aborted) return;
      if (change === 'closed') throw new ChannelError('transient', `the IMAP connection to ${options.imap.host} closed`);
      if (change === 'tick') await client.noop();
    }
  }

  async function probe(signal: AbortSignal): Promise<ChannelProbeResult> {
    const client = imapClient();
    try {
      await client.connect().catch((error: unknown) => {
        throw imapError(error, options.imap);
      });
      const status = await client.status(mailbox, { messages: true, uidNext: true });
      if (signal.aborted) throw new ChannelError('transient', 'the probe was cancelled');
      await transport.verify().catch((error: unknown) => {
        throw smtpError(error, options.smtp);
      });
      return { status: 'ok', detail: `IMAP ${options.imap.host} lets ${options.imap.user} in (${status === false ? 0 : (status.messages ?? 0)} mails in ${mailbox}); SMTP ${options.smtp.host} accepts the login` };
    } finally {
      await client.logout().catch(() => client.close());
    }
  }

  /** The subject and References of the mail a reply answers, read back from the mailbox. */
  async function original(messageId: string): Promise<{ subject?: string; references: string[] }> {
    const client = state.client;
    if (!client) return { references: [] };
    const lock = await client.getMailboxLock(mailbox);
    try {
      const uids = await client.search({ header: { 'message-id': messageId } }, { uid: true });
      const uid = Array.isArray(uids) ? uids.at(-1) : undefined;
      if (uid === undefined) return { references: [] };
      const found = await client.fetchOne(String(uid), { uid: true, envelope: true, headers: ['references'] }, { uid: true });
      const references = found && found.headers ? (found.headers.toString('utf8').match(/<[^>\s]+>/gu) ?? []) : [];
      return { ...(found && found.envelope?.subject ? { subject: found.envelope.subject } : {}), references };
    } finally {
      lock.release();
    }
  }

  return {
    platform: 'email',
    accountId: options.accountId,
    format: { maxMessageLength: EMAIL_MAX_MESSAGE, render: markdownToPlainText },

    async run(context: ChannelRunContext): Promise<void> {
      const client = imapClient();
      client.on('error', () => {});
      try {
        await client.connect().catch((error: unknown) => {
          throw imapError(error, options.imap);
        });
        state.client = client;
        await serve(client, context);
      } catch (error) {
        if (context.signal.aborted) return;
        throw error instanceof ChannelError ? error : imapError(error, options.imap);
      } finally {
        if (state.client === client) state.client = null;
        await client.logout().catch(() => client.close());
      }
    },

    async send(message: OutboundMessage): Promise<SendReceipt> {
      const answered = message.target.replyToMessageId;
      const thread = answered ? await original(answered).catch(() => ({ references: [] as string[] })) : { references: [] as string[] };
      const references = [...new Set([...(thread.references ?? []), ...(message.target.threadId ? [message.target.threadId] : []), ...(answered ? [answered] : [])])];
      const messageId = `<${message.idempotencyKey.replace(/[^A-Za-z0-9._-]/gu, '.')}@${domain}>`;
      try {
        await transport.sendMail({
          from: options.address,
          to: message.target.chatId,
          subject: replySubject('subject' in thread ? String(thread.subject) : undefined),
          text: message.text,
          messageId,
          ...(answered ? { inReplyTo: answered } : {}),
          ...(references.length > 0 ? { references } : {}),
          headers: { 'Auto-Submitted': 'auto-replied' },
        });
      } catch (error) {
        throw smtpError(error, options.smtp);
      }
      return { messageId };
    },

    probe,

    async close(): Promise<void> {
      transport.close();
    },
  };
}
