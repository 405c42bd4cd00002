import { DAY } from '../core/clock.ts';
import { decodeCursor, errorResponses, labelsSchema, looseObject, pageOf, pageQueryProperties, requestError, timeParam, timeRangeProperties } from '../core/http/admin-api.ts';
import { ADMIN_API_PREFIX } from '../core/http/auth.ts';
import type { HttpServer } from '../core/http/server.ts';
import { describeSchedule } from './define.ts';
import { loadProbes, type LoadedProbe } from './loader.ts';
import { selectLocationReadings, selectResultsPage, selectUptime } from './store.ts';
import { getProbeStatuses } from './results.ts';
import { environmentOf } from './run-now.ts';
import { runProbe } from './runner.ts';
import type { ProbeResult, ProbeRunContext, ProbeState } from './types.ts';

export interface ProbeSummary {
  name: string;
  kind: string;
  schedule: string;
  timeoutMs: number;
  labels: Record<string, string>;
  /** Where it is configured to run; absent: every location. */
  locations?: string[];
  /** After the thresholds and the location quorum; "unknown" until it has run. */
  state: ProbeState;
  since: number | null;
  lastResult: ProbeResult | null;
  locationStates: Array<{ location: string; state: ProbeState; since: number; lastResult: ProbeResult }>;
  source: string;
}

/** Every configured probe with its state, each location's state and the last result. */
export async function probeSummaries(ctx: Pick<ProbeRunContext, 'config' | 'db'>): Promise<ProbeSummary[]> {
  const { probes } = loadProbes(ctx.config.probes);
  const [statuses, locations] = await Promise.all([getProbeStatuses(ctx.db), selectLocationReadings(ctx.db)]);
  const statusOf = new Map(statuses.map((status) => [status.probe, status]));
  return probes.map(({ definition }) => {
    const status = statusOf.get(definition.name);
    return {
      name: definition.name,
      kind: definition.kind,
      schedule: describeSchedule(definition.schedule),
      timeoutMs: definition.timeout,
      labels: definition.labels,
      ...(definition.locations ? { locations: definition.locations } : {}),
      state: status?.state ?? 'unknown',
      since: status?.since ?? null,
      lastResult: status?.lastResult ?? null,
      locationStates: locations.filter((location) => location.probe === definition.name).map(({ probe: _probe, ...rest }) => rest),
      source: definition.source,
    };
  });
}

function unknownProbe(field: string, name: string, probes: readonly LoadedProbe[]): Error {
  const names = probes.map((probe) => probe.definition.name);
  return requestError(field, `no probe named "${name}" in the configuration${names.length ? ` (probes: ${names.join(', ')})` : ''}`, 404);
}

/** The probes a manual run names: by name, every one (`all`), or those whose labels match. */
export function selectProbes(probes: readonly LoadedProbe[], selection: { names?: readonly string[]; all?: boolean; match?: Record<string, string> }): LoadedProbe[] {
  const matchers = Object.entries(selection.match ?? {});
  if (!selection.all && !selection.names?.length && matchers.length === 0) throw requestError('probes', 'name at least one probe, or give all or match');
  for (const name of selection.names ?? []) {
    if (!probes.some((probe) => probe.definition.name === name)) throw unknownProbe('probes', name, probes);
  }
  return probes.filter(({ definition }) =>
    selection.all || selection.names?.includes(definition.name) || (matchers.length > 0 && matchers.every(([name, value]) => definition.labels[name] === value)),
  );
}

/** Runs probes now, a few at a time; the results are returned, never recorded (a manual run is not a scheduled one). */
async function runManually(ctx: ProbeRunContext, selected: readonly LoadedProbe[], location: string): Promise<ProbeResult[]> {
  const results: ProbeResult[] = new Array(selected.length);
  let next = 0;
  const environment = { ...environmentOf(ctx), location };
  const worker = async () => {
    for (let index = next++; index < selected.length; index = next++) {
      const { definition, kind } = selected[index]!;
      results[index] = (await runProbe(definition, kind, environment)).result;
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, selected.length) }, worker));
  return results;
}

