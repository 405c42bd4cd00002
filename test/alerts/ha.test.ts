import path from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeEachBackend, type TestStore } from '../support/backends.ts';
import { spawnNode, type RunningProcess } from '../support/cli.ts';
import { waitFor } from '../support/wait.ts';
import { startSlackDouble } from './support.ts';

const NODE = path.join(import.meta.dirname, 'fixtures/ha-node.ts');

describeEachBackend('alerts high availability', (backend) => {
  let store: TestStore;
  let slack: Awaited<ReturnType<typeof startSlackDouble>>;
  const nodes: RunningProcess[] = [];

  beforeEach(async () => {
    store = await backend.createStore();
    slack = await startSlackDouble();
  });

  afterEach(async () => {
    for (const node of nodes.splice(0)) node.child.kill('SIGKILL');
    await slack.close();
    await store.cleanup();
  });

  it.runIf(backend.name === 'PostgreSQL')('two processes: one evaluates and sends; kill it mid-incident and the other finishes with no duplicate', async () => {
    const client = new pg.Client({ connectionString: store.databaseUrl });
    await client.connect();
    try {
      const start = (holder: string) => {
        const node = spawnNode(NODE, [holder], { DATABASE_URL: store.databaseUrl, SLACK_API_URL: slack.url });
        nodes.push(node);
        return node;
      };
      const a = start('node-a');
      await waitFor('node-a ready', () => a.output().includes('"ready"'), 30_000);
      const b = start('node-b');
      await waitFor('node-b ready', () => b.output().includes('"ready"'), 30_000);
      const leader = async () => (await client.query<{ holder: string }>(`select holder from alerts_leader where expires_at > now()`)).rows[0]?.holder;
      const first = await waitFor('a leader', leader);
      const [active, standby] = first === 'node-a' ? [a, b] : [b, a];
      const standbyName = first === 'node-a' ? 'node-b' : 'node-a';

      await client.query('insert into ha_signal (active) values (true)');
      await waitFor('the WARNING post', () => slack.calls.length === 1, 15_000);
      expect(slack.calls[0]!.method).toBe('chat.postMessage');

      // Kill the active process without a chance to hand over, then clear the incident.
      active.child.kill('SIGKILL');
      await active.exited;
      await client.query('update ha_signal set active = false');
      // The takeover bound: the lease TTL (1.5 s) plus a few evaluation and delivery intervals.
      await waitFor('the UP reply from the standby within the takeover bound', () => slack.calls.length === 3, 1500 + 3000);
      expect(await leader()).toBe(standbyName);
      expect(slack.calls.map((call) => call.method)).toEqual(['chat.postMessage', 'chat.update', 'chat.postMessage']);
      expect(slack.calls[2]!.args.thread_ts).toBe(slack.calls[0] && '1000.000100');

      const rows = await waitFor('every notification settled', async () => {
        const settled = await client.query<{ key: string; status: string }>('select key, status from alerts_notifications order by id');
        return settled.rows.every((row) => row.status !== 'pending') && settled.rows.length === 2 && settled;
      });
      expect(slack.calls).toHaveLength(3);
      expect(rows.rows).toEqual([
        { key: '1:chat:warning', status: 'delivered' },
        { key: '1:chat:up', status: 'delivered' },
      ]);
      expect(standby.output()).not.toContain('"level":50');
    } finally {
      await client.end();
    }
  });
});
