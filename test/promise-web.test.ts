// The promise on the web page, in Debian's chromium (playwright-core) on the real server, with the real daemon
// calibrating from review labels written while it runs (a real SQLite file): /stats shows each camera's state in a
// sentence (certified, or how many more random shots to review), birds moved and airplanes caught with intervals and
// the threshold history (a stratified review's shares weighed back, and said so); /review shows the progress; /model shows a viewer no server path. Screenshots on a desktop
// and a phone in var/screenshots/promise-*.png; nothing scrolls sideways.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser } from 'playwright-core';
import { launchChromium } from './helpers/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/index.js';
import {
  DaemonProcess,
  killAllDaemons,
  makeCamera,
  makeTestDirs,
  REPO,
  runCli,
  writeConfigFile,
  type TestDirs,
} from './helpers/daemon.js';
import { query } from './helpers/decisions.js';
import { waitFor } from './helpers/wait.js';
import { freePort } from './web-shared.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const SHOTS = join(REPO, 'var', 'screenshots');
const MODEL = join(REPO, 'models', 'birds-vs-airplanes.onnx');
const MODEL_ID = createHash('sha256').update(readFileSync(MODEL)).digest('hex').slice(0, 12);
const viewports = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;

let dirs: TestDirs;
let config: string;
let daemon: DaemonProcess;
let web: DaemonProcess;
let base: string;
let browser: Browser;
// garden: 90 birds 0.000..0.593 and 20 airplanes 0.60..0.98; pond: 5 birds and 2 airplanes.
const garden = Array.from({ length: 90 }, (_, i) => ({ camera: 'garden', p: i / 150, label: 'bird', id: 0 }));
const gardenPlanes = Array.from({ length: 20 }, (_, i) => ({
  camera: 'garden',
  p: 0.6 + i / 50,
  label: 'airplane',
  id: 0,
}));
const pond = [
  ...[0.1, 0.2, 0.3, 0.4, 0.5].map((p) => ({ camera: 'pond', p, label: 'bird', id: 0 })),
  ...[0.7, 0.9].map((p) => ({ camera: 'pond', p, label: 'airplane', id: 0 })),
];
// meadow (its own threshold 0.8, pinned): 200 shots, 40 of them high-scoring (30 airplanes, 10 birds); a stratified
// review labelled 30 high and 10 low shots: its card shows the shares weighed back.
const meadowShots = [
  ...Array.from({ length: 30 }, (_, i) => ({ camera: 'meadow', p: 0.9 + i / 400, label: 'airplane', id: 0 })),
  ...Array.from({ length: 10 }, (_, i) => ({ camera: 'meadow', p: 0.5 + i / 50, label: 'bird', id: 0 })),
  ...Array.from({ length: 150 }, (_, i) => ({ camera: 'meadow', p: i / 400, label: 'bird', id: 0 })),
  ...Array.from({ length: 10 }, (_, i) => ({ camera: 'meadow', p: 0.1 + i / 40, label: 'airplane', id: 0 })),
];
const meadowReviewed = [...meadowShots.slice(0, 20), ...meadowShots.slice(30, 40), ...meadowShots.slice(40, 50)];

function label(shots: Array<{ id: number; label: string }>): void {
  const db = openDatabase(dirs.db);
  const review = db.prepare(`INSERT INTO reviews (decision_id, time, time_ms, label, member, source)
      VALUES (?, '2026-11-30T11:00:00Z', 1, ?, 'ann', 'sample')`);
  db.transaction(() => {
    for (const shot of shots) review.run(shot.id, shot.label);
  })();
  db.close();
}
const changes = () => query(dirs.db, 'SELECT * FROM threshold_changes ORDER BY id');

