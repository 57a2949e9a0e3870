// The web page's benchmark: the real `birdwatch web` (node dist/cli.js web) on a one-million-decision log (the log
// benchmark's generator), timed from a client over HTTP on loopback: p50/p99 per request of the decisions page and
// API (newest, filtered, deep pages by cursor), the quarantine and stats pages; then thumbnails per second, cold
// (each made by sharp from a 1920x1080 camera JPEG) and cached. `npm run bench` calls benchWeb();
// `node dist/bench/web.js [--rows N] [--thumbs N]` runs it alone.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { cameraImages } from './camera-images.js';
import { generateLog } from './log-queries.js';
import { eachLimited, percentile } from './stats.js';

export interface WebBenchOptions {
  rows?: number;
  /** Camera JPEGs whose thumbnails are timed (default 120). */
  thumbs?: number;
  /** Requests timed per case (default 200). */
  requests?: number;
  cache?: string;
  progress?: (line: string) => void;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = path.join(ROOT, 'dist', 'cli.js');

export async function benchWeb(options: WebBenchOptions = {}): Promise<string> {
  const rows = options.rows ?? 1_000_000;
  const thumbs = options.thumbs ?? 120;
  const requests = options.requests ?? 200;
  const progress = options.progress ?? ((line: string) => process.stderr.write(`bench: ${line}\n`));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'birdwatch-web-bench-'));
  const db = path.join(dir, 'birdwatch.db');
  const blog = path.join(dir, 'blog');
  const airplanes = path.join(dir, 'airplanes');
  fs.mkdirSync(blog);
  fs.mkdirSync(airplanes);
  let server: ReturnType<typeof spawn> | undefined;
  try {
    progress(`web: generating ${rows.toLocaleString('en')} decisions`);
    const now = Date.now();
    generateLog(db, rows, now);
    // Real camera shots for the thumbnails, logged as the newest decisions of camera 'blog'.
    const images = await cameraImages(
      options.cache ?? path.join(ROOT, 'bench-out'),
      [{ width: 1920, height: 1080, count: thumbs }],
      progress,
    );
    const thumbIds = addShots(
      db,
      blog,
      images.map((image) => image.path),
      now,
    );
    const password = 'bench-password';
    const user = spawnSync(process.execPath, [CLI, 'user', 'add', 'bench', '--role', 'viewer', '--db', db], {
      input: `${password}\n`,
      encoding: 'utf8',
    });
    if (user.status !== 0) throw new Error(`user add: ${user.stderr}`);

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    server = spawn(
      process.execPath,
      [CLI, 'web', '--db', db, '--watch', blog, '--airplanes', airplanes, '--listen', `127.0.0.1:${port}`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      let out = '';
      server!.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('listening on')) resolve();
      });
      server!.once('exit', (code) => reject(new Error(`birdwatch web exited (${code}): ${out}`)));
    });
    const login = await fetch(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bench', password }),
    });
    if (login.status !== 200) throw new Error(`login: ${login.status}`);
    const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
    const get = async (url: string): Promise<Response> => {
      const response = await fetch(`${base}${url}`, { headers: { cookie } });
      if (response.status !== 200) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
      return response;
    };
    // A cursor half-way down the log (the 500,000th newest decision of a million).
    const deep = new Database(db, { readonly: true });
    const middle = deep
      .prepare(`SELECT time_ms, id FROM decisions ORDER BY time_ms DESC, id DESC LIMIT 1 OFFSET ?`)
      .get(Math.floor(rows / 2)) as { time_ms: number; id: number };
    deep.close();
    const cursor = `${middle.time_ms}.${middle.id}`;
    const down = `${Math.floor(rows / 2).toLocaleString('en')} rows down`;
    const cases: Array<[string, string, number]> = [
      ['decisions page `/` (newest 50)', '/', requests],
      [`decisions page, ${down} (cursor)`, `/?before=${cursor}`, requests],
      ['decisions page `?camera=pond&action=moved`', '/?camera=pond&action=moved', requests],
      ['quarantine page (48 moved)', '/quarantine', requests],
      ['`GET /api/decisions` (newest 50)', '/api/decisions', requests],
      [`\`GET /api/decisions?before=\` (${down})`, `/api/decisions?before=${cursor}`, requests],
      [
        '`GET /api/decisions?label=bird&min_p=0.4&since=30d`',
        '/api/decisions?label=bird&min_p=0.4&since=30d',
        requests,
      ],
      ['`GET /api/decisions/ID`', `/api/decisions/${middle.id}`, requests],
      ['`GET /api/decisions?path=IMG_0500000` (one file)', '/api/decisions?path=IMG_0500000', Math.min(requests, 20)],
      ['stats page `/stats` (30 days, with charts)', '/stats', Math.min(requests, 50)],
      ['`GET /api/stats?since=7d`', '/api/stats?since=7d', Math.min(requests, 50)],
    ];
    const lines = [
      `Web page on ${rows.toLocaleString('en')} decisions (the real \`birdwatch web\`, requests one at a ` +
        'time from a client on loopback, logged in, after 5 warm-up requests each):',
      '',
      '| request | requests | p50 ms | p99 ms |',
      '|---|---:|---:|---:|',
    ];
    for (const [name, url, count] of cases) {
      progress(`web: ${name}`);
      for (let i = 0; i < 5; i++) await get(url);
      const times: number[] = [];
      for (let i = 0; i < count; i++) {
        const started = performance.now();
        await get(url);
        times.push(performance.now() - started);
      }
      lines.push(`| ${name} | ${count} | ${fmtMs(percentile(times, 50))} | ${fmtMs(percentile(times, 99))} |`);
    }
    // Thumbnails: 4 requests in flight, as a browser loading a page of them.
    progress(`web: ${thumbIds.length} thumbnails cold, then cached`);
    for (const pass of ['cold (made by sharp from 1920x1080 JPEGs)', 'cached']) {
      const started = performance.now();
      await eachLimited(thumbIds, 4, async (id) => {
        const response = await get(`/api/decisions/${id}/thumbnail`);
        if (response.headers.get('cache-control') === 'no-store') throw new Error(`thumbnail ${id}: placeholder`);
      });
      const seconds = (performance.now() - started) / 1000;
      lines.push(
        `| thumbnails, ${pass}, 4 in flight | ${thumbIds.length} | ${(thumbIds.length / seconds).toFixed(1)}/s | |`,
      );
    }
    return lines.join('\n') + '\n';
  } finally {
    server?.kill('SIGTERM');
    if (server && server.exitCode === null) await new Promise((resolve) => server!.once('exit', resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Copies the images into the blog folder and logs each as a kept decision of camera 'blog', newest of all. */
function addShots(file: string, blog: string, images: string[], now: number): number[] {
  const db = new Database(file);
  try {
    const insert = db.prepare(`INSERT INTO decisions (time, time_ms, camera, path, final_path, size, sha256, width,
      height, format, p_airplane, p_bird, label, threshold, action, model_id, provider, latency_ms)
      VALUES (?, ?, 'blog', ?, ?, ?, ?, 1920, 1080, 'jpeg', 0.1, 0.9, 'bird', 0.83, 'kept', 'bench', 'cpu', 20)`);
    return db.transaction(() =>
      images.map((image, i) => {
        const target = path.join(blog, `shot-${i}.jpg`);
        fs.copyFileSync(image, target);
        const bytes = fs.readFileSync(target);
        const timeMs = now + i;
        return Number(
          insert.run(
            new Date(timeMs).toISOString(),
            timeMs,
            target,
            target,
            bytes.length,
            createHash('sha256').update(bytes).digest('hex'),
          ).lastInsertRowid,
        );
      }),
    )();
  } finally {
    db.close();
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function fmtMs(ms: number): string {
  return ms < 10 ? ms.toFixed(2) : ms.toFixed(0);
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const { values } = parseArgs({
    options: { rows: { type: 'string' }, thumbs: { type: 'string' }, requests: { type: 'string' } },
  });
  benchWeb({
    rows: values.rows === undefined ? undefined : Number(values.rows),
    thumbs: values.thumbs === undefined ? undefined : Number(values.thumbs),
    requests: values.requests === undefined ? undefined : Number(values.requests),
  }).then(
    (table) => process.stdout.write(table),
    (err: unknown) => {
      process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
