import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alertsModule } from '../../alerts/index.ts';
import { ConfigError } from '../../core/config/index.ts';
import { parseConfig } from '../../app/config.ts';
import { emailReceiver, failureRateRule, http, probeRule, route, slackReceiver } from '../../app/index.ts';

describe('alerts configuration', () => {
  it('names the field that is wrong', () => {
    const error = (() => {
      try {
        parseConfig({
          alerts: {
            rules: [failureRateRule({ name: 'rate', trigger: 0.1, clear: 0.3 }), probeRule({ name: 'rate', probe: 'api' })],
            receivers: { chat: slackReceiver({ channel: '#ops' }) },
            routes: [route({ receivers: ['chat', 'pager'] })],
          },
        });
      } catch (caught) {
        return caught as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const line = (text: string) => `${import.meta.filename}:${text.split('\n').findIndex((row) => row.includes('clear: 0.3')) + 1}`;
    expect(error!.issues).toEqual([
      `alerts.rules.0: ${line(readFileSync(import.meta.filename, 'utf8'))}: clear must not be above trigger`,
      'alerts.routes.0.receivers: unknown receiver "pager" (declare it under alerts.receivers)',
    ]);
    expect(() => parseConfig({ alerts: { rules: [probeRule({ name: 'rate', probe: 'api' }), probeRule({ name: 'rate', probe: 'db' })] } })).toThrow(/alerts\.rules\.1\.name: rule "rate" is declared twice/);
  });

  it('a route or inhibition matcher that is not a valid regular expression is a config error naming the field', () => {
    expect(() => parseConfig({ alerts: { receivers: { chat: slackReceiver({ channel: '#ops' }) }, routes: [route({ match: { team: '/(/' }, receivers: ['chat'] })] } })).toThrow(/alerts\.routes\.0: .*config\.test\.ts:\d+: match\.team: \/\(\/ is not a valid regular expression/);
    expect(() => parseConfig({ alerts: { inhibit: [{ source: { service: '/[/' }, target: { severity: 'warning' } }] } })).toThrow(/alerts\.inhibit\.0\.source\.service/);
  });

  it('`vigil validate` reports email receivers without SMTP and Slack receivers without a token', () => {
    const config = parseConfig({ alerts: { receivers: { ops: emailReceiver({ to: ['ops@example.com'] }), chat: slackReceiver({ channel: '#ops' }) }, routes: [route({ receivers: ['ops', 'chat'] })] } });
    expect(alertsModule.validate!(config)).toEqual([
      'alerts receiver "ops" (routed to): no SMTP server is configured (set SMTP_URL or smtp.url), so this email receiver cannot send',
      'alerts receiver "chat" (routed to): no Slack token is configured (set SLACK_BOT_TOKEN or slack.token), so this Slack receiver cannot post',
    ]);
    expect(alertsModule.validate!(parseConfig({ smtp: { url: 'smtp://127.0.0.1:25' }, slack: { token: 'xoxb-1' }, alerts: { receivers: { ops: emailReceiver({ to: ['ops@example.com'] }) } } }))).toEqual([]);
  });

  it('`vigil validate` reports probe rules naming no configured probe', () => {
    const config = parseConfig({ probes: [http({ name: 'api', url: 'http://127.0.0.1:1/' })], alerts: { rules: [probeRule({ name: 'api-down', probe: 'api' }), probeRule({ name: 'db-down', probe: 'db' })] } });
    expect(alertsModule.validate!(config)).toEqual(['alerts rule "db-down": no probe named "db" in probes']);
  });
});
