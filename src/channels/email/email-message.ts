import type { Attachment, ParsedMail } from 'mailparser';
import type { AttachmentInfo, InboundMessage } from '../../contracts/channel.js';

/** A received mail as the channel hands it over, with the attachments' bytes kept aside for saving. */
export interface NormalizedMail {
  message: InboundMessage;
  /** Attachment bytes by the id given in `message.attachments`. */
  contents: Map<string, Buffer>;
}

/** Lower-cased bare address: what allowFrom lists and what a reply goes to. */
export function normalizeAddress(address: string): string {
  return address.trim().toLowerCase();
}

/** `Re: <subject>` once, whatever prefix (Re:, RE:, Aw:, Fwd chains stay) the subject already carries. */
export function replySubject(subject: string | undefined): string {
  const base = (subject ?? '').trim();
  if (base === '') return 'Re: your message';
  return /^(re|aw|sv|antw)\s*:/iu.test(base) ? base : `Re: ${base}`;
}

/** The References chain of a mail as a list of ids with their angle brackets. */
export function referencesOf(mail: Pick<ParsedMail, 'references'>): string[] {
  const raw = mail.references;
  if (raw === undefined) return [];
  return (Array.isArray(raw) ? raw : raw.split(/\s+/u)).filter((id) => id.length > 0);
}

/**
 * Mail that must not be answered: automatic replies (RFC 3834 `Auto-Submitted`, vacation
 * notices), bulk and list mail, and bounces. Answering them starts mail loops.
 */
export function automaticMailReason(mail: Pick<ParsedMail, 'headers' | 'from'>): string | null {
  const header = (name: string) => {
    const value = mail.headers.get(name);
    return typeof value === 'string' ? value.toLowerCase() : value === undefined ? undefined : JSON.stringify(value).toLowerCase();
  };
  const autoSubmitted = header('auto-submitted');
  if (autoSubmitted !== undefined && !autoSubmitted.startsWith('no')) return `an automatic message (Auto-Submitted: ${autoSubmitted})`;
  const precedence = header('precedence');
  if (precedence !== undefined && /bulk|list|junk/u.test(precedence)) return `bulk or list mail (Precedence: ${precedence})`;
  // mailparser gathers the List-* headers under "list".
  if (header('list-id') !== undefined || mail.headers.has('list')) return 'mail from a mailing list (List-Id)';
  if (header('x-autoreply') !== undefined || header('x-autorespond') !== undefined) return 'an automatic reply (X-Autoreply)';
  const sender = mail.from?.value[0]?.address?.toLowerCase() ?? '';
  if (/^(mailer-daemon|postmaster)@/u.test(sender)) return `a bounce from ${sender}`;
  return null;
}

function attachmentInfo(attachment: Attachment, id: string): AttachmentInfo {
  const kind = attachment.contentType.startsWith('image/') ? 'image' : attachment.contentType.startsWith('audio/') ? 'audio' : attachment.contentType.startsWith('video/') ? 'video' : 'file';
  return { kind, id, ...(attachment.filename ? { name: attachment.filename } : {}), mimeType: attachment.contentType, sizeBytes: attachment.size };
}

/**
 * The subject goes before the body only where it says something: the first mail of a thread
 * (a reply's "Re: …" repeats what the conversation already holds), and not when the body already
 * starts with it, as short mails often do.
 */
function subjectWorthShowing(subject: string, body: string, mail: Pick<ParsedMail, 'inReplyTo'>): boolean {
  if (subject === '' || mail.inReplyTo) return false;
  return !body.toLowerCase().startsWith(subject.toLowerCase());
}

export interface NormalizeOptions {
  /** The bot's own address: mail from it is never answered. */
  ownAddress: string;
  /** Turns an HTML body into text (html-to-text). */
  htmlToText(html: string): string;
}

/**
 * A parsed mail as an InboundMessage: the sender's address is the chat (one conversation per
 * correspondent), the thread's first Message-ID its thread, the Message-ID the message id (so a
 * reply can set In-Reply-To and References), and the text the subject plus the body (plain text,
 * or the HTML turned into text). Returns why a mail is skipped instead.
 */
export function normalizeMail(mail: ParsedMail, uid: number, options: NormalizeOptions): NormalizedMail | { skip: string; malformed: boolean } {
  const from = mail.from?.value[0];
  const address = from?.address ? normalizeAddress(from.address) : undefined;
  if (!address) return { skip: `mail ${uid} has no sender address`, malformed: true };
  if (address === normalizeAddress(options.ownAddress)) return { skip: `mail ${uid} is from the bot's own address`, malformed: false };
  const automatic = automaticMailReason(mail);
  if (automatic) return { skip: `mail ${uid} is ${automatic}`, malformed: false };
  const messageId = mail.messageId ?? `<uid-${uid}@hearth.local>`;
  const references = referencesOf(mail);
  const body = (mail.text ?? (mail.html ? options.htmlToText(mail.html) : '')).trim();
  const subject = (mail.subject ?? '').trim();
  const contents = new Map<string, Buffer>();
  const attachments = mail.attachments
    .filter((attachment) => attachment.contentDisposition !== 'inline' || !attachment.contentType.startsWith('image/') || !mail.html)
    .map((attachment, index) => {
      const id = `${uid}-${index}`;
      contents.set(id, attachment.content);
      return attachmentInfo(attachment, id);
    });
  return {
    message: {
      messageId,
      chat: { id: address, kind: 'direct', threadId: references[0] ?? messageId, ...(subject ? { title: subject } : {}) },
      sender: { id: address, ...(from?.name ? { name: from.name } : {}) },
      text: subjectWorthShowing(subject, body, mail) ? `Subject: ${subject}\n\n${body}` : body,
      mentionsBot: false,
      replyToBot: false,
      ...(mail.inReplyTo ? { replyToMessageId: mail.inReplyTo } : {}),
      attachments,
    },
    contents,
  };
}
