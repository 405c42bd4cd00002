import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.ts';
import { loadProbes } from '../../probes/loader.ts';

const REPO = path.join(import.meta.dirname, 'fixtures/repo');

describe('probes as code in a repository of probe files', () => {
  it('collects probe files by glob and runs each against every environment, keeping file:line in errors', async () => {
    const config = await loadConfig(path.join(REPO, 'vigil.config.ts'), {});
    const { probes, problems } = loadProbes(config.probes);
    expect(probes.map(({ definition }) => [definition.name, definition.labels.environment, (definition.options as { url: string }).url])).toEqual([
      ['api-production', 'production', 'https://videos.example.com/healthz'],
      ['api-beta', 'beta', 'https://beta.videos.example.com/healthz'],
      ['api-staging', 'staging', 'https://staging.videos.example.com/healthz'],
    ]);
    expect(probes[0]!.definition.source).toBe(`${path.join(REPO, 'probes/api.probe.ts')}:4`);
    expect(problems).toEqual([expect.stringMatching(new RegExp(`^${path.join(REPO, 'probes/nested/broken.probe.ts')}:3: tcp probe "database": port: `))]);
  });
});
