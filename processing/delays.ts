// POSTPONING: when processing is down, uploads are still accepted and kept; their uploaders are told once that the
// result will follow. This runs beside the upload API, not in the workers, because stopped workers are its reason to be.
import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db/index.ts';
import { periodicComponent, type Component } from '../core/lifecycle/module.ts';
import { MailError, type Mailer } from '../core/mail.ts';
import type { Logger } from '../core/telemetry/index.ts';
import type { ProcessingConfig } from './config.ts';
import { claimNotice, composeNotice } from './notices.ts';
import { delayedVideosToTell, releaseNotice } from './store.ts';

export interface DelayNoticeDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  mailer: Mailer;
  config: ProcessingConfig;
  statusUrl(videoId: string): string;
}

/** How many uploaders one pass tells at most; the next pass takes the rest. */
const BATCH = 200;

/**
 * One pass: claims and sends the "delayed" notice of every waiting video while processing is stalled. At most once per
 * video: the claim is taken before sending and given back only when the mail server refused for now.
 */
export async function tellDelayedUploaders(deps: DelayNoticeDeps): Promise<number> {
  const now = deps.clock.date();
  const { notices } = deps.config;
  const videos = await delayedVideosToTell(deps.db, { waitingSince: new Date(now.getTime() - notices.delayedAfter), synthetic: notices.synthetic, limit: BATCH });
  let sent = 0;
  for (const video of videos) {
    if (!(await claimNotice(deps.db, video, 'delayed', now, { synthetic: notices.synthetic }))) continue;
    try {
      await deps.mailer.send(composeNotice('delayed', video, deps.statusUrl(video.id)));
      sent++;
    } catch (error) {
      if (error instanceof MailError && error.temporary) await releaseNotice(deps.db, video.id, 'delayed');
      deps.logger.warn({ err: error, videoId: video.id, notice: 'delayed' }, 'user notice could not be delivered');
    }
  }
  return sent;
}

/** Looks for stalled processing every minute (or every `delayedAfter`, when shorter). */
export function createDelayNotices(deps: DelayNoticeDeps): Component {
  return periodicComponent('processing-delay-notices', {
    clock: deps.clock,
    intervalMs: Math.min(60_000, deps.config.notices.delayedAfter),
    pass: () => tellDelayedUploaders(deps),
    onError: (error) => deps.logger.error({ err: error }, 'looking for delayed uploads failed'),
    stop: () => deps.mailer.close(),
  });
}
