// The digest on a real decision log made by the real daemon (two cameras, a failure, a restore by a member): its
// counts equal `birdwatch stats` for the same period; mailed through an in-process SMTP server (smtp-server), with
// the least sure shots' thumbnails as cid attachments and links to their shot pages; --dry-run prints the text and
// writes the HTML, which real chromium renders (a screenshot in var/screenshots/, looked at).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { launchChromium } from './helpers/browser.js';
import { needs } from './helpers/preconditions.js';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from './helpers/daemon.js';
import { useWorld } from './log-shared.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(REPO, 'var', 'screenshots');

const world = useWorld('bw-digest-');
let config: string;
const received: Array<{ from: string; to: string[]; raw: string }> = [];
let smtp: SMTPServer;

beforeAll(async () => {
  const moved = world.rows().find((r) => r.camera === 'garden' && r.action === 'moved')!;
  expect((await world.cli(['restore', String(moved.id)])).code).toBe(0);
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          from: String(session.envelope.mailFrom && session.envelope.mailFrom.address),
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString(),
        });
        done();
      });
    },
  });
  await new Promise<void>((done) => smtp.listen(0, '127.0.0.1', done));
  const base = JSON.parse(readFileSync(world.config, 'utf8')) as Record<string, unknown>;
  config = join(world.dirs.root, 'digest-config.json');
  writeFileSync(
    config,
    JSON.stringify({
      ...base,
      web: { publicUrl: 'https://birds.example.org/' },
      smtp: {
        host: '127.0.0.1',
        port: (smtp.server.address() as AddressInfo).port,
        security: 'none',
        from: 'birdwatch@example.org',
        to: ['club@example.org'],
      },
    }),
  );
}, 180_000);
afterAll(async () => {
  await new Promise<void>((done) => (smtp ? smtp.close(() => done()) : done()));
});

