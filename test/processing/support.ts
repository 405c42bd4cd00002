import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterEach } from 'vitest';
import type { VigilConfigInput } from '../../app/config.ts';
import { startVigil, type Vigil } from '../../core/lifecycle/start.ts';
import type { Role } from '../../core/lifecycle/module.ts';
import type { Clock } from '../../core/clock.ts';
import { processingConfigSchema } from '../../processing/config.ts';
import { processingModule } from '../../processing/index.ts';
import type { StageContext } from '../../processing/stages/index.ts';
import { Storage } from '../../processing/storage.ts';
import { testConfig, type Backend, type TestStore } from '../support/backends.ts';
import { scanForInternals } from '../support/internals.ts';
import { SMTP_CLOSE_TIMEOUT } from '../support/network.ts';
import { waitFor } from '../support/wait.ts';

/** A real SMTP server on 127.0.0.1 that keeps every parsed message. */
export async function startSmtp(): Promise<{ url: string; messages: ParsedMail[]; close(): Promise<void> }> {
  const messages: ParsedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    closeTimeout: SMTP_CLOSE_TIMEOUT,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          messages.push(mail);
          scanForInternals(`the email "${mail.subject ?? ''}"`, JSON.stringify({ subject: mail.subject, text: mail.text, html: mail.html }));
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as { port: number };
  return { url: `smtp://127.0.0.1:${port}`, messages, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export type TestSmtp = Awaited<ReturnType<typeof startSmtp>>;

/**
 * Each test's SMTP server and store (`smtpAndStore`), and the Vigil it starts on them (`stopAfter`, which passes it
 * through; a test that restarts Vigil hands each one over). After the test Vigil stops, then the server, then the store.
 */
export function smtpStoreAndVigilPerTest(backend: Backend) {
  let smtp: TestSmtp | undefined;
  let store: TestStore | undefined;
  const started: Vigil[] = [];
  afterEach(async () => {
    for (const vigil of started.splice(0)) await vigil.stop();
    await smtp?.close();
    await store?.cleanup();
    [smtp, store] = [undefined, undefined];
  });
  return {
    async smtpAndStore(): Promise<{ smtp: TestSmtp; store: TestStore }> {
      smtp = await startSmtp();
      store = await backend.createStore();
      return { smtp, store };
    },
    stopAfter(vigil: Vigil): Vigil {
      started.push(vigil);
      return vigil;
    },
  };
}

export const ADMIN_TOKEN = 'processing-test-admin-token';
/** A config key with every scope, which the helpers below present. */
export const TEST_KEY = 'vigil-test-key-with-every-scope';
export const withKey = (headers: Record<string, string> = {}, key = TEST_KEY) => ({ ...headers, authorization: `Bearer ${key}` });

export function processingTestConfig(store: TestStore, processing: Record<string, unknown> = {}, overrides: Partial<Record<keyof VigilConfigInput, unknown>> = {}) {
  return testConfig(store, {
    server: { adminToken: ADMIN_TOKEN, ...(overrides.server as object | undefined) },
    processing: {
      storageDir: path.join(store.tempDir, 'storage'),
      pollInterval: '500ms',
      retryDelay: '1s',
      preset: 'ultrafast',
      keys: [{ name: 'test', scopes: ['upload', 'read', 'delete', 'admin'], key: TEST_KEY }],
      // Tests poll many videos at once.
      apiLimits: { perKey: 1_000_000 },
      ...processing,
    },
    ...overrides,
  });
}

export async function startProcessing(config: ReturnType<typeof testConfig>, options: { roles?: Role[]; clock?: Clock } = {}): Promise<Vigil> {
  return startVigil({ config, modules: [processingModule], ...(options.roles ? { roles: options.roles } : {}), ...(options.clock ? { clock: options.clock } : {}) });
}

export interface UploadAnswer {
  status: number;
  body: { id: string; status: string; statusUrl: string; publicStatusUrl: string; error?: { code: string; message: string } };
}

export async function upload(baseUrl: string, file: string | Buffer, fields: Record<string, string> = {}, filename = 'clip.mp4'): Promise<UploadAnswer> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  const bytes = typeof file === 'string' ? await readFile(file) : file;
  form.append('file', new Blob([new Uint8Array(bytes)]), filename);
  const response = await fetch(`${baseUrl}/api/v1/videos`, { method: 'POST', body: form, headers: withKey() });
  return { status: response.status, body: (await response.json()) as UploadAnswer['body'] };
}

export interface VideoView {
  id: string;
  state: 'queued' | 'waiting' | 'processing' | 'published' | 'failed';
  stage: string | null;
  labels: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  checkpoints: Array<{ stage: string; attempt: number; status: string; startedAt: string; finishedAt: string | null; errorClass: string | null; errorCode: string | null }>;
  outputs: Array<{ kind: string; name: string; url: string; bytes: number; durationSeconds?: number }>;
  error: { class: string; code: string; message: string } | null;
  /** The probe stage's input diagnostics (processing/diagnostics.ts). */
  input: { container: string; findings: Array<{ code: string; detail: string }> } & Record<string, unknown>;
  progress: { stage: string; percent: number; speed: number | null; estimatedFinishAt: string | null } | null;
}

/** What admins see: checkpoint details (worker, technical message) and output paths. */
export interface AdminVideoView extends Omit<VideoView, 'checkpoints' | 'outputs'> {
  errorDetail: string | null;
  checkpoints: Array<VideoView['checkpoints'][number] & { workerId: string; message: string | null }>;
  outputs: Array<{ kind: string; name: string; path: string; bytes: number; durationSeconds: number | null }>;
}

export async function getAdminVideo(baseUrl: string, id: string): Promise<AdminVideoView> {
  const response = await fetch(`${baseUrl}/admin/api/v1/videos/${id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  if (response.status !== 200) throw new Error(`GET admin video ${id}: ${response.status} ${await response.text()}`);
  return (await response.json()) as AdminVideoView;
}

export async function getVideo(baseUrl: string, id: string): Promise<VideoView> {
  const response = await fetch(`${baseUrl}/api/v1/videos/${id}`, { headers: withKey() });
  if (response.status !== 200) throw new Error(`GET video ${id}: ${response.status} ${await response.text()}`);
  return (await response.json()) as VideoView;
}

export async function waitForState(baseUrl: string, id: string, states: VideoView['state'][], timeoutMs = 60_000): Promise<VideoView> {
  return waitFor(`video ${id} to reach ${states.join('|')}`, async () => {
    const video = await getVideo(baseUrl, id);
    return states.includes(video.state) ? video : undefined;
  }, timeoutMs, 100);
}

/** What must never reach a user: a path, a memory address, ffmpeg's own output. */
export const USER_TEXT_LEAKS = /\/[\w.-]+\/[\w.-]+|0x[0-9a-f]{4,}|\[[\w,]+ @|ffmpeg|ffprobe|Invalid data found|moov atom|EPERM|EACCES|ENOENT/i;
export const withoutLinks = (text: string): string => text.replace(/https?:\/\/[^\s"'<>]+/g, '');

/** Command lines of running ffmpeg processes that work on `videoId`'s files. */
export const ffmpegFor = (videoId: string): string[] => ffmpegProcessesFor(videoId).map((process) => process.command);

export function ffmpegProcessesFor(videoId: string): Array<{ pid: number; command: string }> {
  const found: Array<{ pid: number; command: string }> = [];
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    const command = (() => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      } catch {
        return '';
      }
    })();
    if (command.includes('ffmpeg') && command.includes(videoId)) found.push({ pid: Number(pid), command });
  }
  return found;
}

/** What the verify stage is handed for a 3 s 320×240 source with audio whose 720p rendition and thumbnail are both `file`. */
export function verifyContext(file: string, dir: string, timeoutMs: number): StageContext {
  return {
    video: { source: { durationSeconds: 3, formatName: 'mp4', width: 320, height: 240, hasAudio: true } } as never,
    attempt: 1,
    outputs: [
      { kind: 'rendition', name: '720p.mp4', path: file, bytes: 1, durationSeconds: null },
      { kind: 'thumbnail', name: 'thumbnail.jpg', path: file, bytes: 1, durationSeconds: null },
    ],
    storage: new Storage(dir),
    config: processingConfigSchema.parse({ storageDir: dir }),
    timeoutMs,
    signal: new AbortController().signal,
    workDir: async () => dir,
    progress: () => {},
  };
}
