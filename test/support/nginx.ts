import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './cli.ts';
import { waitFor } from './wait.ts';

export interface Nginx {
  url: string;
  /** The worker's pid (the one that serves; the bench reads its CPU time). */
  workerPid(): number;
  stop(): Promise<void>;
}

/** Debian's nginx, one worker, serving `root` with the status page's nginx.conf.template on 127.0.0.1:`port`. */
export async function startNginx(root: string, port: number, options: { cpu?: string } = {}): Promise<Nginx> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-nginx-'));
  const template = readFileSync(path.join(REPO_ROOT, 'status-page/static/nginx.conf.template'), 'utf8');
  const conf = [
    `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;`,
    // Root runs the test: the worker keeps root so it can read the test's private temp directories.
    process.getuid?.() === 0 ? 'user root;' : '',
    template.replaceAll('{{LISTEN}}', `127.0.0.1:${port}`).replaceAll('{{ROOT}}', root),
  ].join('\n');
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const args = ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')];
  const child: ChildProcess = options.cpu ? spawn('taskset', ['-c', options.cpu, 'nginx', ...args], { stdio: 'ignore' }) : spawn('nginx', args, { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('nginx to answer', () => fetch(`${url}/`).then(() => true, () => false), 15_000);
  return {
    url,
    workerPid() {
      const master = Number(readFileSync(path.join(dir, 'nginx.pid'), 'utf8'));
      const children = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).map(Number);
      return children[0]!;
    },
    async stop() {
      child.kill('SIGQUIT');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