describe.skipIf(!haveChromium)('the promise on the web page (chromium)', () => {
  beforeAll(async () => {
    dirs = makeTestDirs('bw-promise-web-');
    const cameras = [
      makeCamera(dirs.root, 'garden'),
      makeCamera(dirs.root, 'pond'),
      { ...makeCamera(dirs.root, 'meadow'), threshold: 0.8 },
    ];
    const db = openDatabase(dirs.db);
    const decide = db.prepare(`INSERT INTO decisions (time, time_ms, camera, path, final_path, p_airplane, p_bird,
        label, threshold, action, model_id) VALUES ('2026-11-30T10:00:00Z', 0, ?, ?, ?, ?, ?, 'bird', 0.9, 'kept', ?)`);
    const draw = db.prepare('INSERT INTO review_draws (decision_id, time_ms) VALUES (?, 0)');
    [...garden, ...gardenPlanes, ...pond].forEach((shot, i) => {
      shot.id = Number(
        decide.run(shot.camera, `/old/${i}.jpg`, `/old/${i}.jpg`, shot.p, 1 - shot.p, MODEL_ID).lastInsertRowid,
      );
      draw.run(shot.id);
    });
    const stratifiedDraw = db.prepare(
      `INSERT INTO review_draws (decision_id, time_ms, design) VALUES (?, 0, 'stratified')`,
    );
    meadowShots.forEach((shot, i) => {
      shot.id = Number(
        decide.run(shot.camera, `/old/m${i}.jpg`, `/old/m${i}.jpg`, shot.p, 1 - shot.p, MODEL_ID).lastInsertRowid,
      );
    });
    for (const shot of meadowReviewed) stratifiedDraw.run(shot.id);
    db.close();
    config = writeConfigFile(dirs, {
      cameras,
      db: dirs.db,
      model: MODEL,
      birdBudget: 0.05,
      quietMs: 100,
      calibration: { checkMs: 300 },
    });
    daemon = new DaemonProcess(['run', '--config', config]);
    await daemon.ready(60_000);
    // Three rounds of review: 60 birds certify 5% with none moved, 90 with one; pond's 5 never do.
    label(garden.slice(0, 60));
    await waitFor(
      () => changes().length === 1,
      60_000,
      () => `the first change:\n${daemon.tail()}`,
    );
    label([...garden.slice(60), ...gardenPlanes, ...pond, ...meadowReviewed]);
    await waitFor(
      () => changes().length === 2,
      60_000,
      () => `the second change:\n${daemon.tail()}`,
    );
    for (const [name, role] of [
      ['rita', 'reviewer'],
      ['vic', 'viewer'],
    ]) {
      const added = await runCli(['user', 'add', name!, '--role', role!, '--config', config], {
        input: `${name}-password\n`,
      });
      expect(added.code, added.stderr).toBe(0);
    }
    const port = await freePort();
    web = new DaemonProcess(['web', '--config', config, '--listen', `127.0.0.1:${port}`]);
    await web.waitForOutput(/listening on http:\/\//);
    base = `http://127.0.0.1:${port}`;
    browser = await launchChromium(CHROMIUM);
    mkdirSync(SHOTS, { recursive: true });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await killAllDaemons();
    dirs?.cleanup();
  });

  async function as(user: 'rita' | 'vic', viewport: { width: number; height: number }) {
    const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.fill('input[name=username]', user);
    await page.fill('input[name=password]', `${user}-password`);
    await page.click('form.login button[type=submit]');
    await page.waitForURL(`${base}/`);
    return { context, page };
  }

  it("the daemon's two changes: none moved of 60, then one of 90", () => {
    expect(changes()).toMatchObject([
      { camera: 'garden', n: 60, k: 0, new_threshold: 0.393344 },
      { camera: 'garden', n: 90, k: 1, new_threshold: 0.586677, old_threshold: 0.393344 },
    ]);
  });

  for (const [name, viewport] of Object.entries(viewports)) {
    it(`/stats and /review on a ${name}: the state in a sentence, intervals, history, progress`, async () => {
      const { context, page } = await as('rita', viewport);
      await page.goto(`${base}/stats`);
      const gardenCard = page.locator('article.promise-card[data-camera=garden]');
      const pondCard = page.locator('article.promise-card[data-camera=pond]');
      expect(await gardenCard.locator('.state').innerText()).toBe(
        'certified: at most 5% of birds moved, 90% confidence, from 110 reviewed shots',
      );
      // 1 of 90 birds at or above 0.586677 (the one at 0.5933); 20 of 20 airplanes.
      expect(await gardenCard.innerText()).toMatch(/1 of 90 \(1\.1%; 90% interval 0\.1%–5\.2%\)/);
      expect(await gardenCard.innerText()).toMatch(/20 of 20 \(100%; 90% interval 86\.1%–100%\)/);
      expect(await gardenCard.locator('svg.history circle').count()).toBe(2);
      // pond: 5 birds, 40 more needed at 5%; 7 reviewed shots of which 5 birds: 56 more shots.
      expect(await pondCard.locator('.state').innerText()).toBe(
        'not yet measured on this camera: review 56 more random shots',
      );
      expect(await pondCard.locator('progress').getAttribute('value')).toBe('11.1');
      // meadow: a stratified review, its shares weighed back (not k / n) and said so.
      const meadowText = await page.locator('article.promise-card[data-camera=meadow]').innerText();
      expect(meadowText).toMatch(/birds moved, of reviewed birds\s+0 of 20 \(weighed back: 0%; 90% interval 0%–/);
      expect(meadowText).toMatch(/airplanes caught, of reviewed airplanes\s+20 of 20 \(weighed back: /);
      expect(await page.locator('section.promise').innerText()).toMatch(/stratified: high-scoring shots are drawn/);
      await page.screenshot({ path: join(SHOTS, `promise-stats-${name}.png`), fullPage: true });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `/stats scrolls sideways by ${overflow} px`).toBeLessThanOrEqual(0);
      await page.goto(`${base}/review`);
      expect(await page.locator('.promise-progress progress').count()).toBe(3);
      // meadow's review is stratified: the raw shares of the labelled shots are said to lean, the promise to weigh.
      expect(await page.locator('main').innerText()).toMatch(/these shares lean toward what the filter moves/);
      expect(await page.locator('.promise-progress').innerText()).toMatch(/pond: not yet measured/);
      await page.screenshot({ path: join(SHOTS, `promise-review-${name}.png`), fullPage: true });
      expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(
        0,
      );
      await context.close();
    });
  }

  it("/model names the model file to a viewer without the server's folder; a reviewer sees the path", async () => {
    const viewer = await as('vic', viewports.desktop);
    await viewer.page.goto(`${base}/model`);
    const text = await viewer.page.locator('main').innerText();
    expect(text).toMatch(/birds-vs-airplanes\.onnx/);
    expect(text).not.toContain(join(REPO, 'models'));
    await viewer.context.close();
    const reviewer = await as('rita', viewports.desktop);
    await reviewer.page.goto(`${base}/model`);
    expect(await reviewer.page.locator('main').innerText()).toContain(MODEL);
    await reviewer.context.close();
  });

  it('birdwatch stats says the same in the terminal', async () => {
    const result = await runCli(['stats', '--config', config]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/garden: certified: at most 5% of birds moved, 90% confidence, from 110 reviewed/);
    expect(result.stdout).toMatch(/pond: not yet measured on this camera: review 56 more random shots/);
  });
});
