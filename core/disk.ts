import { randomBytes } from 'node:crypto';
import { open, rm, statfs } from 'node:fs/promises';
import path from 'node:path';
import type { Health } from './lifecycle/module.ts';

export interface DirectoryCheck {
  /** What the directory is, for the reason line: "data directory", "storage directory". */
  label: string;
  directory: string;
  /** Below this many free bytes (for an unprivileged process) the check fails. */
  minFreeBytes: number;
  /** The config field that sets the floor, named in the reason so an operator knows what to change. */
  floorSetting?: string;
}

export type DirectoryHealth = Health & { freeBytes?: number };

/** Whether `directory` takes a small synced write and has at least `minFreeBytes` free: a /readyz check, and the
 * test a module applies to its own directories before it accepts work that would fill them. */
export async function checkDirectory(check: DirectoryCheck): Promise<DirectoryHealth> {
  const { label, directory, minFreeBytes } = check;
  const probe = path.join(directory, `.vigil-write-check-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const handle = await open(probe, 'wx');
    try {
      await handle.write('ok');
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    return { ok: false, reason: `${label} ${directory} is not writable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  } finally {
    await rm(probe, { force: true }).catch(() => {});
  }
  const stats = await statfs(directory);
  const freeBytes = stats.bavail * stats.bsize;
  if (freeBytes < minFreeBytes) {
    const setting = check.floorSetting ? ` (${check.floorSetting})` : '';
    return { ok: false, freeBytes, reason: `${label} ${directory} has ${formatBytes(freeBytes)} free, below the floor of ${formatBytes(minFreeBytes)}${setting}` };
  }
  return { ok: true, freeBytes };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
