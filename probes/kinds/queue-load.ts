import { z } from 'zod';
import { duration } from '../../core/config/duration.ts';
import { queueSignals } from '../../processing/signals.ts';
import { defineKind } from '../define.ts';

const options = z.strictObject({
  /** Only these queues (e.g. "processing.transcode"); every processing queue when absent. */
  queues: z.array(z.string().min(1)).optional(),
  /** The window drain rates are measured over. */
  window: duration().default(300_000),
  maxDepth: z.number().int().min(0).optional(),
  maxOldestAge: duration().optional(),
  /** Longest estimated time to drain (depth ÷ drain rate; a queue with work and no drain never drains). */
  maxTimeToDrain: duration().optional(),
});

/** Processing queue depth, oldest queued age, drain rate and estimated time to drain, against thresholds. */
export const queueLoad = defineKind({
  kind: 'queueLoad',
  options,
  uses: ['queue'],
  async run(config, context) {
    const all = await queueSignals(context.db, context.clock.now(), config.window);
    const queues = all.filter((queue) => !config.queues || config.queues.includes(queue.name));
    const unknown = (config.queues ?? []).filter((name) => !all.some((queue) => queue.name === name));
    if (unknown.length > 0) return { success: false, failure: 'config', reason: `no queue named ${unknown.join(', ')} (queues: ${all.map((queue) => queue.name).join(', ')})` };
    const measured = queues.map((queue) => ({
      ...queue,
      timeToDrainSeconds: queue.depth === 0 ? 0 : queue.drainRatePerSecond > 0 ? queue.depth / queue.drainRatePerSecond : null,
    }));
    const problems = measured.flatMap((queue) => [
      ...(config.maxDepth !== undefined && queue.depth > config.maxDepth ? [`${queue.name} holds ${queue.depth}, above ${config.maxDepth}`] : []),
      ...(config.maxOldestAge !== undefined && queue.oldestQueuedAgeSeconds * 1000 > config.maxOldestAge ? [`${queue.name}'s oldest job waited ${Math.round(queue.oldestQueuedAgeSeconds)} s, above ${config.maxOldestAge / 1000} s`] : []),
      ...(config.maxTimeToDrain !== undefined && (queue.timeToDrainSeconds === null || queue.timeToDrainSeconds * 1000 > config.maxTimeToDrain)
        ? [`${queue.name} needs ${queue.timeToDrainSeconds === null ? 'forever (nothing drained in the window)' : `${Math.round(queue.timeToDrainSeconds)} s`} to drain, above ${config.maxTimeToDrain / 1000} s`]
        : []),
    ]);
    const details = { queues: measured };
    return problems.length > 0 ? { success: false, failure: 'threshold', reason: problems.join('; '), details } : { success: true, details };
  },
});
