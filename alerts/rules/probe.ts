import { z } from 'zod';
import { defineRuleKind } from './rule-kind.ts';

/** A probe is down: its own failure and success thresholds decide down and up. */
export const probeRuleKind = defineRuleKind({
  kind: 'probe',
  constructorName: 'probeRule',
  options: { probe: z.string().min(1) },
  async observe(rule, signals) {
    const status = (await signals.probeStatuses()).find((candidate) => candidate.probe === rule.probe);
    if (!status) return undefined;
    const reason = status.lastResult?.reason;
    const down = status.locations.filter((location) => location.state === 'down').map((location) => location.location);
    const where = status.locations.length > 1 && down.length > 0 ? ` in ${down.join(', ')}` : '';
    const summary = rule.summary ?? (status.state === 'down' ? `${rule.probe} down${where}${reason ? ` — ${reason}` : ''}` : `${rule.probe} ${status.state}`);
    return { labels: { ...status.labels, ...rule.labels, probe: rule.probe }, active: status.state === 'unknown' ? undefined : status.state === 'down', summary };
  },
});
