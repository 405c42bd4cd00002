import { describe, expect, it } from 'vitest';
import { loadComponents } from '../../status-page/define.ts';
import * as fixtures from './fixtures/components.config.ts';

describe('component()', () => {
  it('keeps a valid component with an id derived from its name and the call site', () => {
    expect(fixtures.good).toMatchObject({ valid: true, id: 'video-uploads', name: 'Video uploads', group: 'Video', show: 'always' });
    expect(fixtures.good.source).toMatch(/components\.config\.ts:4$/);
  });

  it('names the file, line and field of each mistake', () => {
    const { components, problems } = loadComponents(Object.values(fixtures), { probes: new Set(['upload-probe', 'player-probe', 'a']), rules: new Set() });
    expect(components.map((component) => component.id)).toEqual(['video-uploads']);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/components\.config\.ts:5: component "Player": show: .*always.*if-degraded/),
        expect.stringMatching(/components\.config\.ts:6: component "Nothing": from: name at least one probe or rule/),
        expect.stringMatching(/components\.config\.ts:7: component "Quorum": quorum: 2 is more than the 1 probe\(s\)/),
        expect.stringMatching(/components\.config\.ts:8: component "Unknown": from\.probes: no probe named "nope" in probes; from\.rules: no rule named "no-rule"/),
        expect.stringMatching(/components\.config\.ts:9: component "Video Uploads!": id: "video-uploads" is already used by the component at .*components\.config\.ts:4/),
      ]),
    );
    expect(problems).toHaveLength(5);
  });

  it('reports entries not made by component()', () => {
    expect(loadComponents([{ name: 'raw' }], { probes: new Set(), rules: new Set() }).problems).toEqual(['statusPage.components[0]: not a component; build each entry with component({ ... })']);
  });
});
