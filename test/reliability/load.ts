// Load runs shared by the default suite (a smaller burst) and the stress run (10,000 at once, then a steady rate for
// several minutes): real CIFAR JPEGs, the real daemon, figures printed (never timed assertions).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { listTree, LogReader, sleep, startDaemon, tempDir, waitFor, type Daemon } from './harness.js';
import { rawRealImages, realImagePaths, sha256, type RealImage } from './images.js';
import sharp from 'sharp';

/** A warm-up shot whose bytes are in no pool (re-encoded at 48 px). */
async function probeImage(): Promise<Buffer> {
  return sharp(realImagePaths('bird')[0]!).resize(48, 48).jpeg({ quality: 77 }).toBuffer();
}

export interface LoadFigures {
  mode: 'burst' | 'steady';
  files: number;
  decided: number;
  moved: number;
  kept: number;
  failed: number;
  /** wall seconds from the first file in place to the last decision logged */
  seconds: number;
  throughput: number;
  peakRssMiB: number;
  maxOpenFds: number;
  emfile: boolean;
  lost: number;
  duplicates: number;
  rowsNotOne: number;
  startupSeconds: number;
  /** daemon CPU seconds (user+system) spent on the measured files, and per file in ms */
  cpuSeconds: number;
  cpuMsPerFile: number;
  /** 1-minute load average when the run ended (2 cores, shared with other developers' jobs) */
  loadAverage: number;
  latencyP50Ms?: number;
  latencyP99Ms?: number;
  latencyMaxMs?: number;
  ratePerSecond?: number;
  subfolders?: number;
  /** steady runs: per minute, files decided, p99 latency and daemon CPU ms per file (does the cost grow with the
   *  folder?) */
  windows?: { minute: number; files: number; p99Ms: number; cpuMsPerFile: number }[];
}

async function pool(n: number): Promise<RealImage[]> {
  const half = Math.ceil(n / 2);
  const a = await rawRealImages('airplane', half);
  const b = await rawRealImages('bird', n - a.length);
  const all: RealImage[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i]) all.push(a[i]!);
    if (b[i]) all.push(b[i]!);
  }
  return all.slice(0, n);
}

async function sampler(d: Daemon, stop: { done: boolean }, acc: { fds: number }): Promise<void> {
  while (!stop.done && d.alive) {
    acc.fds = Math.max(acc.fds, d.openFds());
    await sleep(200);
  }
}

function check(images: RealImage[], watch: string, airplanes: string, log: LogReader) {
  const rows = log.rows();
  const perSha = new Map<string, number>();
  for (const r of rows) perSha.set(r.sha256 ?? '', (perSha.get(r.sha256 ?? '') ?? 0) + 1);
  const present = new Map<string, number>();
  for (const [base, files] of [
    [watch, listTree(watch)],
    [airplanes, listTree(airplanes)],
  ] as const) {
    for (const f of files) {
      const h = sha256(readFileSync(join(base, f)));
      present.set(h, (present.get(h) ?? 0) + 1);
    }
  }
  return {
    rows,
    lost: images.filter((i) => !present.has(i.sha256)).length,
    duplicates: [...present.values()].filter((n) => n > 1).length,
    rowsNotOne: images.filter((i) => perSha.get(i.sha256) !== 1).length,
  };
}

// Ready = a probe file decided (a decision proves the model is loaded and the watcher running).
// Every load run caps the daemon at 128 open files: a daemon that held one descriptor per queued file would hit
// EMFILE within the first hundred files of a burst.
type Checked = ReturnType<typeof check>;

/** The figures every run reports, from its decision rows, the folder check and the daemon's measurements. */
function figures(
  mode: LoadFigures['mode'],
  rows: Checked['rows'],
  c: Checked,
  m: {
    n: number;
    t0: number;
    tEnd: number;
    peakKiB: number;
    maxOpenFds: number;
    output: string;
    alive: boolean;
    startupSeconds: number;
    cpu: number;
  },
): LoadFigures {
  const { n, t0, tEnd, cpu } = m;
  return {
    mode,
    files: n,
    decided: rows.filter((r) => r.action !== 'failed').length,
    moved: rows.filter((r) => r.action === 'moved').length,
    kept: rows.filter((r) => r.action === 'kept').length,
    failed: rows.filter((r) => r.action === 'failed').length,
    seconds: (tEnd - t0) / 1000,
    throughput: n / ((tEnd - t0) / 1000),
    peakRssMiB: m.peakKiB / 1024,
    maxOpenFds: m.maxOpenFds,
    emfile: /EMFILE|too many open files/i.test(m.output),
    lost: c.lost,
    duplicates: c.duplicates,
    rowsNotOne: c.rowsNotOne + (m.alive ? 0 : 1_000_000),
    startupSeconds: m.startupSeconds,
    cpuSeconds: cpu,
    cpuMsPerFile: (cpu * 1000) / n,
    loadAverage: loadavg()[0]!,
  };
}