/** The parts of a MIME message: headers and decoded body of each leaf part. */
function mimeParts(raw: string): Array<{ headers: string; body: Buffer }> {
  const boundaries = [...raw.matchAll(/boundary="?([^";\r\n]+)"?/g)].map((m) => m[1]!);
  let pieces = [raw];
  for (const boundary of boundaries) pieces = pieces.flatMap((piece) => piece.split(`--${boundary}`));
  return pieces
    .map((piece) => {
      const split = piece.indexOf('\r\n\r\n');
      return { headers: piece.slice(0, split), body: piece.slice(split + 4) };
    })
    .filter((p) => /Content-Transfer-Encoding: base64/i.test(p.headers) && !/multipart\//i.test(p.headers))
    .map((p) => ({ headers: p.headers, body: Buffer.from(p.body.replace(/\s+/g, ''), 'base64') }));
}

describe('birdwatch digest', () => {
  it("counts what `birdwatch stats` counts for the period, per camera, with the members' restores", async () => {
    const digest = await runCli(['digest', '--since', '7d', '--json', '--config', config]);
    expect(digest.stderr).toBe('');
    const figures = JSON.parse(digest.stdout) as { since: string; until: string; cameras: Array<Record<string, any>> };
    for (const camera of figures.cameras) {
      // The same period as the digest's, given to stats as absolute times.
      const stats = await runCli([
        'stats',
        '--camera',
        camera.camera,
        '--since',
        figures.since,
        '--until',
        figures.until,
        '--json',
        '--config',
        config,
      ]);
      const s = JSON.parse(stats.stdout);
      expect(camera).toMatchObject({
        decided: s.decisions,
        moved: s.per_action.moved,
        kept: s.per_action.kept,
        failed: s.per_action.failed,
      });
    }
    const rows = world.rows();
    const garden = figures.cameras.find((c) => c.camera === 'garden')!;
    expect(garden.decided).toBe(rows.filter((r) => r.camera === 'garden').length);
    expect(garden.failed).toBe(1);
    expect(garden.restored).toBe(1);
    expect(figures.cameras.find((c) => c.camera === 'pond')!.restored).toBe(0);
    // Least sure first: P(airplane) nearest the threshold, never a failure, links on the public page.
    const distances = garden.least_sure.map((s: any) => Math.abs(s.p_airplane - s.threshold));
    expect(distances).toEqual([...distances].sort((a, b) => a - b));
    expect(garden.least_sure.length).toBe(
      Math.min(5, rows.filter((r) => r.camera === 'garden' && r.action !== 'failed').length),
    );
    for (const shot of garden.least_sure) {
      expect(shot.link).toBe(`https://birds.example.org/shot/${shot.id}`);
      expect(shot.file.startsWith('/')).toBe(false);
    }
  });

  it('mails it over SMTP with thumbnails as cid attachments the HTML refers to', async () => {
    const sent = await runCli(['digest', '--to', 'member@example.org', '--config', config]);
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    expect(received).toHaveLength(1);
    const mail = received[0]!;
    expect(mail.from).toBe('birdwatch@example.org');
    expect(mail.to).toEqual(['member@example.org']);
    const headers = mail.raw.replace(/\r\n[ \t]+/g, ' ');
    expect(headers).toMatch(
      /^Subject: birdwatch daily digest: \d+ shots decided, \d+ airplanes moved, 1 birds restored/m,
    );
    const parts = mimeParts(mail.raw);
    const html = parts.find((p) => /text\/html/.test(p.headers))!.body.toString();
    const text = parts.find((p) => /text\/plain/.test(p.headers))!.body.toString();
    const images = parts.filter((p) => /image\/jpeg/.test(p.headers));
    const cids = images.map((p) => /Content-ID: <([^>]+)>/i.exec(p.headers)![1]!);
    const figures = JSON.parse((await runCli(['digest', '--json', '--config', config])).stdout);
    const unsure = figures.cameras.flatMap((c: any) => c.least_sure);
    expect(cids.sort()).toEqual(unsure.map((s: any) => `shot-${s.id}@birdwatch`).sort());
    for (const cid of cids) expect(html).toContain(`src="cid:${cid}"`);
    for (const image of images) expect(image.body.subarray(0, 2).toString('hex')).toBe('ffd8'); // a JPEG
    for (const shot of unsure) expect(html).toContain(`href="https://birds.example.org/shot/${shot.id}"`);
    expect(html).not.toMatch(/<style|<script|<link/i); // inline styles only
    expect(html).not.toContain(world.dirs.root);
    expect(text).toContain('Camera garden');
    expect(text).toMatch(/birds restored by members: 1/);
  });

  it('--dry-run prints the text, writes the HTML, sends nothing; chromium renders it', async (ctx) => {
    const html = join(world.dirs.root, 'digest.html');
    const before = received.length;
    const dry = await runCli(['digest', '--dry-run', '--html', html, '--config', config]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('Camera pond');
    expect(dry.stdout).toContain(`(dry run: nothing sent; the HTML is in ${html})`);
    expect(received.length).toBe(before);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('data:image/jpeg;base64,');
    needs(ctx, existsSync(CHROMIUM) ? null : `chromium at ${CHROMIUM} (Debian package chromium)`);
    const browser = await launchChromium(CHROMIUM);
    try {
      mkdirSync(SHOTS, { recursive: true });
      const sizes = [
        ['desktop', { width: 1280, height: 800 }],
        ['phone', { width: 390, height: 844 }],
      ] as const;
      for (const [name, viewport] of sizes) {
        const tab = await browser.newPage({ viewport });
        await tab.goto(`file://${html}`);
        // Every thumbnail decoded (naturalWidth > 0) and nothing wider than the window.
        const broken = await tab.$$eval(
          'img',
          (imgs) =>
            imgs.filter((img) => !(img as HTMLImageElement).complete || (img as HTMLImageElement).naturalWidth === 0)
              .length,
        );
        expect(broken).toBe(0);
        expect(await tab.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
        await tab.screenshot({ path: join(SHOTS, `digest-${name}.png`), fullPage: true });
        await tab.close();
      }
    } finally {
      await browser.close();
    }
  });
});
