import type { AttachmentInfo, ChannelRunContext, InboundMessage } from '../contracts/channel.js';
import { deadlineSignal } from '../runtime/deadline.js';

/** Fetches one attachment's bytes from the platform. */
export type AttachmentDownload = (attachment: AttachmentInfo, signal: AbortSignal) => Promise<Uint8Array>;

/** How long one download may take before the message goes on without the file. */
const DOWNLOAD_TIMEOUT_MS = 30_000;
/** How long saving one file (an upload to the object store) may take before the message goes on without it. */
const SAVE_TIMEOUT_MS = 30_000;

/** The save's result, or a rejection once it took longer than SAVE_TIMEOUT_MS (the upload may still finish: the object is the same bytes). */
function savedInTime<T>(saving: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`saving it took longer than ${SAVE_TIMEOUT_MS / 1000} s`)), SAVE_TIMEOUT_MS);
  });
  return Promise.race([saving, late]).finally(() => clearTimeout(timer));
}

/**
 * Downloads a message's attachments and saves them by content hash (ChannelRunContext.saveMedia)
 * before the message is handed over, so the transcript refers to files that exist. A file larger
 * than `media.maxBytes`, or one whose download or upload fails, is noted as not saved; the message is never
 * held back or dropped for it.
 */
export async function saveAttachments(message: InboundMessage, context: ChannelRunContext, download: AttachmentDownload): Promise<InboundMessage> {
  const save = context.saveMedia;
  const maxBytes = context.mediaMaxBytes ?? 0;
  if (!save || maxBytes === 0 || message.attachments.length === 0) return message;
  const attachments = await Promise.all(
    message.attachments.map(async (item): Promise<AttachmentInfo> => {
      if (item.id === undefined) return item;
      if (item.sizeBytes !== undefined && item.sizeBytes > maxBytes) return { ...item, notSaved: `larger than media.maxBytes (${maxBytes} bytes)` };
      try {
        const deadline = deadlineSignal(DOWNLOAD_TIMEOUT_MS, context.signal);
        const bytes = await download(item, deadline.signal).finally(deadline.clear);
        const saved = await savedInTime(save(bytes));
        return { ...item, media: saved.ref, sizeBytes: saved.sizeBytes };
      } catch (error) {
        return { ...item, notSaved: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
  return { ...message, attachments };
}
