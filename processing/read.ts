import type { Queryable } from '../core/db/index.ts';
import { getVideo, type Video, type VideoState } from './store.ts';

// The read side of the admin API and the console: videos paged newest first.

export interface VideoFilter {
  state?: VideoState;
  /** Only videos with all these labels. */
  labels?: Record<string, string>;
  /** Only videos created before this one (the previous page's last): newer uploads never shift a later page. */
  before?: { createdAt: string; id: string };
  limit: number;
}

export async function selectVideosPage(db: Queryable, filter: VideoFilter): Promise<Video[]> {
  const rows = await db.query<{ id: string }>(
    `select id from processing_videos
      where ($1::text is null or state = $1) and ($2::jsonb is null or labels @> $2::jsonb)
        and ($3::timestamptz is null or (created_at, id) < ($3::timestamptz, $4::text))
      order by created_at desc, id desc limit $5`,
    [filter.state ?? null, filter.labels ? JSON.stringify(filter.labels) : null, filter.before?.createdAt ?? null, filter.before?.id ?? null, filter.limit],
  );
  const videos = await Promise.all(rows.map((row) => getVideo(db, row.id)));
  return videos.filter((video): video is Video => video !== null);
}
