// The web tests' world: the members' world of log-shared.ts (two cameras decided by the real daemon), plus the real
// web server as a child process (`node dist/cli.js web --config ... --listen 127.0.0.1:PORT`), its users added with
// the real `birdwatch user add`, and a small fetch client that keeps a session cookie.
import { createServer } from 'node:net';
import { expect } from 'vitest';
import { DaemonProcess, runCli } from './helpers/daemon.js';
import type { World } from './log-shared.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface WebProcess {
  process: DaemonProcess;
  base: string;
}

export async function startWeb(world: World, extraArgs: string[] = []): Promise<WebProcess> {
  const port = await freePort();
  const web = new DaemonProcess(['web', '--config', world.config, '--listen', `127.0.0.1:${port}`, ...extraArgs]);
  await web.waitForOutput(/listening on http:\/\//);
  return { process: web, base: `http://127.0.0.1:${port}` };
}

export async function addUser(
  world: World,
  name: string,
  role: 'viewer' | 'reviewer',
  password: string,
): Promise<void> {
  const result = await runCli(['user', 'add', name, '--role', role, '--config', world.config], {
    input: `${password}\n`,
  });
  expect(result.code, result.stderr).toBe(0);
}

export interface Session {
  cookie: string;
  csrf: string;
  user: string;
  role: string;
}

export async function login(base: string, username: string, password: string): Promise<Session> {
  const response = await fetch(`${base}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  const body = (await response.json()) as { user: string; role: string; csrf: string };
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith('birdwatch_session='));
  expect(cookie).toBeDefined();
  return { cookie: cookie!.split(';')[0]!, csrf: body.csrf, user: body.user, role: body.role };
}

export interface CallOptions {
  method?: string;
  body?: unknown;
  /** Send the session's CSRF token (default: true when a session is given). */
  csrf?: boolean | string;
}

export async function call(
  base: string,
  path: string,
  session: Session | null,
  options: CallOptions = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (session) headers.cookie = session.cookie;
  const csrf = options.csrf ?? true;
  if (session && csrf !== false) headers['x-csrf-token'] = typeof csrf === 'string' ? csrf : session.csrf;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${base}${path}`, {
    method: options.method ?? 'GET',
    headers,
    redirect: 'manual',
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
}
