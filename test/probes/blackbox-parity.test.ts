// Vigil's probe_* series against blackbox_exporter's (Debian prometheus-blackbox-exporter) on the same targets,
// series by series. Prints the table; asserts equal values where both measure the same thing and the same set of
// series apart from the differences listed in KNOWN_DIFFERENCES.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import type dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dns, http, tcp } from '../../app/index.ts';
import { probeMetrics } from '../../probes/metrics.ts';
import { parsePrometheusText, type Sample } from '../support/prometheus.ts';
import { freePort, startDnsServer } from '../support/network.ts';
import { waitFor } from '../support/wait.ts';
import { run } from './support.ts';

const BLACKBOX = '/usr/bin/prometheus-blackbox-exporter';
const BODY = 'x'.repeat(1234);

/** Series one side has and the other has not, with the reason. */
const KNOWN_DIFFERENCES: Record<string, string> = {
  probe_ssl_last_chain_info: 'blackbox only: fingerprint, subject, issuer and SANs as labels',
  probe_ssl_last_chain_expiry_timestamp_seconds: 'without verification (insecure) blackbox reports year 1 (-62135596800); Vigil leaves the series out',
  probe_http_last_modified_timestamp_seconds: 'blackbox only, when the response has Last-Modified',
  probe_failed_due_to_regex: 'blackbox only: Vigil reports assertion failures in probe_failure_info{reason}',
  probe_dns_duration_seconds: 'blackbox only: resolve/connect/request phases of a DNS probe',
  probe_dns_query_succeeded: 'blackbox only: Vigil reports the failure in probe_success and probe_failure_info',
  probe_failure_info: 'Vigil only: the failure category of the last run',
};

/** Series whose values must match exactly (timings only need to be present on both sides). */
const EXACT = new Set([
  'probe_success',
  'probe_http_status_code',
  'probe_http_version',
  'probe_http_content_length',
  'probe_http_uncompressed_body_length',
  'probe_http_redirects',
  'probe_http_ssl',
  'probe_ip_protocol',
  'probe_ip_addr_hash',
  'probe_tls_version_info',
  'probe_ssl_earliest_cert_expiry',
  'probe_dns_answer_rrs',
  'probe_dns_authority_rrs',
  'probe_dns_additional_rrs',
]);

const temp = mkdtempSync(path.join(os.tmpdir(), 'vigil-parity-'));
const servers: Array<Server | dgram.Socket> = [];
let blackbox: ChildProcess | undefined;
let blackboxUrl = '';
const targets: Record<string, string> = {};

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

