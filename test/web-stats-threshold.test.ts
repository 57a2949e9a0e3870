// The /stats P(airplane) histogram in real chromium marks the threshold of the camera it is filtered to (pond runs at
// its own 0.5, garden at the model's), and one marker per camera when unfiltered. Screenshots of the filtered page
// on a desktop and a phone go to var/screenshots/.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from './helpers/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOnnxMetadata } from '../src/model/metadata.js';
import { DaemonProcess, killAllDaemons, REPO } from './helpers/daemon.js';
import { startWorld, type World } from './log-shared.js';
import { addUser, freePort } from './web-shared.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const inCi = process.env.CI === 'true';
const SHOTS = join(REPO, 'var', 'screenshots');
const MODEL_THRESHOLD = Number(
  readOnnxMetadata(readFileSync(join(REPO, 'models', 'birds-vs-airplanes.onnx'))).metadata.threshold,
);

if (!haveChromium && !inCi) {
  console.warn(
    `[web-stats-threshold] SKIPPED: no chromium at ${CHROMIUM} (apt-get install chromium; CI fails instead)`,
  );
}

let world: World;
let web: DaemonProcess;
let base: string;
let browser: Browser;

describe.skipIf(!haveChromium && !inCi)('/stats threshold markers in chromium', () => {
  beforeAll(async () => {
    world = await startWorld('bw-stats-threshold-');
    await addUser(world, 'vic', 'viewer', 'vic-password');
    // The web page's config: the daemon's, with pond at a threshold of its own.
    const config = JSON.parse(readFileSync(world.config, 'utf8'));
    config.cameras[1].threshold = 0.5;
    const webConfig = join(world.dirs.root, 'web-config.json');
    writeFileSync(webConfig, JSON.stringify(config));
    const port = await freePort();
    web = new DaemonProcess(['web', '--config', webConfig, '--listen', `127.0.0.1:${port}`]);
    await web.waitForOutput(/listening on http:\/\//);
    base = `http://127.0.0.1:${port}`;
    browser = await launchChromium(CHROMIUM);
    mkdirSync(SHOTS, { recursive: true });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await killAllDaemons();
    world?.dirs.cleanup();
  });

  async function markers(page: Page, path: string): Promise<string[]> {
    await page.goto(`${base}${path}`);
    return page.$$eval(
      'svg[aria-label="P(airplane) histogram"] text[text-anchor=end]',
      (texts) => texts.map((t) => t.textContent ?? '').filter((t) => !/^[\d.]+$/.test(t)), // not the axis
    );
  }

  it('filtered to a camera: its threshold; unfiltered: one per camera', async () => {
    expect(MODEL_THRESHOLD).not.toBeCloseTo(0.5, 2);
    const own = MODEL_THRESHOLD.toFixed(2);
    for (const [name, viewport] of Object.entries({
      desktop: { width: 1280, height: 800 },
      phone: { width: 390, height: 844 },
    })) {
      const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
      const page = await context.newPage();
      await page.goto(`${base}/login`);
      await page.fill('input[name=username]', 'vic');
      await page.fill('input[name=password]', 'vic-password');
      await page.click('form.login button[type=submit]');
      await page.waitForURL(`${base}/`);
      expect(await markers(page, '/stats?camera=pond')).toEqual(['threshold 0.50']);
      // The "until" box's example is today's date, not a stale one.
      const now = new Date();
      const today = [now.getFullYear(), now.getMonth() + 1, now.getDate()].map((n) => String(n).padStart(2, '0'));
      expect(await page.getAttribute('input[name=until]', 'placeholder')).toBe(today.join('-'));
      await page.screenshot({ path: join(SHOTS, `stats-pond-${name}.png`), fullPage: true });
      expect(await markers(page, '/stats?camera=garden')).toEqual([`threshold ${own}`]);
      expect(await markers(page, '/stats')).toEqual([`garden ${own}`, 'pond 0.50']);
      await page.screenshot({ path: join(SHOTS, `stats-cameras-${name}.png`), fullPage: true });
      expect(await markers(page, '/stats?camera=nowhere')).toEqual([]);
      await context.close();
    }
  });
});