/** Ends a burst run once every file is logged: stops the daemon, checks folders and log, returns the figures. */
async function finishBurst(
  d: Daemon,
  log: LogReader,
  images: RealImage[],
  watch: string,
  airplanes: string,
  run: { n: number; t0: number; cpu0: number; startupSeconds: number; maxOpenFds: number },
): Promise<LoadFigures> {
  const tEnd = Math.max(...log.query<{ t: number }>('SELECT max(time_ms) AS t FROM decisions').map((r) => r.t));
  const peak = d.peakRssKiB();
  const cpu = d.cpuSeconds() - run.cpu0;
  const alive = d.alive;
  await d.stopGracefully();
  const c = check(images, watch, airplanes, log);
  log.close();
  const rows = c.rows.filter((r) => !r.path.endsWith('probe.jpg'));
  return figures('burst', rows, c, { ...run, tEnd, peakKiB: peak, output: d.output, alive, cpu });
}

export const MAX_OPEN_FILES = 128;
async function startAndWait(
  watch: string,
  airplanes: string,
  db: string,
  _log: LogReader,
  config: Record<string, unknown>,
) {
  return { d: startDaemon({ watch, airplanes, db, config, maxOpenFiles: MAX_OPEN_FILES }), t: Date.now() };
}

/** n files renamed into the (running, idle) daemon's folder at once. */
/**
 * n files renamed into the (running, idle) daemon's folder at once; with `subfolders` > 1 they are spread over that
 * many subfolders created beforehand (a camera's day folders), else all land in the watched folder itself.
 */
export async function runBurst(n: number, config: Record<string, unknown> = {}, subfolders = 1): Promise<LoadFigures> {
  const images = await pool(n);
  const root = tempDir('bw-burst-');
  const watch = join(root, 'blog');
  const airplanes = join(root, 'airplanes');
  const staging = join(root, 'staging');
  for (const dir of [watch, airplanes, staging]) mkdirSync(dir);
  const sub = (i: number) => (subfolders > 1 ? `day-${String(i % subfolders).padStart(3, '0')}` : '');
  for (let i = 0; i < subfolders && subfolders > 1; i++) mkdirSync(join(watch, sub(i)));
  for (const img of images) writeFileSync(join(staging, img.name), img.bytes);
  const db = join(root, 'birdwatch.db');
  const log = new LogReader(db);
  const { d, t } = await startAndWait(watch, airplanes, db, log, { logLevel: 'warn', ...config });
  // Warm-up probe: one extra file, so the burst hits a daemon that is up (model loaded, watcher ready).
  writeFileSync(join(watch, 'probe.jpg'), await probeImage());
  await waitFor(
    () => log.count() >= 1 || !d.alive,
    120_000,
    () => `the probe decided: ${d.tail()}`,
    100,
  );
  const startupSeconds = (Date.now() - t) / 1000;
  const stop = { done: false };
  const acc = { fds: 0 };
  const sampling = sampler(d, stop, acc);
  const cpu0 = d.cpuSeconds();
  const t0 = Date.now();
  images.forEach((img, i) => renameSync(join(staging, img.name), join(watch, sub(i), img.name)));
  try {
    await waitFor(
      () => log.count() >= n + 1 || !d.alive,
      Math.max(120_000, n * 300),
      () => `${n} decisions (have ${log.count() - 1}): ${d.tail()}`,
      250,
    );
  } finally {
    stop.done = true;
    await sampling;
  }
  return {
    ...(await finishBurst(d, log, images, watch, airplanes, { n, t0, cpu0, startupSeconds, maxOpenFds: acc.fds })),
    subfolders,
  };
}

