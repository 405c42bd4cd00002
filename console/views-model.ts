import type { ProbeResult, ProbeSummary, UptimeDay } from '../probes/index.ts';
import type { Workflow } from '../processing/index.ts';

// Pure functions from what the modules return to what the templates show: figures as text, bars as SVG geometry.

export const iso = (ms: number | string | null | undefined): string => (ms === null || ms === undefined ? '' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));

export function durationText(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
}

export const percent = (ratio: number | null): string => (ratio === null ? 'no data' : `${(Math.floor(ratio * 10000) / 100).toFixed(2)}%`);

export interface UptimeBar {
  x: number;
  /** ok, degraded, down or none: the bar's colour class. */
  level: 'ok' | 'degraded' | 'down' | 'none';
  label: string;
}

export function uptimeBars(days: readonly UptimeDay[]): { bars: UptimeBar[]; width: number; overall: string } {
  const bars = days.map((day, index): UptimeBar => ({
    x: index * 4,
    level: day.uptimeRatio === null ? 'none' : day.uptimeRatio >= 0.999 ? 'ok' : day.uptimeRatio >= 0.95 ? 'degraded' : 'down',
    label: `${day.day}: ${percent(day.uptimeRatio)}${day.checks ? ` of ${day.checks} checks` : ''}`,
  }));
  const checks = days.reduce((sum, day) => sum + day.checks, 0);
  const up = days.reduce((sum, day) => sum + (day.uptimeRatio ?? 0) * day.checks, 0);
  return { bars, width: days.length * 4, overall: percent(checks ? up / checks : null) };
}

export interface FailureView {
  at: string;
  location: string;
  reason: string;
  timings: string;
  screenshot?: string;
}

export function failureView(result: ProbeResult, screenshotUrl: (file: string) => string): FailureView {
  const screenshot = typeof result.details?.screenshot === 'string' ? result.details.screenshot : undefined;
  return {
    at: iso(result.startedAt),
    location: result.location,
    reason: result.reason ?? 'failed',
    timings: Object.entries(result.timings ?? {}).map(([phase, ms]) => `${phase} ${ms.toFixed(0)} ms`).join(', '),
    ...(screenshot ? { screenshot: screenshotUrl(screenshot.split(/[\\/]/).pop()!) } : {}),
  };
}

export interface ProbeRowView {
  name: string;
  kind: string;
  state: ProbeSummary['state'];
  since: string;
  schedule: string;
  labels: string;
  uptime: ReturnType<typeof uptimeBars>;
  failures: FailureView[];
}

export interface GanttRow {
  stage: string;
  status: string;
  y: number;
  attempts: Array<{ x: number; width: number; status: string; label: string }>;
}

/** The workflow as a timeline: one row per stage, one bar per attempt, positioned on a 0..600 scale of the video's lifetime. */
export function workflowGantt(workflow: Workflow, createdAt: string, now: number): { rows: GanttRow[]; height: number; span: string } {
  const start = Date.parse(createdAt);
  const ends = workflow.stages.flatMap((stage) => stage.attempts.map((attempt) => (attempt.finishedAt ? Date.parse(attempt.finishedAt) : now)));
  const total = Math.max(1, ...ends.map((end) => end - start));
  const scale = (ms: number) => Math.round((ms / total) * 600 * 10) / 10;
  const rows = workflow.stages.map((stage, index): GanttRow => ({
    stage: stage.stage,
    status: stage.status,
    y: index * 28,
    attempts: stage.attempts.map((attempt) => {
      const from = Date.parse(attempt.startedAt) - start;
      const to = (attempt.finishedAt ? Date.parse(attempt.finishedAt) : now) - start;
      return {
        x: 110 + scale(from),
        width: Math.max(2, scale(to - from)),
        status: attempt.status,
        label: `${stage.stage} attempt ${attempt.attempt}: ${attempt.status}${attempt.durationMs !== null ? ` in ${durationText(attempt.durationMs)}` : ''}${attempt.errorClass ? ` (${attempt.errorClass})` : ''}`,
      };
    }),
  }));
  return { rows, height: rows.length * 28, span: durationText(total) };
}