beforeAll(async () => {
  if (!existsSync(BLACKBOX)) return;
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', path.join(temp, 'key.pem'), '-out', path.join(temp, 'cert.pem')], { stdio: 'ignore' });
  const answer = (request: IncomingMessage, response: ServerResponse) =>
    request.url?.startsWith('/moved')
      ? response.writeHead(302, { location: request.url === '/moved/twice' ? '/moved' : '/' }).end()
      : response.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(BODY.length) }).end(BODY);
  targets.http = `127.0.0.1:${await listen(createHttpServer(answer))}`;
  targets.https = `localhost:${await listen(createHttpsServer({ key: readFileSync(path.join(temp, 'key.pem')), cert: readFileSync(path.join(temp, 'cert.pem')) }, answer))}`;
  targets.closed = `127.0.0.1:${await freePort()}`;
  const dnsServer = await startDnsServer();
  servers.push(dnsServer.socket);
  targets.dns = dnsServer.address;

  writeFileSync(path.join(temp, 'blackbox.yml'), `modules:
  http:
    prober: http
    timeout: 2s
    http: { preferred_ip_protocol: ip4, ip_protocol_fallback: false, tls_config: { insecure_skip_verify: true } }
  tcp_tls:
    prober: tcp
    timeout: 2s
    tcp: { preferred_ip_protocol: ip4, ip_protocol_fallback: false, tls: true, tls_config: { insecure_skip_verify: true } }
  dns:
    prober: dns
    timeout: 2s
    dns: { query_name: www.vigil.test, query_type: A, preferred_ip_protocol: ip4, ip_protocol_fallback: false, transport_protocol: udp }
`);
  const port = await freePort();
  blackboxUrl = `http://127.0.0.1:${port}`;
  blackbox = spawn(BLACKBOX, [`--config.file=${path.join(temp, 'blackbox.yml')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=error'], { stdio: 'ignore' });
  await waitFor('blackbox_exporter', async () => (await fetch(`${blackboxUrl}/-/healthy`)).ok, 20_000, 100);
}, 60_000);

afterAll(() => {
  blackbox?.kill('SIGTERM');
  for (const server of servers) server.close();
  rmSync(temp, { recursive: true, force: true });
});

async function blackboxSeries(module: string, target: string): Promise<Sample[]> {
  const text = await (await fetch(`${blackboxUrl}/probe?module=${module}&target=${encodeURIComponent(target)}`)).text();
  return parsePrometheusText(text).samples;
}

async function vigilSeries(definition: Parameters<typeof run>[0]): Promise<Sample[]> {
  const registry = new Registry();
  const { result, outcome } = await run(definition);
  probeMetrics(registry).observe(result, outcome.failure, outcome.metrics);
  return parsePrometheusText(await registry.metrics()).samples.filter((sample) => sample.name.startsWith('probe_'));
}

/** name{labels other than probe/kind/location} → value. */
function keyed(samples: Sample[]): Map<string, number> {
  return new Map(samples.map((sample) => {
    const labels = Object.entries(sample.labels).filter(([key]) => !['probe', 'kind', 'location'].includes(key)).map(([key, value]) => `${key}="${value}"`);
    return [`${sample.name}${labels.length ? `{${labels.join(',')}}` : ''}`, sample.value];
  }));
}

const family = (key: string) => key.replace(/\{.*$/, '');

describe.skipIf(!existsSync(BLACKBOX))('blackbox_exporter parity of the probe_* series', () => {
  it('reports the same series with the same values on the same targets', async () => {
    const cases = [
      { target: 'http', blackbox: ['http', `http://${targets.http}/`], vigil: http({ name: 'p', url: `http://${targets.http}/` }) },
      { target: 'http, two redirects', blackbox: ['http', `http://${targets.http}/moved/twice`], vigil: http({ name: 'p', url: `http://${targets.http}/moved/twice` }) },
      { target: 'https (self-signed, unverified)', blackbox: ['http', `https://${targets.https}/`], vigil: http({ name: 'p', url: `https://${targets.https}/`, tls: { insecure: true } }) },
      { target: 'http, port closed', blackbox: ['http', `http://${targets.closed}/`], vigil: http({ name: 'p', url: `http://${targets.closed}/` }) },
      { target: 'tcp + TLS', blackbox: ['tcp_tls', targets.https!], vigil: tcp({ name: 'p', host: 'localhost', port: Number(targets.https!.split(':')[1]), tls: true, insecure: true }) },
      { target: 'dns A', blackbox: ['dns', targets.dns!], vigil: dns({ name: 'p', query: 'www.vigil.test', server: targets.dns! }) },
    ];
    const rows: string[] = ['| target | series | blackbox_exporter 0.23 | Vigil | |', '| --- | --- | --- | --- | --- |'];
    const mismatches: string[] = [];
    for (const { target, blackbox: [module, address], vigil } of cases) {
      const theirs = keyed(await blackboxSeries(module!, address!));
      const ours = keyed(await vigilSeries(vigil));
      for (const key of [...new Set([...theirs.keys(), ...ours.keys()])].sort()) {
        const [a, b] = [theirs.get(key), ours.get(key)];
        const known = KNOWN_DIFFERENCES[family(key)];
        const exact = EXACT.has(family(key));
        const same = a !== undefined && b !== undefined && (!exact || a === b);
        const verdict = same ? (exact ? 'same' : 'both (timing)') : known ? `differs: ${known}` : 'MISMATCH';
        if (!same && !known) mismatches.push(`${target}: ${key} blackbox=${a} vigil=${b}`);
        rows.push(`| ${target} | ${key} | ${a ?? '—'} | ${b ?? '—'} | ${verdict} |`);
      }
    }
    console.log(rows.join('\n'));
    expect(mismatches).toEqual([]);
  }, 60_000);
});
