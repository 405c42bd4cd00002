import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { alertsModule } from '../../alerts/index.ts';
import { actionLinks } from '../../alerts/links.ts';
import { incidentById, insertIncident } from '../../alerts/store.ts';
import { Secret } from '../../core/config/index.ts';
import { startVigil } from '../../core/lifecycle/start.ts';
import { describeEachBackend, testConfig, vigilPer } from '../support/backends.ts';
import { runVigil } from '../support/cli.ts';
import { parsePrometheusText } from '../support/prometheus.ts';

const TOKEN = 'admin-token-0123456789';

describeEachBackend('alerts administration', (backend) => {
  const perTest = vigilPer('test', backend, (store) => {
    const config = testConfig(store, {
      server: { adminToken: TOKEN },
      smtp: { url: 'smtp://vigil:smtp-password-secret@127.0.0.1:9' },
      alerts: { receivers: { ops: { type: 'email', to: ['ops@example.com'] }, hook: { type: 'webhook', url: 'http://127.0.0.1:9/hook', secret: 'hmac-secret-value' } }, routes: [{ receivers: ['ops', 'hook'] }] },
    });
    return startVigil({ config, roles: ['api', 'alerts'], modules: [alertsModule] });
  });

  const call = async (method: string, url: string, body?: unknown, token: string | null = TOKEN) => {
    const response = await fetch(`${perTest.vigil.url}/admin/api/v1${url}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, text: await response.text() };
  };

  it('silences, maintenance windows and incidents over the admin API, behind the bearer token, with clear 4xx reasons', async () => {
    expect((await call('GET', '/silences', undefined, null)).status).toBe(401);
    expect((await call('GET', '/silences', undefined, 'wrong-token-wrong-token')).status).toBe(401);

    const bad = await call('POST', '/silences', { matchers: { service: 'api' }, author: 'ana' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).error.message).toMatch(/give exactly one of endsAt or duration/);
    const noComment = await call('POST', '/silences', { matchers: { service: 'api' }, duration: '2h', author: 'ana' });
    expect(JSON.parse(noComment.text).error.message).toBe('a silence needs a comment saying why');

    const created = await call('POST', '/silences', { matchers: { service: 'api' }, duration: '2h', author: 'ana', comment: 'deploy' });
    expect(created.status).toBe(201);
    const silence = JSON.parse(created.text).silence;
    expect(silence.endsAt - silence.startsAt).toBe(7_200_000);
    expect(JSON.parse((await call('GET', '/silences')).text).silences).toHaveLength(1);
    expect((await call('POST', `/silences/${silence.id}/expire`, { author: 'ana' })).status).toBe(200);
    expect(JSON.parse((await call('GET', '/silences')).text).silences).toHaveLength(0);
    expect((await call('POST', '/silences/999/expire', { author: 'ana' })).status).toBe(404);

    const start = Date.now() + 86_400_000;
    const maintenance = await call('POST', '/maintenances', { title: 'DB upgrade', matchers: { service: 'db' }, startsAt: new Date(start).toISOString(), duration: '2h', author: 'ana' });
    expect(maintenance.status).toBe(201);
    const listed = JSON.parse((await call('GET', `/maintenances?from=${new Date(start).toISOString()}&to=${new Date(start + 3_600_000).toISOString()}`)).text).maintenances;
    expect(listed.map((m: { title: string }) => m.title)).toEqual(['DB upgrade']);

    expect((await call('POST', '/incidents/1/ack', { author: 'ana' })).status).toBe(404);
    expect((await call('POST', '/incidents/abc/ack', { author: 'ana' })).status).toBe(400);
    expect(JSON.parse((await call('GET', '/incidents')).text)).toEqual({ incidents: [], nextCursor: null });
  });

  it('exposes the alerts metrics and keeps secrets out of every answer and the audit log', async () => {
    const metrics = await (await fetch(`${perTest.vigil.url}/metrics`)).text();
    const { samples } = parsePrometheusText(metrics);
    const names = new Set(samples.map((sample) => sample.name));
    for (const name of ['vigil_alerts_incidents', 'vigil_alerts_outbox_depth', 'vigil_alerts_outbox_oldest_age_seconds']) expect(names).toContain(name);
    expect(samples.filter((sample) => sample.name === 'vigil_alerts_incidents').map((sample) => sample.labels.state).sort()).toEqual(['escalated', 'firing', 'pending', 'resolved']);
    await call('POST', '/silences', { matchers: { service: 'api' }, duration: '1h', author: 'ana', comment: 'x' });
    const everything = [metrics, (await call('GET', '/silences')).text, JSON.stringify(await perTest.vigil.db.query('select * from alerts_audit'))].join('\n');
    for (const secret of [TOKEN, 'smtp-password-secret', 'hmac-secret-value']) expect(everything).not.toContain(secret);
  });

  it('nothing an admin types stops the router: bad matchers refused with the field named; ids out of range are 404 NOT_FOUND; the token is checked before the body', async () => {
    const window = { duration: '1h', author: 'ana', comment: 'x' };
    const invalid = await call('POST', '/silences', { ...window, matchers: { team: '/(/' } });
    expect(invalid.status).toBe(400);
    expect(JSON.parse(invalid.text).error.message).toMatch(/team: \/\(\/ is not a valid regular expression/);
    const everything = await call('POST', '/maintenances', { ...window, title: 'all', matchers: { team: '/.*/' } });
    expect(everything.status).toBe(400);
    expect(JSON.parse(everything.text).error.message).toMatch(/mute nearly everything; to do that on purpose, force it/);
    expect((await call('POST', '/silences', { ...window, matchers: { team: '/.*/' }, force: true })).status).toBe(201);
    const bareNumber = await call('POST', '/silences', { ...window, duration: 5, matchers: { service: 'api' } });
    expect(bareNumber.status).toBe(400);
    expect(JSON.parse(bareNumber.text).error.message).toMatch(/give a unit, like "2h"/);

    for (const [method, url] of [['POST', '/silences/2147483648/expire'], ['POST', '/maintenances/9007199254740993/end'], ['POST', '/incidents/2147483648/ack'], ['POST', '/incidents/4294967296/reset'], ['GET', '/incidents/2147483648/hook-attempts']] as const) {
      const answer = await call(method, url, method === 'GET' ? undefined : { author: 'ana' });
      expect([url, answer.status, JSON.parse(answer.text).error?.code ?? 'none']).toEqual([url, 404, 'NOT_FOUND']);
    }
    expect(JSON.parse((await call('POST', '/silences/999/expire', { author: 'ana' })).text).error.code).toBe('NOT_FOUND');

    const unauthenticated = await fetch(`${perTest.vigil.url}/admin/api/v1/silences`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"not json' });
    expect(unauthenticated.status).toBe(401);
    const lowercase = await fetch(`${perTest.vigil.url}/admin/api/v1/silences`, { headers: { authorization: `bearer ${TOKEN}` } });
    expect(lowercase.status).toBe(200);
  });

  it('acknowledge and silence links: signed and expiring; GET asks, only POST acts, audited', async () => {
    const incident = await insertIncident(perTest.vigil.db, { fingerprint: 'api-down|service=api', rule: 'api-down', labels: { service: 'api' }, summary: 'api down', state: 'firing', flapping: false, now: Date.now() });
    const links = actionLinks(perTest.vigil.url, new Secret(TOKEN), incident.id, Date.now());
    const ack = new URL(links.acknowledge!).pathname;
    const page = await fetch(`${perTest.vigil.url}${ack}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<form method="post"');
    expect((await incidentById(perTest.vigil.db, incident.id))!.ackedBy).toBeNull();
    const done = await fetch(`${perTest.vigil.url}${ack}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    expect([done.status, await done.text()]).toEqual([200, expect.stringContaining('Acknowledged')]);
    expect((await incidentById(perTest.vigil.db, incident.id))!.ackedBy).toBe('notification link');
    const silenced = await fetch(`${perTest.vigil.url}${new URL(links.silence!).pathname}`, { method: 'POST' });
    expect(silenced.status).toBe(200);
    expect(JSON.parse((await call('GET', '/silences')).text).silences).toEqual([expect.objectContaining({ matchers: { service: 'api' }, author: 'notification link' })]);
    expect((await perTest.vigil.db.query<{ action: string }>('select action from alerts_audit order by id')).map((row) => row.action)).toEqual(['incident.ack', 'silence.add']);

    const tampered = ack.replace(/.$/, (last) => (last === 'A' ? 'B' : 'A'));
    expect((await fetch(`${perTest.vigil.url}${tampered}`, { method: 'POST' })).status).toBe(404);
    const expired = new URL(actionLinks(perTest.vigil.url, new Secret(TOKEN), incident.id, Date.now() - 25 * 3_600_000).acknowledge!).pathname;
    expect((await fetch(`${perTest.vigil.url}${expired}`)).status).toBe(410);
    const otherKey = new URL(actionLinks(perTest.vigil.url, new Secret('another-admin-token'), incident.id, Date.now()).acknowledge!).pathname;
    expect((await fetch(`${perTest.vigil.url}${otherKey}`, { method: 'POST' })).status).toBe(404);
  });

  it.runIf(backend.name === 'PostgreSQL')('the CLI adds, lists and expires silences and maintenance windows on the same database', async () => {
    const configFile = path.join(perTest.store.tempDir, 'vigil.config.ts');
    writeFileSync(configFile, `export default { database: { url: ${JSON.stringify(perTest.store.databaseUrl)} } };\n`);
    const vigilCli = (...args: string[]) => runVigil([...args, '--config', configFile]);
    const added = await vigilCli('silence', 'add', '--match', 'service=api', '--duration', '30m', '--author', 'ana', '--comment', 'deploy');
    expect(added.code).toBe(0);
    expect(added.output).toMatch(/^silence #1: service=api from /);
    expect((await vigilCli('silence', 'list')).output).toMatch(/^#1 +service=api +\S+ +\S+ +ana +deploy$/m);
    expect((await vigilCli('silence', 'expire', '1', '--author', 'ana')).code).toBe(0);
    expect((await vigilCli('silence', 'list')).output.trim()).toBe('no silences');
    const wrong = await vigilCli('silence', 'add', '--match', 'service', '--duration', '30m', '--comment', 'x');
    expect(wrong.code).toBe(2);
    expect(wrong.output).toContain('"service" must look like label=value');
    expect((await vigilCli('maintenance', 'add', '--title', 'DB upgrade', '--match', 'service=db', '--duration', '2h', '--author', 'ana')).code).toBe(0);
    expect((await vigilCli('maintenance', 'list')).output).toMatch(/^#1 +DB upgrade +service=db/m);
    expect((await vigilCli('maintenance', 'end', '1')).code).toBe(0);
    expect((await vigilCli('incident', 'list')).output.trim()).toBe('no incidents');
    expect((await vigilCli('incident', 'reset', '7')).output).toContain('no incident #7');
    const invalid = await vigilCli('silence', 'add', '--match', 'team=/(/', '--duration', '1h', '--comment', 'x');
    expect([invalid.code, invalid.output]).toEqual([2, expect.stringMatching(/team: \/\(\/ is not a valid regular expression/)]);
    const everything = await vigilCli('maintenance', 'add', '--title', 'all', '--match', 'team=/.*/', '--duration', '1h');
    expect([everything.code, everything.output]).toEqual([2, expect.stringMatching(/force it/)]);
    // Each command with no Vigil running serves the API from the store in its own process: allow for the starts.
  }, 300_000);
});
