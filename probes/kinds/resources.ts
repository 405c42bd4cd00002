import { readFile, statfs } from 'node:fs/promises';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { z } from 'zod';
import { duration } from '../../core/config/duration.ts';
import { defineKind } from '../define.ts';

const ratio = () => z.number().min(0).max(1);

const options = z.strictObject({
  /** Highest 1-minute load average per CPU. */
  maxLoadPerCpu: z.number().min(0).optional(),
  /** Lowest share of memory available (MemAvailable / MemTotal). */
  minMemoryAvailable: ratio().optional(),
  /** Paths whose filesystem must keep a share of its space free. */
  disks: z.array(z.strictObject({ path: z.string().min(1), minFree: ratio() })).default([]),
  /** Highest p99 event-loop delay of this process since the previous run. */
  maxEventLoopLag: duration().optional(),
});

let loopDelay: ReturnType<typeof monitorEventLoopDelay> | undefined;

/** CPU load, memory, free disk on named paths and this process's event-loop lag, against thresholds. */
export const resources = defineKind({
  kind: 'resources',
  options,
  async run(config) {
    if (!loopDelay) {
      loopDelay = monitorEventLoopDelay({ resolution: 10 });
      loopDelay.enable();
    }
    const loadPerCpu = os.loadavg()[0]! / os.availableParallelism();
    const memoryAvailable = await availableMemoryRatio();
    const lagMs = loopDelay.count > 0 ? loopDelay.percentile(99) / 1e6 : 0;
    loopDelay.reset();
    const disks = await Promise.all(
      config.disks.map(async (disk) => {
        const stats = await statfs(disk.path);
        return { ...disk, free: stats.blocks > 0 ? stats.bavail / stats.blocks : 0, freeBytes: stats.bavail * stats.bsize };
      }),
    );
    const round = (value: number) => Math.round(value * 1000) / 1000;
    const details = {
      loadPerCpu: round(loadPerCpu),
      memoryAvailable: round(memoryAvailable),
      eventLoopLagMs: round(lagMs),
      disks: disks.map((disk) => ({ path: disk.path, free: round(disk.free), freeBytes: disk.freeBytes })),
    };
    const problems = [
      ...(config.maxLoadPerCpu !== undefined && loadPerCpu > config.maxLoadPerCpu ? [`load per CPU ${round(loadPerCpu)} above ${config.maxLoadPerCpu}`] : []),
      ...(config.minMemoryAvailable !== undefined && memoryAvailable < config.minMemoryAvailable ? [`memory available ${round(memoryAvailable)} below ${config.minMemoryAvailable}`] : []),
      ...(config.maxEventLoopLag !== undefined && lagMs > config.maxEventLoopLag ? [`event-loop lag p99 ${round(lagMs)} ms above ${config.maxEventLoopLag} ms`] : []),
      ...disks.filter((disk) => disk.free < disk.minFree).map((disk) => `disk at ${disk.path} has ${round(disk.free)} free, below ${disk.minFree}`),
    ];
    return problems.length > 0 ? { success: false, failure: 'threshold', reason: problems.join('; '), details } : { success: true, details };
  },
});

async function availableMemoryRatio(): Promise<number> {
  try {
    const meminfo = await readFile('/proc/meminfo', 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(meminfo)?.[1]);
    const ratio = field('MemAvailable') / field('MemTotal');
    if (Number.isFinite(ratio)) return ratio;
  } catch {
    // Not Linux: the portable figure below is the closest.
  }
  return os.freemem() / os.totalmem();
}
