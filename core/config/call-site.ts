/** file:line of the call to `below` (a config constructor), so a config error names the line that made the bad value. */
export function callSite(below: (...args: never[]) => unknown): string {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, below);
  const frame = holder.stack?.split('\n')[1] ?? '';
  const location = /\(?((?:file:\/\/)?[^\s()]+):(\d+):\d+\)?\s*$/.exec(frame);
  return location ? `${location[1]!.replace(/^file:\/\//, '')}:${location[2]}` : '<unknown location>';
}
