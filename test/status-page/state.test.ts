import { describe, expect, it } from 'vitest';
import { componentState, holdElapsed, impactOf, maintenanceStatus, maintenanceTransitions, overallIndicator, worstComponentStatus, type ComponentInputs } from '../../status-page/state.ts';
import { windowText } from '../../status-page/views.ts';

const base: ComponentInputs = { probes: [], firingSeverities: [], incidentStatuses: [], inMaintenance: false };

describe('componentState', () => {
  const cases: Array<[string, Partial<ComponentInputs>, string]> = [
    ['no probes, nothing firing', {}, 'operational'],
    ['probes up', { probes: ['up', 'up'] }, 'operational'],
    ['unknown probes count as nothing', { probes: ['unknown', 'unknown'] }, 'operational'],
    ['one of two down, default quorum all', { probes: ['up', 'down'] }, 'partial_outage'],
    ['all down', { probes: ['down', 'down'] }, 'major_outage'],
    ['quorum 2 of 3 reached', { probes: ['down', 'down', 'up'], quorum: 2 }, 'major_outage'],
    ['quorum 2 of 3 not reached', { probes: ['down', 'up', 'up'], quorum: 2 }, 'partial_outage'],
    ['single probe down', { probes: ['down'] }, 'major_outage'],
    ['warning incident firing', { firingSeverities: ['warning'] }, 'degraded_performance'],
    ['critical incident firing', { firingSeverities: ['critical'] }, 'major_outage'],
    ['warning does not soften a partial outage', { probes: ['up', 'down'], firingSeverities: ['warning'] }, 'partial_outage'],
    ['critical wins over partial', { probes: ['up', 'down'], firingSeverities: ['critical'] }, 'major_outage'],
    ['public incident sets degraded', { incidentStatuses: ['degraded_performance'] }, 'degraded_performance'],
    ['worst public incident wins', { incidentStatuses: ['partial_outage', 'degraded_performance'] }, 'partial_outage'],
    ['maintenance wins over outage', { probes: ['down'], firingSeverities: ['critical'], inMaintenance: true }, 'under_maintenance'],
    ['override wins over maintenance', { inMaintenance: true, override: 'degraded_performance' }, 'degraded_performance'],
    ['override operational hides an outage', { probes: ['down'], override: 'operational' }, 'operational'],
  ];
  it.each(cases)('%s', (_name, inputs, expected) => {
    expect(componentState({ ...base, ...inputs })).toBe(expected);
  });
});

describe('overallIndicator', () => {
  const cases: Array<[string[], string[], string]> = [
    [[], [], 'none'],
    [['operational', 'operational'], [], 'none'],
    [['operational', 'degraded_performance'], [], 'minor'],
    [['partial_outage', 'degraded_performance'], [], 'major'],
    [['major_outage', 'operational'], [], 'critical'],
    [['under_maintenance', 'operational'], [], 'maintenance'],
    [['under_maintenance', 'degraded_performance'], [], 'minor'],
    [['operational'], ['major'], 'major'],
    [['under_maintenance'], ['none'], 'maintenance'],
  ];
  it.each(cases)('%j with incident impacts %j → %s', (components, impacts, expected) => {
    expect(overallIndicator(components as never, impacts as never)).toBe(expected);
  });

  it('impact of an incident follows the worst state it sets', () => {
    expect(impactOf([])).toBe('none');
    expect(impactOf(['degraded_performance'])).toBe('minor');
    expect(impactOf(['major_outage', 'degraded_performance'])).toBe('critical');
    expect(impactOf(['under_maintenance'])).toBe('none');
  });

  it('a group is its worst member; maintenance only when all are', () => {
    expect(worstComponentStatus(['operational', 'partial_outage'])).toBe('partial_outage');
    expect(worstComponentStatus(['under_maintenance', 'degraded_performance'])).toBe('degraded_performance');
    expect(worstComponentStatus(['under_maintenance', 'under_maintenance'])).toBe('under_maintenance');
  });
});

describe('maintenanceStatus', () => {
  const window = { startsAt: 1000, endsAt: 2000, cancelledAt: null };
  const cases: Array<[string, number, number, number | null, string]> = [
    ['before start', 999, 0, null, 'scheduled'],
    ['at start', 1000, 0, null, 'in_progress'],
    ['inside', 1999, 0, null, 'in_progress'],
    ['at end without verification', 2000, 0, null, 'completed'],
    ['at end with verification', 2000, 500, null, 'verifying'],
    ['verification over', 2500, 500, null, 'completed'],
    ['cancelled before start', 1500, 0, 900, 'cancelled'],
  ];
  it.each(cases)('%s', (_name, now, verifyFor, cancelledAt, expected) => {
    expect(maintenanceStatus({ ...window, cancelledAt }, now, verifyFor)).toBe(expected);
  });

  it('lists its transitions in order', () => {
    expect(maintenanceTransitions({ ...window, createdAt: 10 }, 300).map((t) => `${t.status}@${t.at}`)).toEqual(['scheduled@10', 'in_progress@1000', 'verifying@2000', 'completed@2300']);
    expect(maintenanceTransitions({ ...window, cancelledAt: 900, createdAt: 10 }, 300).map((t) => t.status)).toEqual(['scheduled', 'cancelled']);
  });
});

describe('holdElapsed', () => {
  const cases: Array<[string, string, number | null, number, boolean]> = [
    ['monitoring, hold not over', 'monitoring', 1000, 1500, false],
    ['monitoring, hold over', 'monitoring', 1000, 1600, true],
    ['investigating again (relapse)', 'investigating', 1000, 9999, false],
    ['resolved already', 'resolved', 1000, 9999, false],
  ];
  it.each(cases)('%s', (_name, status, monitoringAt, now, expected) => {
    expect(holdElapsed({ status: status as never, monitoringAt }, now, 600)).toBe(expected);
  });
});

describe('windowText', () => {
  it('says the window in the maintenance time zone with its abbreviation and offset', () => {
    expect(windowText(Date.UTC(2026, 11, 5, 21, 0), Date.UTC(2026, 11, 5, 22, 30), 'Europe/Paris')).toBe('Sat, 5 Dec 2026, from 22:00 till 23:30 CET (UTC+1)');
    expect(windowText(Date.UTC(2026, 6, 5, 20, 0), Date.UTC(2026, 6, 5, 21, 0), 'UTC')).toBe('Sun, 5 Jul 2026, from 20:00 till 21:00 UTC');
    expect(windowText(Date.UTC(2026, 11, 5, 23, 0), Date.UTC(2026, 11, 6, 1, 0), 'UTC')).toBe('from Sat, 5 Dec 2026 23:00 till Sun, 6 Dec 2026 01:00 UTC');
  });
});
