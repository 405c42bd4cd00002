// The ceiling of a Node HTTP server: a bare `node:http` server answering the bytes and headers another server gave
// for each path (asked once with Accept-Encoding: gzip), with nothing else per request (no routing, counting, 304 or
// rate limit). Run by bench/status-page.ts as its own process with the launcher's flags; prints its URL.
// Usage: node bench/support/fixed-bytes-server.ts <origin URL> <path>...
import http from 'node:http';

const [origin, ...paths] = process.argv.slice(2);
// Node writes these itself.
const OWN_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

/** One answer as the origin sends it (node:http, unlike fetch, leaves a gzip body as it came). */
function ask(url: string): Promise<{ headers: string[]; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(`${origin}${url}`, { headers: { 'accept-encoding': 'gzip' } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const headers: string[] = [];
          for (let i = 0; i < response.rawHeaders.length; i += 2) {
            if (!OWN_HEADERS.has(response.rawHeaders[i]!.toLowerCase())) headers.push(response.rawHeaders[i]!, response.rawHeaders[i + 1]!);
          }
          resolve({ headers, body: Buffer.concat(chunks) });
        });
      })
      .on('error', reject);
  });
}

const answers = new Map<string, { headers: string[]; body: Buffer }>();
for (const url of paths) answers.set(url, await ask(url));

const server = http.createServer((request, response) => {
  const answer = answers.get(request.url ?? '/');
  if (!answer) {
    response.writeHead(404, ['content-length', '0']);
    response.end();
    return;
  }
  response.writeHead(200, answer.headers);
  response.end(answer.body);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  console.log(`http://127.0.0.1:${address.port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