const resultSchema = looseObject(
  {
    probe: { type: 'string' },
    kind: { type: 'string' },
    location: { type: 'string' },
    success: { type: 'boolean' },
    startedAt: { type: 'number', description: 'epoch milliseconds' },
    durationMs: { type: 'number' },
    reason: { type: 'string' },
    timings: { type: 'object', additionalProperties: { type: 'number' } },
    details: { type: 'object', additionalProperties: true },
    traceId: { type: 'string' },
  },
  ['probe', 'kind', 'location', 'success', 'startedAt', 'durationMs'],
);
const stateSchema = { type: 'string', enum: ['up', 'down', 'unknown'] } as const;
const summarySchema = looseObject(
  {
    name: { type: 'string' },
    kind: { type: 'string' },
    schedule: { type: 'string' },
    timeoutMs: { type: 'number' },
    labels: labelsSchema,
    locations: { type: 'array', items: { type: 'string' } },
    state: stateSchema,
    since: { type: ['number', 'null'] },
    lastResult: { anyOf: [resultSchema, { type: 'null' }] },
    locationStates: { type: 'array', items: looseObject({ location: { type: 'string' }, state: stateSchema, since: { type: 'number' }, lastResult: resultSchema }) },
    source: { type: 'string', description: 'file:line of the definition' },
  },
  ['name', 'kind', 'schedule', 'labels', 'state', 'locationStates'],
);
const nameParams = { type: 'object', properties: { name: { type: 'string', minLength: 1 } }, required: ['name'] } as const;

