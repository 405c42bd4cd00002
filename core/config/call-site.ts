/** file:line of the call to `below` (a config constructor), so a config error names the line that made the bad value. */
export function callSite(below: (...args: never[]) => unknown): string {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, below);
  const frame = holder.stack?.split('\n')[1] ?? '';
  const location = /\(?((?:file:\/\/)?[^\s()]+):(\d+):\d+\)?\s*$/.exec(frame);
  // A copy, not a slice: a string cut from the stack text keeps the whole text alive with the definition (about 250
  // bytes each, 5 MB at 20,000 probes).
  return location ? Buffer.from(`${location[1]!.replace(/^file:\/\//, '')}:${location[2]}`).toString() : '<unknown location>';
}

/** What a config constructor that never throws returns for a bad entry: where it was written and what is wrong. */
export interface RefusedEntry {
  readonly valid: false;
  name?: string;
  source: string;
  issues: string[];
}

/** Whether `value` came from the constructors that mark what they return with `brand`. */
export function carriesBrand(value: unknown, brand: symbol): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}