/** Files written (complete, in place, 2 chunks) at a steady rate for `seconds`; latency = row time - last write. */
export async function runSteady(
  rate: number,
  seconds: number,
  config: Record<string, unknown> = {},
): Promise<LoadFigures> {
  const n = Math.round(rate * seconds);
  const images = await pool(n);
  const root = tempDir('bw-steady-');
  const watch = join(root, 'blog');
  const airplanes = join(root, 'airplanes');
  mkdirSync(watch);
  mkdirSync(airplanes);
  const db = join(root, 'birdwatch.db');
  const log = new LogReader(db);
  const { d, t } = await startAndWait(watch, airplanes, db, log, { logLevel: 'warn', ...config });
  writeFileSync(join(watch, 'probe.jpg'), await probeImage());
  await waitFor(
    () => log.count() >= 1 || !d.alive,
    120_000,
    () => `the probe decided: ${d.tail()}`,
    100,
  );
  const startupSeconds = (Date.now() - t) / 1000;
  const stop = { done: false };
  const acc = { fds: 0 };
  const sampling = sampler(d, stop, acc);
  const written = new Map<string, number>();
  const cpuMarks: number[] = [];
  const cpu0 = d.cpuSeconds();
  const t0 = Date.now();
  try {
    for (let i = 0; i < n; i++) {
      const due = t0 + (i * 1000) / rate;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      if (i % Math.round(rate * 60) === 0) cpuMarks.push(d.cpuSeconds());
      const img = images[i]!;
      writeFileSync(join(watch, img.name), img.bytes);
      written.set(join(watch, img.name), Date.now());
    }
    await waitFor(
      () => log.count() >= n + 1 || !d.alive,
      120_000,
      () => `${n} decisions (have ${log.count() - 1}): ${d.tail()}`,
      250,
    );
  } finally {
    stop.done = true;
    await sampling;
  }
  const peak = d.peakRssKiB();
  const cpu = d.cpuSeconds() - cpu0;
  cpuMarks.push(d.cpuSeconds());
  const alive = d.alive;
  await d.stopGracefully();
  const c = check(images, watch, airplanes, log);
  log.close();
  const rows = c.rows.filter((r) => !r.path.endsWith('probe.jpg'));
  const windows: NonNullable<LoadFigures['windows']> = [];
  for (let k = 0; k + 1 < cpuMarks.length; k++) {
    const inWindow = rows.filter((r) => Math.floor(((written.get(r.path) ?? t0) - t0) / 60_000) === k);
    const l = inWindow.map((r) => r.time_ms - (written.get(r.path) ?? r.time_ms)).sort((a, b) => a - b);
    windows.push({
      minute: k + 1,
      files: inWindow.length,
      p99Ms: l[Math.floor(0.99 * (l.length - 1))] ?? NaN,
      cpuMsPerFile: ((cpuMarks[k + 1]! - cpuMarks[k]!) * 1000) / Math.max(1, inWindow.length),
    });
  }
  const lat = rows.map((r) => r.time_ms - (written.get(r.path) ?? r.time_ms)).sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  const tEnd = Math.max(...rows.map((r) => r.time_ms));
  return {
    ...figures('steady', rows, c, {
      n,
      t0,
      tEnd,
      peakKiB: peak,
      maxOpenFds: acc.fds,
      output: d.output,
      alive,
      startupSeconds,
      cpu,
    }),
    latencyP50Ms: q(0.5),
    latencyP99Ms: q(0.99),
    latencyMaxMs: lat[lat.length - 1],
    ratePerSecond: rate,
    windows,
  };
}

export function formatFigures(f: LoadFigures): string {
  const folders = f.subfolders && f.subfolders > 1 ? ` (${f.subfolders} subfolders)` : ' (one folder)';
  return (
    `[figures] load ${f.mode}${folders}: files=${f.files} decided=${f.decided} ` +
    `(moved ${f.moved}, kept ${f.kept}, failed ${f.failed}) ` +
    `seconds=${f.seconds.toFixed(1)} throughput=${f.throughput.toFixed(1)}/s peak_rss=${f.peakRssMiB.toFixed(0)}MiB ` +
    `max_open_fds=${f.maxOpenFds}/${MAX_OPEN_FILES} emfile=${f.emfile} lost=${f.lost} duplicates=${f.duplicates} ` +
    `rows_not_one=${f.rowsNotOne} ` +
    `startup=${f.startupSeconds.toFixed(1)}s daemon_cpu=${f.cpuSeconds.toFixed(1)}s ` +
    `(${f.cpuMsPerFile.toFixed(2)} ms/file) ` +
    `loadavg=${f.loadAverage.toFixed(1)}` +
    (f.mode === 'steady'
      ? ` rate=${f.ratePerSecond}/s latency_p50=${f.latencyP50Ms}ms p99=${f.latencyP99Ms}ms max=${f.latencyMaxMs}ms`
      : '') +
    (f.windows?.length
      ? `\n  per minute: ${f.windows
          .map((w) => `[${w.minute}] ${w.files} files p99 ${w.p99Ms}ms cpu ${w.cpuMsPerFile.toFixed(1)}ms/file`)
          .join('; ')}`
      : '')
  );
}

/**
 * The kernel's inotify queue overflowing: the daemon is SIGSTOPped while n files are written in place (two events
 * each, more than fs.inotify.max_queued_events = 16384 holds), then SIGCONTed. Events past the queue are dropped
 * silently (libuv does not report IN_Q_OVERFLOW), so those files can only be found by the safety rescan, which runs
 * every `rescanMs` here. Returns the figures plus how many files the watcher had reported before the first rescan.
 */
