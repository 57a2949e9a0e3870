// `birdwatch classify` through the real compiled CLI (node dist/cli.js) as a child process.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as img from './fixtures/images.js';
import { NOBODY, NOBODY_MISSING, NOBODY_REPO, runCli } from './helpers/daemon.js';
import { needs } from './helpers/preconditions.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli.js');
const FIXTURES = [...img.FIXTURE_AIRPLANES, ...img.FIXTURE_BIRDS];
const EXPECTED = (file: string) => (file.includes('airplane-') ? 'airplane' : 'bird');
let dir: string;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function classify(args: string[], options: { stdin?: string; uid?: number; gid?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'classify', ...args], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

function jsonLines(stdout: string): Array<Record<string, any>> {
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: run npm run build first`);
  dir = img.makeTempDir('birdwatch-classify-');
  chmodSync(dir, 0o755); // a non-root child reads from here
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('birdwatch classify', () => {
  it('--json: one object per file with label, probabilities and move at the model threshold', async () => {
    const run = await classify(['--json', ...FIXTURES]);
    expect(run.code, run.stderr).toBe(0);
    const rows = jsonLines(run.stdout);
    expect(rows.map((r) => r.path)).toEqual(FIXTURES); // input order
    for (const row of rows) {
      expect(Object.keys(row).sort()).toEqual(['label', 'move', 'path', 'probabilities']);
      expect(row.label).toBe(EXPECTED(row.path));
      const { airplane, bird } = row.probabilities;
      expect(airplane + bird).toBeCloseTo(1, 4);
      expect(row.label).toBe(airplane > bird ? 'airplane' : 'bird');
    }
    // Birds far below any sane threshold are never moved.
    expect(rows.filter((r) => r.label === 'bird').every((r) => r.move === false)).toBe(true);
  });

  it('--threshold decides move: 0 moves everything, 1 nothing below certainty', async () => {
    const all = jsonLines((await classify(['--json', '--threshold', '0', ...FIXTURES])).stdout);
    expect(all.every((r) => r.move === true)).toBe(true);
    const none = jsonLines((await classify(['--json', '--threshold=1', ...FIXTURES])).stdout);
    expect(none.every((r) => r.move === r.probabilities.airplane >= 1)).toBe(true);
  });

  it('--config supplies the model and the threshold', async () => {
    const config = join(dir, 'birdwatch.json');
    writeFileSync(config, JSON.stringify({ model: join(ROOT, 'models', 'birds-vs-airplanes.onnx'), threshold: 0 }));
    const rows = jsonLines((await classify(['--json', '--config', config, img.FIXTURE_BIRDS[0]!])).stdout);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.move).toBe(true);
  });

  it('table output: a header and one row per file with label, P(airplane), P(bird), move and path', async () => {
    const run = await classify(FIXTURES);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/label\s+P\(airplane\)\s+P\(bird\)\s+move\s+path/);
    expect(lines).toHaveLength(FIXTURES.length + 1);
    FIXTURES.forEach((file, i) => {
      const cells = lines[i + 1]!.trim().split(/\s+/);
      expect(cells[0]).toBe(EXPECTED(file));
      expect(Number(cells[1]) + Number(cells[2])).toBeCloseTo(1, 3);
      expect(['yes', 'no']).toContain(cells[3]);
      expect(lines[i + 1]!.endsWith(file)).toBe(true);
    });
  });

  it("'-' reads newline-separated paths from stdin; -z reads NUL-separated ones (any file name)", async () => {
    const run = await classify(['--json', '-'], { stdin: `${FIXTURES.join('\n')}\n\n` });
    expect(run.code, run.stderr).toBe(0);
    expect(jsonLines(run.stdout).map((r) => r.label)).toEqual(FIXTURES.map(EXPECTED));

    const odd = join(dir, 'a "quoted"\nnew line ünïcode.jpg');
    linkOrCopy(img.FIXTURE_BIRDS[0]!, odd);
    const nul = await classify(['--json', '-z', '-'], { stdin: `${odd}\0${img.FIXTURE_AIRPLANES[0]}\0` });
    expect(nul.code, nul.stderr).toBe(0);
    const rows = jsonLines(nul.stdout);
    expect(rows.map((r) => r.path)).toEqual([odd, img.FIXTURE_AIRPLANES[0]]);
    expect(rows.map((r) => r.label)).toEqual(['bird', 'airplane']);
  });

  it('3000 paths in one call (a command line far over 29 KB) are all decided', async () => {
    const many = join(dir, 'a-folder-with-a-rather-long-name-as-cameras-make-them', '2026-11-28');
    mkdirSync(many, { recursive: true });
    const files: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const source = FIXTURES[i % FIXTURES.length]!;
      const file = join(many, `shot-${String(i).padStart(5, '0')}-${source.includes('airplane-') ? 'a' : 'b'}.jpg`);
      linkOrCopy(source, file);
      files.push(file);
    }
    expect(files.join(' ').length).toBeGreaterThan(100_000);
    const run = await classify(['--json', ...files]);
    expect(run.signal).toBeNull();
    expect(run.code, run.stderr.slice(0, 2000)).toBe(0);
    const rows = jsonLines(run.stdout);
    expect(rows).toHaveLength(3000);
    expect(rows.map((r) => r.path)).toEqual(files);
    for (const row of rows) expect(row.label).toBe(row.path.endsWith('-a.jpg') ? 'airplane' : 'bird');
  });

  it('bad files: each reported with its error and kind, the others still decided, exit 1', async () => {
    const bad = {
      empty: img.put(dir, 'zero.jpg', Buffer.alloc(0)),
      truncated: img.put(dir, 'cut.jpg', await img.truncatedJpeg()),
      'not-image': img.put(dir, 'random.jpg', img.randomBytes()),
      corrupt: img.put(dir, 'badcrc.png', await img.pngWithBadCrc()),
      'too-large': img.put(dir, 'bomb.png', await img.pngClaiming(30000, 30000)),
      unreadable: join(dir, 'does-not-exist.jpg'),
    };
    const args = ['--json', img.FIXTURE_AIRPLANES[0]!, ...Object.values(bad), img.FIXTURE_BIRDS[0]!];
    const run = await classify(args);
    expect(run.code).toBe(1);
    const rows = jsonLines(run.stdout);
    expect(rows).toHaveLength(args.length - 1);
    expect(rows[0]!.label).toBe('airplane');
    expect(rows.at(-1)!.label).toBe('bird');
    Object.entries(bad).forEach(([kind, path], i) => {
      const row = rows[i + 1]!;
      expect(row.path).toBe(path);
      expect(row.error_kind, row.error).toBe(kind);
      expect(typeof row.error).toBe('string');
      expect(row).not.toHaveProperty('label');
    });
    // Table mode reports them too.
    const table = await classify([bad.truncated]);
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/error .*cut\.jpg: truncated: /);
  });

  it('a FIFO, a directory and a symlink: the FIFO is never blocked on, the symlink is followed', async () => {
    const fifo = join(dir, 'camera-pipe.jpg');
    execFileSync('mkfifo', [fifo]);
    const folder = join(dir, 'folder.jpg');
    mkdirSync(folder);
    const link = join(dir, 'link-to-bird.jpg');
    symlinkSync(img.FIXTURE_BIRDS[0]!, link);
    const run = await classify(['--json', fifo, folder, link]);
    expect(run.code).toBe(1);
    const rows = jsonLines(run.stdout);
    expect(rows.map((r) => r.error_kind ?? r.label)).toEqual(['unsupported', 'not-image', 'bird']);
    expect(rows[0]!.error).toMatch(/FIFO/);
  });

  it('a file without read permission is reported as unreadable', async (ctx) => {
    // Root reads anything: as root the CLI runs as nobody (from the copy of the checkout nobody can read).
    const asRoot = process.getuid?.() === 0;
    if (asRoot) needs(ctx, NOBODY_MISSING);
    const secret = img.put(dir, 'secret.jpg', (await img.formatSamples()).jpeg);
    chmodSync(secret, 0o000);
    chmodSync(dir, 0o711); // nobody may enter the folder, so only the file's own permission stops it
    // The readable bird: nobody reads it in its copy of the checkout.
    const bird = asRoot ? img.FIXTURE_BIRDS[0]!.replace(ROOT, `${NOBODY_REPO}/`) : img.FIXTURE_BIRDS[0]!;
    const run = asRoot
      ? await runCli(['classify', '--json', secret, bird], { user: NOBODY })
      : await classify(['--json', secret, bird]);
    expect(run.code, run.stderr).toBe(1);
    const rows = jsonLines(run.stdout);
    expect(rows[0]).toMatchObject({ path: secret, error_kind: 'unreadable' });
    expect(rows[0]!.error).toMatch(/permission denied/);
    expect(rows[1]!.label).toBe('bird');
  });

  it('--provider cuda on a machine without CUDA falls back to the CPU and says so on stderr', async () => {
    const run = await classify(['--json', '--provider', 'cuda', img.FIXTURE_AIRPLANES[0]!]);
    expect(run.code, run.stderr).toBe(0);
    expect(jsonLines(run.stdout)[0]!.label).toBe('airplane');
    const cudaInstalled = existsSync(
      join(ROOT, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so'),
    );
    if (!cudaInstalled || !existsSync('/dev/nvidia0')) {
      expect(run.stderr).toMatch(/CUDA execution provider requested but not available \(.+\); falling back to CPU/);
    }
    expect(run.stderr).not.toMatch(/\[E:onnxruntime/); // onnxruntime's own native error line is not shown
  });

  it('usage and config errors exit 2 with one clear line', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /no files given/],
      [['--bogus', 'x.jpg'], /Unknown option '--bogus'/],
      [['--provider', 'tpu', 'x.jpg'], /provider.*'auto', 'cuda' or 'cpu'/],
      [['--threshold', '2', 'x.jpg'], /threshold.*between 0 and 1/],
      [['--model', join(dir, 'missing.onnx'), 'x.jpg'], /missing\.onnx/],
    ];
    for (const [args, message] of cases) {
      const run = await classify(args);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toMatch(/^birdwatch: /);
      expect(run.stderr).toMatch(message);
    }
    const malformed = img.put(dir, 'bad.onnx', 'not a model');
    const run = await classify(['--model', malformed, img.FIXTURE_BIRDS[0]!]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/not a valid ONNX file/);
  });

  it('loading the model in a process with a huge command line is refused clearly instead of crashing', async () => {
    const script =
      `import('${join(ROOT, 'dist/model/load.js')}')` +
      `.then((m) => m.loadModel({ path: '${join(ROOT, 'models/birds-vs-airplanes.onnx')}', provider: 'cpu' }))` +
      `.then(() => process.exit(0), (e) => { console.error(e.name + ': ' + e.message); process.exit(3); })`;
    const run = await new Promise<Run>((resolve) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, 'x'.repeat(40_000)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      child.on('close', (code, signal) => resolve({ code, signal, stdout: '', stderr }));
    });
    expect(run.signal).toBeNull();
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/ModelError: .*command line is \d+ bytes/);
  });
});

/** A hard link where it can be made; a copy where the temporary folder is another filesystem (Debian 13's /tmp is a
 *  tmpfs), so the fixtures and the test's folder need not share one. */
function linkOrCopy(source: string, target: string): void {
  try {
    linkSync(source, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    copyFileSync(source, target);
  }
}
