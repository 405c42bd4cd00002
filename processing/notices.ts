import type { Queryable } from '../core/db/index.ts';
import { MailError, type Mailer, type MailMessage } from '../core/mail.ts';
import type { Logger } from '../core/telemetry/index.ts';
import type { FailureClass } from './failures.ts';
import type { Video } from './videos.ts';

export const NOTICE_KINDS = ['retry', 'ready', 'failed'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

export interface NoticeJob {
  videoId: string;
  kind: NoticeKind;
}

const CLAIM_COLUMN: Record<NoticeKind, string> = { retry: 'noticed_retry_at', ready: 'noticed_ready_at', failed: 'noticed_failed_at' };

/**
 * Claims the right to send one notice of `kind` for a video (inside the transaction that commits the state change).
 * Returns false when it was claimed before, the video has no email, or it is synthetic and synthetic notices are off.
 */
export async function claimNotice(tx: Queryable, video: Video, kind: NoticeKind, now: Date, options: { synthetic: boolean }): Promise<boolean> {
  if (!video.email || (video.synthetic && !options.synthetic)) return false;
  const column = CLAIM_COLUMN[kind];
  const claimed = await tx.query(`update processing_videos set ${column} = $2 where id = $1 and ${column} is null returning id`, [video.id, now]);
  return claimed.length > 0;
}

const REASONS: Record<FailureClass, string> = {
  INPUT_INVALID: 'the file is not a video we can read',
  TIMEOUT: 'processing took longer than allowed, every time we tried',
  RESOURCE: 'our storage was not available, every time we tried',
  WORKER_LOST: 'the machine processing it stopped, every time we tried',
  UNDEFINED: 'an unexpected error, every time we tried',
};

/** The reason a user reads for a failure class. */
export function plainReason(failureClass: FailureClass): string {
  return REASONS[failureClass];
}

// An absolute path after a space, quote, bracket, "=" or ":" (or at the start), up to a space, quote or bracket
// (punctuation just before one stays), as tools print them in messages.
const ABSOLUTE_PATH = /(^|[\s'"(=:[])(?:\/|[A-Za-z]:\\)[^\s'")\]]*?(?=[:,;.]?(?:[\s'")\]]|$))/g;

/** A message fit for someone who must not learn the server's layout: absolute paths become "<file>". */
export function withoutPaths(text: string): string {
  return text.replace(ABSOLUTE_PATH, '$1<file>');
}

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
  if (kind === 'ready') {
    return { to: video.email!, subject: `Your video ${name} is ready`, text: `Your video ${name} has been processed and is ready to watch.${footer}` };
  }
  const reason = `${REASONS[video.errorClass ?? 'UNDEFINED']}${video.errorMessage ? ` (${withoutPaths(video.errorMessage)})` : ''}`;
  return {
    to: video.email!,
    subject: `Your video ${name} could not be processed`,
    text: `Your video ${name} could not be processed: ${reason}.${footer}`,
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