export async function runOverflow(
  n: number,
  rescanMs: number,
): Promise<LoadFigures & { beforeRescan: number; queueMax: number }> {
  const images = await pool(n);
  const root = tempDir('bw-overflow-');
  const watch = join(root, 'blog');
  const airplanes = join(root, 'airplanes');
  mkdirSync(watch);
  mkdirSync(airplanes);
  const db = join(root, 'birdwatch.db');
  const log = new LogReader(db);
  const { d, t } = await startAndWait(watch, airplanes, db, log, { logLevel: 'debug', rescanIntervalMs: rescanMs });
  writeFileSync(join(watch, 'probe.jpg'), await probeImage());
  await waitFor(
    () => log.count() >= 1 || !d.alive,
    120_000,
    () => `the probe decided: ${d.tail()}`,
    100,
  );
  const startupSeconds = (Date.now() - t) / 1000;
  let rescans = 0;
  d.child.stdout!.on('data', (b: Buffer) => {
    rescans += (b.toString().match(/rescan done/g) ?? []).length;
  });
  d.child.kill('SIGSTOP');
  const t0 = Date.now();
  try {
    for (const img of images) writeFileSync(join(watch, img.name), img.bytes);
  } finally {
    d.child.kill('SIGCONT');
  }
  const cpu0 = d.cpuSeconds();
  // Phase 1: what the watcher reported: decisions until they stop growing for 5 s (before the first rescan).
  let beforeRescan = -1;
  let last = -1;
  let stableSince = Date.now();
  await waitFor(
    () => {
      const now = log.count() - 1;
      if (now !== last) {
        last = now;
        stableSince = Date.now();
      }
      if (rescans > 0) return true; // too late: the rescan already ran
      if (Date.now() - stableSince >= 5_000) {
        beforeRescan = now;
        return true;
      }
      return !d.alive;
    },
    rescanMs + 60_000,
    () => `decisions to settle: ${d.tail()}`,
    500,
  );
  // Phase 2: the safety rescan finds the rest.
  await waitFor(
    () => log.count() >= n + 1 || !d.alive,
    Math.max(120_000, n * 300) + rescanMs,
    () => `${n} decisions (have ${log.count() - 1}): ${d.tail()}`,
    250,
  );
  return {
    ...(await finishBurst(d, log, images, watch, airplanes, { n, t0, cpu0, startupSeconds, maxOpenFds: -1 })),
    beforeRescan,
    queueMax: Number(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8')),
  };
}

/**
 * Leak check for a long-running daemon: `waves` waves of `perWave` files, each moved out (threshold 0, so the
 * watched tree stays empty and nothing legitimately accumulates); the live heap after a forced GC is read after each
 * wave through test/reliability/heap-probe.mjs. Returns heapUsed (KiB) and RSS (MiB) per wave.
 */
export async function runLeakCheck(
  waves: number,
  perWave: number,
): Promise<{ decided: number; heapKiB: number; rssMiB: number }[]> {
  const images = await pool(waves * perWave);
  const root = tempDir('bw-leak-');
  const watch = join(root, 'blog');
  const airplanes = join(root, 'airplanes');
  const staging = join(root, 'staging');
  for (const dir of [watch, airplanes, staging]) mkdirSync(dir);
  const db = join(root, 'birdwatch.db');
  const probe = join(root, 'heap.json');
  const log = new LogReader(db);
  const d = startDaemon({
    watch,
    airplanes,
    db,
    config: { logLevel: 'warn', threshold: 0 },
    maxOpenFiles: MAX_OPEN_FILES,
    nodeArgs: ['--expose-gc', '--import', join(import.meta.dirname, 'heap-probe.mjs')],
    env: { BW_HEAP_PROBE: probe },
  });
  const out: { decided: number; heapKiB: number; rssMiB: number }[] = [];
  try {
    for (let w = 0; w < waves; w++) {
      const wave = images.slice(w * perWave, (w + 1) * perWave);
      for (const img of wave) writeFileSync(join(staging, img.name), img.bytes);
      for (const img of wave) renameSync(join(staging, img.name), join(watch, img.name));
      await waitFor(
        () => log.count() >= (w + 1) * perWave || !d.alive,
        600_000,
        () => `wave ${w + 1}: ${d.tail()}`,
        250,
      );
      await sleep(5_000); // two probe rounds: a GC after the wave settled
      const m = JSON.parse(readFileSync(probe, 'utf8')) as { heapUsed: number; rss: number };
      out.push({
        decided: (w + 1) * perWave,
        heapKiB: Math.round(m.heapUsed / 1024),
        rssMiB: Math.round(m.rss / 1048576),
      });
    }
    if (!d.alive) throw new Error(`daemon died: ${d.tail()}`);
    const moved = log.count("action = 'moved'");
    if (moved !== waves * perWave) throw new Error(`expected ${waves * perWave} moved, got ${moved}`);
  } finally {
    await d.stopGracefully();
    log.close();
  }
  return out;
}