/** Probes under /admin/api/v1/probes: definitions with state, results paged by cursor, uptime, and manual runs. */
export function registerProbeApi(http: HttpServer, ctx: ProbeRunContext): void {
  const known = (name: string) => {
    const { probes } = loadProbes(ctx.config.probes);
    if (!probes.some((probe) => probe.definition.name === name)) throw unknownProbe('name', name, probes);
  };
  void http.register(
    async (api) => {
      api.get(
        '/probes',
        {
          schema: {
            tags: ['probes'],
            summary: 'Every configured probe with its state, per-location state and last result; definitions that were skipped, as problems',
            response: { 200: looseObject({ probes: { type: 'array', items: summarySchema }, problems: { type: 'array', items: { type: 'string' } }, warnings: { type: 'array', items: { type: 'string' } } }, ['probes', 'problems', 'warnings']), ...errorResponses },
          },
        },
        async () => {
          const { problems, warnings } = loadProbes(ctx.config.probes);
          return { probes: await probeSummaries(ctx), problems, warnings };
        },
      );

      api.get<{ Params: { name: string } }>('/probes/:name', { schema: { tags: ['probes'], summary: 'One probe with its state', params: nameParams, response: { 200: looseObject({ probe: summarySchema }, ['probe']), ...errorResponses } } }, async (request) => {
        known(request.params.name);
        return { probe: (await probeSummaries(ctx)).find((probe) => probe.name === request.params.name) };
      });

      api.get<{ Params: { name: string }; Querystring: { limit: number; cursor?: string; from?: string; to?: string; outcome?: 'success' | 'failure' } }>(
        '/probes/:name/results',
        {
          schema: {
            tags: ['probes'],
            summary: 'Stored results of one probe, newest first, paged by cursor (raw results are kept 14 days)',
            params: nameParams,
            querystring: { type: 'object', additionalProperties: false, properties: { ...pageQueryProperties, ...timeRangeProperties, outcome: { type: 'string', enum: ['success', 'failure'] } } },
            response: { 200: looseObject({ results: { type: 'array', items: resultSchema }, nextCursor: { type: ['string', 'null'] } }, ['results', 'nextCursor']), ...errorResponses },
          },
        },
        async (request) => {
          const { limit, outcome } = request.query;
          known(request.params.name);
          const cursor = decodeCursor<{ id: number }>(request.query.cursor, ['id']);
          const from = timeParam('from', request.query.from);
          const to = timeParam('to', request.query.to);
          const rows = await selectResultsPage(ctx.db, {
            probe: request.params.name,
            limit: limit + 1,
            ...(from !== undefined ? { from } : {}),
            ...(to !== undefined ? { to } : {}),
            ...(outcome ? { success: outcome === 'success' } : {}),
            ...(cursor ? { beforeId: cursor.id } : {}),
          });
          const page = pageOf(rows, limit, (row) => ({ id: row.id }));
          return { results: page.items.map(({ id: _id, ...result }) => result), nextCursor: page.nextCursor };
        },
      );

      api.get<{ Params: { name: string }; Querystring: { resolution: 'hourly' | 'daily'; days: number } }>(
        '/probes/:name/uptime',
        {
          schema: {
            tags: ['probes'],
            summary: 'Uptime over all locations per hour or per UTC day, up to 90 days back',
            params: nameParams,
            querystring: {
              type: 'object',
              additionalProperties: false,
              properties: { resolution: { type: 'string', enum: ['hourly', 'daily'], default: 'daily' }, days: { type: 'integer', minimum: 1, maximum: 90, default: 90 } },
            },
            response: {
              200: looseObject(
                {
                  resolution: { type: 'string' },
                  uptimeRatio: { type: ['number', 'null'], description: 'over the whole range' },
                  buckets: { type: 'array', items: looseObject({ start: { type: 'string', format: 'date-time' }, checks: { type: 'integer' }, uptimeRatio: { type: ['number', 'null'] } }) },
                },
                ['resolution', 'buckets'],
              ),
              ...errorResponses,
            },
          },
        },
        async (request) => {
          const { resolution, days } = request.query;
          known(request.params.name);
          const size = resolution === 'hourly' ? 3_600_000 : DAY;
          const first = Math.floor((ctx.clock.now() - (days - 1) * DAY) / DAY) * DAY;
          const stored = new Map((await selectUptime(ctx.db, request.params.name, resolution === 'hourly' ? 'hour' : 'day', first)).map((bucket) => [bucket.start, bucket]));
          const buckets = [];
          for (let start = first; start <= ctx.clock.now(); start += size) {
            const bucket = stored.get(start);
            buckets.push({ start: new Date(start).toISOString(), checks: bucket?.checks ?? 0, uptimeRatio: bucket && bucket.checks > 0 ? bucket.successes / bucket.checks : null });
          }
          const checks = [...stored.values()].reduce((sum, bucket) => sum + bucket.checks, 0);
          const successes = [...stored.values()].reduce((sum, bucket) => sum + bucket.successes, 0);
          return { resolution, uptimeRatio: checks > 0 ? successes / checks : null, buckets };
        },
      );

      api.post<{ Body: { probes?: string[]; all?: boolean; match?: Record<string, string>; location?: string } }>(
        '/probes/test',
        {
          schema: {
            tags: ['probes'],
            summary: 'Run probes now in this Vigil and return their results; manual runs are not recorded',
            body: {
              type: 'object',
              additionalProperties: false,
              properties: {
                probes: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 100 },
                all: { type: 'boolean' },
                match: labelsSchema,
                location: { type: 'string', minLength: 1, maxLength: 128 },
              },
            },
            response: { 200: looseObject({ results: { type: 'array', items: resultSchema } }, ['results']), ...errorResponses },
          },
        },
        async (request) => {
          const selected = selectProbes(loadProbes(ctx.config.probes).probes, { ...(request.body.probes ? { names: request.body.probes } : {}), all: request.body.all === true, ...(request.body.match ? { match: request.body.match } : {}) });
          if (selected.length === 0) throw requestError('match', 'no probe has these labels', 404);
          return { results: await runManually(ctx, selected, request.body.location ?? ctx.location) };
        },
      );
    },
    { prefix: ADMIN_API_PREFIX },
  );
}
