// The web page in a real headless browser: Debian's chromium driven by playwright-core (no browser download), on
// the real server and a log filled by the real daemon. Logs in through the form, sees thumbnails render, filters,
// restores a bird from the quarantine page (the file is back in the blog, the correction in `birdwatch log`), a
// viewer cannot, hostile names stay text, the CSP stops inline script. Saves a screenshot of every page on a
// desktop (1280x800) and a phone (390x844) window in var/screenshots/ and checks none scrolls sideways. The /stats
// P(airplane) histogram marks the threshold of the camera it is filtered to (pond at its own 0.5 through a second
// server whose config says so, garden at the model's), and one marker per camera when unfiltered.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { launchChromium } from './helpers/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOnnxMetadata } from '../src/model/metadata.js';
import { DaemonProcess, REPO } from './helpers/daemon.js';
import { waitForDecisions } from './helpers/decisions.js';
import { dropShot, jsonLines, useWorld } from './log-shared.js';
import { addUser, freePort, startWeb, type WebProcess } from './web-shared.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const inCi = process.env.CI === 'true';
const SHOTS = join(REPO, 'var', 'screenshots');
const viewports = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;
const hostileName = '<img src=x onerror=alert(1)>.jpg';
const MODEL_THRESHOLD = Number(
  readOnnxMetadata(readFileSync(join(REPO, 'models', 'birds-vs-airplanes.onnx'))).metadata.threshold,
);

if (!haveChromium && !inCi) {
  console.warn(`[web-browser] SKIPPED: no chromium at ${CHROMIUM} (apt-get install chromium; CI fails instead)`);
}

let web: WebProcess;
let browser: Browser;

