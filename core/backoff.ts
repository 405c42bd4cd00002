/**
 * The wait before retry `attempt` (1 for the first) of a delivery Vigil keeps trying (alert notifications, processing
 * events): `initial` doubled each time up to `max`, spread over the upper half of that by `random` (0 ≤ random < 1)
 * so that deliveries which failed together do not all come back at once.
 */
export function backoffDelay(attempt: number, policy: { initial: number; max: number }, random: number): number {
  const base = Math.min(policy.initial * 2 ** Math.max(0, attempt - 1), policy.max);
  return Math.round(base / 2 + (base * random) / 2);
}
