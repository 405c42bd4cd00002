import { z } from 'zod';
import { defineRuleKind } from './rule-kind.ts';

/** A metric of Vigil's own registry above or below a level; `match` selects series by label, their values are summed. */
export const metricRuleKind = defineRuleKind({
  kind: 'metric',
  constructorName: 'metricRule',
  options: { metric: z.string().min(1), match: z.record(z.string(), z.string()).default({}), above: z.number().optional(), below: z.number().optional() },
  check: (rule) => ((rule.above === undefined) === (rule.below === undefined) ? ['a metric rule needs exactly one of above or below'] : []),
  async observe(rule, signals) {
    const value = await signals.metric(rule.metric, rule.match);
    const active = value === undefined ? undefined : rule.above !== undefined ? value > rule.above : value < rule.below!;
    return { labels: rule.labels, active, summary: rule.summary ?? `${rule.metric} = ${value ?? 'absent'} (${rule.above !== undefined ? `above ${rule.above}` : `below ${rule.below}`})` };
  },
});