describe.skipIf(!haveChromium && !inCi)('birdwatch web in a real browser (chromium)', () => {
  beforeAll(() => {
    if (!haveChromium) {
      throw new Error(
        `chromium is missing at ${CHROMIUM}: the browser tests need Debian's chromium ` +
          '(.ci/run installs it; set CHROMIUM=/path to use another)',
      );
    }
  });
  const world = useWorld('bw-web-browser-');
  beforeAll(async () => {
    // More shots, for a quarantine gallery and decision list that look like a camera's day.
    const lastId = Math.max(...world.rows().map((r) => r.id));
    for (let i = 0; i < 5; i++) {
      writeFileSync(join(world.garden.watch, `2026/IMG_${1040 + i}.jpg`), await world.newPlane());
      writeFileSync(join(world.pond.watch, `IMG_${2040 + i}.jpg`), await world.newBird());
    }
    await waitForDecisions(world.dirs.db, 'id > ?', [lastId], 10, 60_000, () => world.daemon.tail());
    await dropShot(world, world.garden, hostileName, await world.newBird());
    await addUser(world, 'rita', 'reviewer', 'rita-password');
    await addUser(world, 'vic', 'viewer', 'vic-password');
    web = await startWeb(world);
    browser = await launchChromium(CHROMIUM);
    mkdirSync(SHOTS, { recursive: true });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
  });

  async function loggedIn(
    user: 'rita' | 'vic',
    viewport: { width: number; height: number } = viewports.desktop,
  ): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
    const page = await context.newPage();
    await page.goto(`${web.base}/`);
    expect(page.url()).toBe(`${web.base}/login?next=%2F`);
    await page.fill('input[name=username]', user);
    await page.fill('input[name=password]', `${user}-password`);
    await page.click('form.login button[type=submit]');
    await page.waitForURL(`${web.base}/`);
    return { context, page };
  }

  /** Every image loaded (scrolled into view first: thumbnails load lazily) and none broken. */
  async function imagesRendered(page: Page): Promise<void> {
    await page.evaluate(async () => {
      for (let y = 0; y < document.body.scrollHeight; y += window.innerHeight / 2) {
        window.scrollTo(0, y);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      window.scrollTo(0, 0);
    });
    await page.waitForFunction(() => [...document.images].every((img) => img.complete), undefined, { timeout: 30_000 });
    const broken = await page.evaluate(() =>
      [...document.images].filter((img) => img.naturalWidth === 0).map((img) => img.getAttribute('src')),
    );
    expect(broken, page.url()).toEqual([]);
  }

  it('logs in through the form, shows thumbnails, filters by action', async () => {
    const { context, page } = await loggedIn('rita');
    const thumbs = page.locator('ul.decisions img.thumb');
    expect(await thumbs.count()).toBe(world.rows().length);
    await imagesRendered(page);
    const sizes = await thumbs.evaluateAll((imgs) => imgs.map((img) => (img as HTMLImageElement).naturalWidth));
    expect(sizes.every((w) => w > 0 && w <= 320)).toBe(true);
    await page.selectOption('form.filters select[name=action]', 'moved');
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/action=moved/);
    const badges = await page.locator('ul.decisions li .badge.moved').count();
    const rows = await page.locator('ul.decisions li').count();
    expect(rows).toBe(world.rows().filter((r) => r.action === 'moved').length);
    expect(badges).toBe(rows);
    await context.close();
  });

  it('restores a bird from the quarantine page: back in the blog, the correction in birdwatch log', async () => {
    const { context, page } = await loggedIn('rita');
    const plane = world.row(world.garden, '2026/IMG_1041.jpg');
    expect(plane.action).toBe('moved');
    await page.goto(`${web.base}/quarantine`);
    await imagesRendered(page);
    const card = page.locator(`li.card[data-id="${plane.id}"]`);
    let asked = '';
    page.once('dialog', (dialog) => {
      asked = dialog.message();
      void dialog.accept();
    });
    await card.locator('button[data-action=restore]').click();
    await card.locator('.badge.back').waitFor();
    expect(asked).toMatch(/IMG_1041\.jpg back in the blog/);
    expect(existsSync(plane.path)).toBe(true);
    expect(existsSync(plane.final_path)).toBe(false);
    const [row] = jsonLines((await world.cli(['log', '--json', '--corrected', '--path', 'IMG_1041'])).stdout);
    expect(row).toMatchObject({
      id: plane.id,
      corrected_label: 'bird',
      corrected_kind: 'restore',
      current_path: plane.path,
    });
    // Dismissing the confirmation sends nothing: the click handler, which disables the button before it posts,
    // has returned by the time click() does.
    const other = world.row(world.garden, '2026/IMG_1042.jpg');
    const otherButton = page.locator(`li.card[data-id="${other.id}"] button[data-action=restore]`);
    page.once('dialog', (dialog) => void dialog.dismiss());
    await otherButton.click();
    expect(await otherButton.isEnabled()).toBe(true);
    expect(existsSync(other.final_path)).toBe(true);
    await context.close();
  });

  it('after login the script follows next only to a path on this site, whatever the form says', async () => {
    const context = await browser.newContext({ viewport: viewports.desktop, deviceScaleFactor: 1 });
    const page = await context.newPage();
    for (const [next, landing] of [
      ['/\\evil.com', '/'],
      ['/\t/evil.com', '/'],
      ['//evil.com', '/'],
      ['//[', '/'],
      ['/stats', '/stats'],
    ]) {
      await context.clearCookies();
      await page.goto(`${web.base}/login`);
      // The server never renders such a next; the script must not follow one either (a page that did would leave).
      await page.locator('form.login').evaluate((form, value) => {
        (form as HTMLFormElement).dataset.next = value;
      }, next);
      await page.fill('input[name=username]', 'vic');
      await page.fill('input[name=password]', 'vic-password');
      await page.click('form.login button[type=submit]');
      await page.waitForURL(`${web.base}${landing}`, { timeout: 10_000 });
      expect(new URL(page.url()).origin, JSON.stringify(next)).toBe(web.base);
    }
    await context.close();
  });

  it('a viewer sees no action buttons, and the API refuses one from the page (403)', async () => {
    const { context, page } = await loggedIn('vic');
    await page.goto(`${web.base}/quarantine`);
    expect(await page.locator('li.card').count()).toBeGreaterThan(0);
    expect(await page.locator('button[data-action]').count()).toBe(0);
    const plane = world.row(world.garden, '2026/IMG_1043.jpg');
    const status = await page.evaluate(
      async (id) =>
        (
          await fetch(`/api/decisions/${id}/restore`, {
            method: 'POST',
            headers: { 'X-CSRF-Token': document.querySelector('meta[name="csrf-token"]')!.getAttribute('content')! },
          })
        ).status,
      plane.id,
    );
    expect(status).toBe(403);
    expect(existsSync(plane.final_path)).toBe(true);
    await context.close();
  });

  it('shows a hostile file name as text; the CSP blocks inline script', async () => {
    const { context, page } = await loggedIn('vic');
    let dialogs = 0;
    page.on('dialog', (dialog) => {
      dialogs++;
      void dialog.dismiss();
    });
    await page.goto(`${web.base}/?path=${encodeURIComponent('onerror')}`);
    await expect.poll(() => page.locator('ul.decisions a.name').allTextContents()).toEqual([hostileName]);
    const hostile = world.row(world.garden, hostileName);
    await page.goto(`${web.base}/shot/${hostile.id}`);
    expect(await page.locator('h1').textContent()).toBe(hostileName);
    const blocked = await page.evaluate(async () => {
      const violations: string[] = [];
      document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
      const script = document.createElement('script');
      script.textContent = 'window.__inline = true';
      document.body.append(script);
      await new Promise((resolve) => setTimeout(resolve, 100));
      return { ran: (window as unknown as { __inline?: boolean }).__inline === true, violations };
    });
    expect(blocked.ran).toBe(false);
    expect(blocked.violations.some((v) => v.startsWith('script-src'))).toBe(true);
    expect(dialogs).toBe(0);
    await context.close();
  });

  it('screenshots every page on a desktop and a phone: nothing scrolls sideways, every image renders', async () => {
    const moved = world.row(world.garden, 'plane-two.jpg');
    const pages: Array<[string, string]> = [
      ['decisions', '/'],
      ['quarantine', '/quarantine'],
      ['shot', `/shot/${moved.id}`],
      ['stats', '/stats'],
      ['model', '/model'],
      ['review', '/review'],
    ];
    for (const [name, viewport] of Object.entries(viewports)) {
      const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
      const page = await context.newPage();
      await page.goto(`${web.base}/login`);
      await page.screenshot({ path: join(SHOTS, `login-${name}.png`), fullPage: true });
      await context.close();
      const session = await loggedIn('rita', viewport);
      for (const [pageName, path] of pages) {
        await session.page.goto(`${web.base}${path}`);
        await imagesRendered(session.page);
        await session.page.screenshot({ path: join(SHOTS, `${pageName}-${name}.png`), fullPage: true });
        const overflow = await session.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow, `${pageName} on ${name} scrolls sideways by ${overflow} px`).toBeLessThanOrEqual(0);
        // Every filter field's placeholder fits in its box (measured in the field's own font).
        const cut = await session.page.evaluate(() =>
          [...document.querySelectorAll('form.filters input[placeholder]')]
            .map((element) => {
              const input = element as HTMLInputElement;
              const style = getComputedStyle(input);
              const context = document.createElement('canvas').getContext('2d')!;
              context.font = style.font;
              const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
              return { placeholder: input.placeholder, width: context.measureText(input.placeholder).width, room };
            })
            .filter((field) => field.width > field.room),
        );
        expect(cut, `${pageName} on ${name}: placeholders cut off`).toEqual([]);
      }
      await session.context.close();
    }
  }, 120_000);

  // Moved here from web-stats-threshold.test.ts, which built this same world and launched a chromium of its own for
  // this one test: a second server on this world's log, its config giving pond a threshold of its own.
  describe('/stats threshold markers', () => {
    let base: string;
    beforeAll(async () => {
      const config = JSON.parse(readFileSync(world.config, 'utf8'));
      config.cameras[1].threshold = 0.5;
      const webConfig = join(world.dirs.root, 'web-config.json');
      writeFileSync(webConfig, JSON.stringify(config));
      const port = await freePort();
      const server = new DaemonProcess(['web', '--config', webConfig, '--listen', `127.0.0.1:${port}`]);
      await server.waitForOutput(/listening on http:\/\//);
      base = `http://127.0.0.1:${port}`;
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
      for (const [name, viewport] of Object.entries(viewports)) {
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
});
