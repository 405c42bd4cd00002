import { Feed } from 'feed';
import type { StatusModel } from './model.ts';
import { maintenanceId } from './statuspage-api.ts';
import { incidentText, maintenanceText } from './strings.ts';

interface Entry {
  id: string;
  title: string;
  link: string;
  date: number;
  text: string;
  components: string[];
}

function entriesOf(model: StatusModel): Entry[] {
  const incidents = model.incidents.map((incident) => ({
    id: `${model.url}/incidents/${incident.id}`,
    title: `${incident.name} (${incidentText(model.strings, incident.status)})`,
    link: `${model.url}/incidents/${incident.id}`,
    date: incident.updatedAt,
    text: incident.updates.map((update) => `${incidentText(model.strings, update.status)}: ${update.body}`).join('\n\n'),
    components: Object.keys(incident.components),
  }));
  const maintenances = model.maintenances.map((maintenance) => ({
    id: `${model.url}/incidents/${maintenanceId(maintenance)}`,
    title: `${maintenance.name} (${maintenanceText(model.strings, maintenance.status)})`,
    link: `${model.url}/incidents/${maintenanceId(maintenance)}`,
    date: maintenance.updates[0]?.at ?? maintenance.createdAt,
    text: `${new Date(maintenance.startsAt).toISOString()} – ${new Date(maintenance.endsAt).toISOString()}${maintenance.body ? `\n\n${maintenance.body}` : ''}`,
    components: maintenance.components,
  }));
  return [...incidents, ...maintenances].sort((a, b) => b.date - a.date).slice(0, 50);
}

/** Atom and RSS of the incidents and maintenances (all, or one component's); the `feed` package writes the XML. */
export function feedsOf(model: StatusModel, updatedAt: number, componentId?: string): { atom: string; rss: string } {
  const component = componentId ? model.components.find((candidate) => candidate.id === componentId) : undefined;
  const base = component ? `${model.url}/components/${component.id}` : model.url;
  const feed = new Feed({
    id: `${base}/history.atom`,
    title: component ? `${model.branding.name}: ${component.name}` : `${model.branding.name} ${model.strings.history}`,
    link: `${model.url}/`,
    updated: new Date(updatedAt),
    generator: 'Vigil',
    language: 'en',
    feedLinks: { atom: `${base}/history.atom`, ...(component ? {} : { rss: `${model.url}/history.rss` }) },
  });
  for (const entry of entriesOf(model).filter((candidate) => !component || candidate.components.includes(component.id))) {
    feed.addItem({ id: entry.id, title: entry.title, link: entry.link, date: new Date(entry.date), description: entry.text });
  }
  return { atom: feed.atom1(), rss: feed.rss2() };
}
