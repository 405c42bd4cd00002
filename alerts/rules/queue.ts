import { z } from 'zod';
import { duration } from '../../core/config/duration.ts';
import { defineRuleKind } from './rule-kind.ts';

/** A processing queue too deep or waiting too long. */
export const queueRuleKind = defineRuleKind({
  kind: 'queue',
  constructorName: 'queueRule',
  options: { queue: z.string().min(1), maxDepth: z.number().int().min(0).optional(), maxOldestAge: duration().optional() },
  check: (rule) => (rule.maxDepth === undefined && rule.maxOldestAge === undefined ? ['a queue rule needs maxDepth or maxOldestAge'] : []),
  async observe(rule, signals) {
    const queue = (await signals.processing(60_000).queues()).find((candidate) => candidate.name === rule.queue);
    const depth = queue?.depth ?? 0;
    const age = (queue?.oldestQueuedAgeSeconds ?? 0) * 1000;
    const active = (rule.maxDepth !== undefined && depth > rule.maxDepth) || (rule.maxOldestAge !== undefined && age > rule.maxOldestAge);
    return { labels: { ...rule.labels, queue: rule.queue }, active, summary: rule.summary ?? `queue ${rule.queue}: ${depth} waiting, oldest ${Math.round(age / 1000)} s` };
  },
});
