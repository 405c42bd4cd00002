import { expect, it } from 'vitest';
import { describeEachBackend, storePer } from '../support/backends.ts';
import { testClips } from '../support/clips.ts';
import { waitFor } from '../support/wait.ts';
import { getAdminVideo, getVideo, processingTestConfig, startProcessing, upload, waitForState } from './support.ts';

const { clip } = testClips({ clip: { seconds: 20, width: 1280, height: 720 } });

describeEachBackend('processing recovery', (backend) => {
  const suite = storePer('suite', backend);

  it('hands an in-flight transcode back on stop, and the next start finishes it from the saved original', async () => {
    const first = await startProcessing(processingTestConfig(suite.store, { preset: 'medium' }));
    const answer = await upload(first.url, clip);
    await waitFor('transcode to start', async () => (await getVideo(first.url, answer.body.id)).checkpoints.some((c) => c.stage === 'transcode' && c.status === 'started'), 30_000);
    await first.stop(200);

    const second = await startProcessing(processingTestConfig(suite.store, { preset: 'ultrafast' }));
    try {
      const video = await waitForState(second.url, answer.body.id, ['published', 'failed'], 90_000);
      expect(video.state).toBe('published');
      expect(video.checkpoints.filter((c) => c.stage === 'transcode').map((c) => [c.attempt, c.status, c.errorClass])).toEqual([
        [1, 'failed', 'WORKER_LOST'],
        [2, 'finished', null],
      ]);
    } finally {
      await second.stop();
    }
  });

  it('fences a late result: an attempt that lost the video to another attempt commits nothing and does not publish', async () => {
    const vigil = await startProcessing(processingTestConfig(suite.store, { preset: 'medium' }));
    try {
      const answer = await upload(vigil.url, clip);
      await waitFor('transcode to start', async () => (await getVideo(vigil.url, answer.body.id)).checkpoints.some((c) => c.stage === 'transcode' && c.status === 'started'), 30_000);
      // What a takeover after an expired lease does first: the video now belongs to another attempt.
      await vigil.db.query(`update processing_videos set fence = 'another-job/2' where id = $1`, [answer.body.id]);
      const video = await waitFor('the late attempt to end', async () => {
        const current = await getAdminVideo(vigil.url, answer.body.id);
        return current.checkpoints.find((c) => c.stage === 'transcode')!.status !== 'started' ? current : undefined;
      }, 60_000);
      expect(video.checkpoints.find((c) => c.stage === 'transcode')).toMatchObject({ status: 'failed', errorClass: 'WORKER_LOST', message: expect.stringMatching(/result was discarded/) });
      expect(video.outputs).toEqual([]);
      expect(video.state).toBe('processing');
      expect(video.stage).toBe('transcode');
      expect(video.checkpoints.map((c) => c.stage)).not.toContain('thumbnail');
    } finally {
      await vigil.stop();
    }
  });
});
