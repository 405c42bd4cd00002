// The Statuspage v2 public API, field for field: what status-page clients, aggregators and widgets already read.
// Extras would only ever go in new fields; the shapes of the existing ones are not changed.
import { slugOf } from './define.ts';
import type { ComponentModel, MaintenanceModel, StatusModel } from './model.ts';
import { worstComponentStatus } from './state.ts';
import type { PublicIncident } from './store.ts';
import { indicatorText } from './strings.ts';

const iso = (ms: number) => new Date(ms).toISOString();

export const groupId = (group: string) => `group-${slugOf(group)}`;

export function pageOf(model: StatusModel, updatedAt: number) {
  return { id: model.pageId, name: model.branding.name, url: model.url, time_zone: model.branding.timeZone, updated_at: iso(updatedAt) };
}

function componentJson(model: StatusModel, component: ComponentModel, updatedAt: number) {
  return {
    id: component.id,
    name: component.name,
    status: component.status,
    created_at: iso(model.createdAt),
    updated_at: iso(updatedAt),
    position: component.position,
    description: component.description,
    showcase: !component.onlyShowIfDegraded,
    start_date: null,
    group_id: component.group ? groupId(component.group) : null,
    page_id: model.pageId,
    group: false,
    only_show_if_degraded: component.onlyShowIfDegraded,
  };
}

/** Components as Statuspage lists them: each group is a component too (`group: true`, `components: [ids]`), before its members. */
export function componentsJson(model: StatusModel, updatedAt: number) {
  const out: Array<Record<string, unknown>> = [];
  const groups = new Set<string>();
  for (const component of model.components) {
    if (component.group && !groups.has(component.group)) {
      groups.add(component.group);
      const members = model.components.filter((other) => other.group === component.group);
      out.push({
        id: groupId(component.group),
        name: component.group,
        status: worstComponentStatus(members.map((member) => member.status)),
        created_at: iso(model.createdAt),
        updated_at: iso(updatedAt),
        position: component.position,
        description: null,
        showcase: false,
        start_date: null,
        group_id: null,
        page_id: model.pageId,
        group: true,
        only_show_if_degraded: false,
        components: members.map((member) => member.id),
      });
    }
    out.push(componentJson(model, component, updatedAt));
  }
  return out;
}

function incidentJson(model: StatusModel, incident: PublicIncident, updatedAt: number) {
  const id = String(incident.id);
  return {
    id,
    name: incident.name,
    status: incident.status,
    created_at: iso(incident.createdAt),
    updated_at: iso(incident.updatedAt),
    monitoring_at: incident.monitoringAt === null ? null : iso(incident.monitoringAt),
    resolved_at: incident.resolvedAt === null ? null : iso(incident.resolvedAt),
    impact: incident.impact,
    shortlink: `${model.url}/incidents/${id}`,
    started_at: iso(incident.createdAt),
    page_id: model.pageId,
    incident_updates: incident.updates.map((update) => ({
      id: `${id}-${update.id}`,
      status: update.status,
      body: update.body,
      incident_id: id,
      created_at: iso(update.createdAt),
      updated_at: iso(update.createdAt),
      display_at: iso(update.createdAt),
      affected_components: update.affected.length === 0 ? null : update.affected.map((a) => ({ code: a.code, name: a.name, old_status: a.oldStatus, new_status: a.newStatus })),
      deliver_notifications: true,
      custom_tweet: null,
      tweet_id: null,
    })),
    components: model.components.filter((component) => component.id in incident.components).map((component) => componentJson(model, component, updatedAt)),
    postmortem_body: incident.postmortem,
  };
}

export const maintenanceId = (maintenance: MaintenanceModel) => `m${maintenance.id}`;

function maintenanceJson(model: StatusModel, maintenance: MaintenanceModel, updatedAt: number) {
  const id = maintenanceId(maintenance);
  const at = (status: MaintenanceModel['status']) => maintenance.updates.find((update) => update.status === status)?.at;
  const completed = at('completed') ?? at('cancelled');
  return {
    id,
    name: maintenance.name,
    status: maintenance.status,
    created_at: iso(maintenance.createdAt),
    updated_at: iso(maintenance.updates[0]?.at ?? maintenance.createdAt),
    monitoring_at: null,
    resolved_at: completed === undefined ? null : iso(completed),
    impact: 'maintenance',
    shortlink: `${model.url}/incidents/${id}`,
    started_at: iso(maintenance.startsAt),
    page_id: model.pageId,
    incident_updates: maintenance.updates.map((update, index) => ({
      id: `${id}-${maintenance.updates.length - index}`,
      status: update.status,
      body: update.status === 'scheduled' ? maintenance.body || maintenance.name : `${maintenance.name}: ${update.status.replace('_', ' ')}`,
      incident_id: id,
      created_at: iso(update.at),
      updated_at: iso(update.at),
      display_at: iso(update.at),
      affected_components:
        update.status === 'scheduled' || update.status === 'in_progress'
          ? maintenance.components.map((code) => ({
              code,
              name: model.components.find((component) => component.id === code)?.name ?? code,
              old_status: 'operational',
              new_status: update.status === 'in_progress' ? 'under_maintenance' : 'operational',
            }))
          : null,
      deliver_notifications: true,
      custom_tweet: null,
      tweet_id: null,
    })),
    components: model.components.filter((component) => maintenance.components.includes(component.id)).map((component) => componentJson(model, component, updatedAt)),
    scheduled_for: iso(maintenance.startsAt),
    scheduled_until: iso(maintenance.endsAt),
    time_zone: maintenance.timeZone,
  };
}

const isUnresolved = (incident: PublicIncident) => incident.status !== 'resolved' && incident.status !== 'postmortem';

/** The eight paths under /api/v2/, each a JSON document of the model. */
export function statuspageDocuments(model: StatusModel, updatedAt: number): Record<string, unknown> {
  const page = pageOf(model, updatedAt);
  const status = { indicator: model.indicator, description: indicatorText(model.strings, model.indicator) };
  const components = componentsJson(model, updatedAt);
  const incidents = model.incidents.map((incident) => incidentJson(model, incident, updatedAt));
  const unresolved = model.incidents.filter(isUnresolved).map((incident) => incidentJson(model, incident, updatedAt));
  const maintenances = model.maintenances.map((maintenance) => maintenanceJson(model, maintenance, updatedAt));
  const upcoming = model.maintenances.filter((maintenance) => maintenance.status === 'scheduled').map((maintenance) => maintenanceJson(model, maintenance, updatedAt));
  const active = model.maintenances.filter((maintenance) => maintenance.status === 'in_progress' || maintenance.status === 'verifying').map((maintenance) => maintenanceJson(model, maintenance, updatedAt));
  return {
    '/api/v2/summary.json': { page, components, incidents: unresolved, scheduled_maintenances: [...active, ...upcoming], status },
    '/api/v2/status.json': { page, status },
    '/api/v2/components.json': { page, components },
    '/api/v2/incidents.json': { page, incidents: incidents.slice(0, 50) },
    '/api/v2/incidents/unresolved.json': { page, incidents: unresolved },
    '/api/v2/scheduled-maintenances.json': { page, scheduled_maintenances: maintenances.slice(0, 50) },
    '/api/v2/scheduled-maintenances/upcoming.json': { page, scheduled_maintenances: upcoming },
    '/api/v2/scheduled-maintenances/active.json': { page, scheduled_maintenances: active },
  };
}
