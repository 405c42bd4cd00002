import type { Queryable } from '../core/db/index.ts';
import { MailError, type Mailer, type MailMessage } from '../core/mail.ts';
import type { Logger } from '../core/telemetry/index.ts';
import { FAILURE_CODES } from './failures.ts';
import { claimNotice as claimNoticeRow, type NoticeKind, type Video } from './store.ts';

export { NOTICE_KINDS, type NoticeKind } from './store.ts';

export interface NoticeJob {
  videoId: string;
  kind: NoticeKind;
}

/**
 * Claims the right to send one notice of `kind` for a video (inside the transaction that commits the state change).
 * Returns false when it was claimed before, the video has no email, or it is synthetic and synthetic notices are off.
 */
export async function claimNotice(tx: Queryable, video: Video, kind: NoticeKind, now: Date, options: { synthetic: boolean }): Promise<boolean> {
  if (!video.email || (video.synthetic && !options.synthetic)) return false;
  return claimNoticeRow(tx, video.id, kind, now);
}

/** The mail for a notice. A failure is told with its user sentence only: never the technical detail. */
export function composeNotice(kind: NoticeKind, video: Video, statusUrl: string): MailMessage {
  const name = video.originalName ? `"${video.originalName}"` : 'your upload';
  const footer = `\n\nStatus: ${statusUrl}\nVideo id: ${video.id}\n`;
  if (kind === 'retry') {
    return {
      to: video.email!,
      subject: `We received ${name}; processing will be retried automatically`,
      text: `Your video ${name} is saved. Processing hit a temporary problem and will be retried automatically; there is no need to upload it again.${footer}`,
    };
  }
  if (kind === 'delayed') {
    return {
      to: video.email!,
      subject: `We received ${name}; processing is delayed`,
      text: `Your video ${name} is saved. Our video processing service is down at the moment, so it has not been processed yet. There is no need to upload it again: we will email you when it has been processed.${footer}`,
    };
  }
  if (kind === 'ready') {
    return { to: video.email!, subject: `Your video ${name} is ready`, text: `Your video ${name} has been processed and is ready to watch.${footer}` };
  }
  const reason = video.errorMessage ?? FAILURE_CODES.internal.user;
  const entry = video.errorCode ? FAILURE_CODES[video.errorCode] : null;
  const remedy = entry?.class === 'INPUT_INVALID' ? ` To fix it: ${entry.remedy}.` : '';
  return {
    to: video.email!,
    subject: `Your video ${name} could not be processed`,
    text: `Your video ${name} could not be processed. ${reason}${remedy}${footer}`,
  };
}

/** Sends a claimed notice. A temporary SMTP failure throws (pg-boss retries the job); a permanent one is logged and dropped. */
export async function deliverNotice(mailer: Mailer, logger: Logger, message: MailMessage, job: NoticeJob): Promise<void> {
  try {
    await mailer.send(message);
  } catch (error) {
    if (error instanceof MailError && error.temporary) throw error;
    logger.warn({ err: error, videoId: job.videoId, notice: job.kind }, 'user notice could not be delivered');
  }
}
