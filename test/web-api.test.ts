// The web page's JSON API against the real server (`birdwatch web` as a child process) on a decision log filled by
// the real daemon: the contract (rows exactly as `log --json`, stats exactly as `stats --json`, paging), sessions,
// roles, CSRF, login limits, the same restore/mark behaviour and refusals as the CLI, file safety, escaping, CSP.
import { existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../src/db/migrations.js';
import { runCli } from './helpers/daemon.js';
import { query } from './helpers/decisions.js';
import { sha256 } from './helpers/images.js';
import { dropShot, jsonLines, useWorld } from './log-shared.js';
import { addUser, call, login, startWeb, type Session, type WebProcess } from './web-shared.js';

const world = useWorld('bw-web-api-');
let web: WebProcess;
let rita: Session; // reviewer
let vic: Session; // viewer
const hostileName = '<img src=x onerror=alert(1)>.jpg';

beforeAll(async () => {
  await addUser(world, 'rita', 'reviewer', 'rita-password');
  await addUser(world, 'vic', 'viewer', 'vic-password');
  await addUser(world, 'lou', 'viewer', 'lou-password');
  await dropShot(world, world.garden, hostileName, await world.newBird());
  web = await startWeb(world);
  rita = await login(web.base, 'rita', 'rita-password');
  vic = await login(web.base, 'vic', 'vic-password');
}, 120_000);

const json = async (response: Response): Promise<any> => {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`not JSON (${response.status}): ${text.slice(0, 200)}`);
  }
};

describe('birdwatch web: sessions and access', () => {
  it('answers 401 on every /api route but login without a session; healthz is open; pages send to /login', async () => {
    const routes: Array<[string, string]> = [
      ['GET', '/api/session'],
      ['GET', '/api/decisions'],
      ['GET', '/api/decisions/1'],
      ['GET', '/api/decisions/1/image'],
      ['GET', '/api/decisions/1/thumbnail'],
      ['GET', '/api/stats'],
      ['POST', '/api/decisions/1/restore'],
      ['POST', '/api/decisions/1/mark'],
      ['POST', '/api/logout'],
      ['GET', '/api/review/next'],
      ['GET', '/api/review/summary'],
      ['POST', '/api/review/1'],
    ];
    for (const [method, path] of routes) {
      const response = await call(web.base, path, null, { method, body: method === 'POST' ? {} : undefined });
      expect(response.status, `${method} ${path}`).toBe(401);
      expect(await json(response)).toHaveProperty('error');
    }
    expect(await json(await call(web.base, '/healthz', null))).toEqual({ ok: true });
    for (const page of ['/', '/quarantine', '/shot/1', '/stats', '/model', '/review']) {
      const response = await call(web.base, page, null);
      expect(response.status, page).toBe(302);
      expect(response.headers.get('location')).toBe(`/login?next=${encodeURIComponent(page)}`);
    }
    expect((await call(web.base, '/login', null)).status).toBe(200);
  });

  it('after login sends only to a path on this site: /\\evil.com, /<TAB>/evil.com, //evil.com go to /', async () => {
    const nextOf = async (qs: string): Promise<string> => {
      const response = await call(web.base, `/login?next=${qs}`, null);
      expect(response.status, qs).toBe(200);
      const match = /data-next="([^"]*)"/.exec(await response.text());
      expect(match, qs).not.toBeNull();
      return match![1]!;
    };
    expect(await nextOf('%2Fstats')).toBe('/stats');
    expect(await nextOf('%2Fshot%2F12')).toBe('/shot/12');
    for (const payload of [
      '/%5Cevil.com',
      '/%09/evil.com',
      '%2F%5Cevil.com',
      '/%0A/evil.com',
      '//evil.com',
      '%2F%2Fevil.com',
      'https://evil.com/',
      '/%5C%5Cevil.com',
      'evil.com',
      '//%5B',
    ]) {
      expect(await nextOf(payload), payload).toBe('/');
    }
  });

  it('logs in with an HttpOnly SameSite=Strict cookie, tells the session, refuses bad logins, logs out', async () => {
    const response = await fetch(`${web.base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'rita', password: 'rita-password' }),
    });
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body).toEqual({ user: 'rita', role: 'reviewer', csrf: expect.any(String) });
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith('birdwatch_session='))!;
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; SameSite=Strict/i);
    const session = { cookie: cookie.split(';')[0]!, csrf: body.csrf, user: 'rita', role: 'reviewer' };
    expect(await json(await call(web.base, '/api/session', session))).toEqual({
      user: 'rita',
      role: 'reviewer',
      csrf: body.csrf,
    });

    for (const [username, password] of [
      ['rita', 'wrong-password'],
      ['nobody-here', 'whatever1'],
      ['rita', ''],
    ]) {
      const wrong = await fetch(`${web.base}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.getSetCookie()).toEqual([]);
    }
    // Not JSON (a cross-site form post): refused before any credential is checked.
    const form = await fetch(`${web.base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=rita&password=rita-password',
    });
    expect(form.status).toBe(415);
    // text/plain, which a cross-site form can send too, and which Fastify parses by default: refused the same way.
    const plain = await fetch(`${web.base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ username: 'rita', password: 'rita-password' }),
    });
    expect(plain.status).toBe(415);
    const plainAction = await fetch(`${web.base}/api/decisions/1/restore`, {
      method: 'POST',
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrf, 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(plainAction.status).toBe(415);

    expect((await call(web.base, '/api/logout', session, { method: 'POST', csrf: false })).status).toBe(403);
    expect((await call(web.base, '/api/logout', session, { method: 'POST' })).status).toBe(200);
    expect((await call(web.base, '/api/session', session)).status).toBe(401);
    expect((await call(web.base, '/api/session', rita)).status).toBe(200); // other sessions live on
  });

  it('rate-limits failed logins per user: after 5 failures even the right password gets 429', async () => {
    const attempt = (password: string): Promise<Response> =>
      fetch(`${web.base}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'lou', password }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await attempt('not-lous-password')).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses[5]).toBe(429);
    const right = await attempt('lou-password');
    expect(right.status).toBe(429);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another member logging in from the same address is not locked out.
    expect((await login(web.base, 'vic', 'vic-password')).role).toBe('viewer');
  });

  it('counts a login before checking it: 50 wrong passwords at once for one user, at most 5 answered 401', async () => {
    await addUser(world, 'pat', 'viewer', 'pat-password');
    const attempt = (password: string): Promise<Response> =>
      fetch(`${web.base}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'pat', password }),
      });
    const statuses = await Promise.all(
      Array.from({ length: 50 }, () => attempt('not-pats-password').then((r) => r.status)),
    );
    const unauthorized = statuses.filter((s) => s === 401).length;
    expect(unauthorized).toBeGreaterThan(0);
    expect(unauthorized).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 429).length).toBe(50 - unauthorized);
    expect((await attempt('pat-password')).status).toBe(429);
    // A login that succeeds gives its attempt back: a member logging in often is never locked out by it.
    for (let i = 0; i < 25; i++) expect((await login(web.base, 'vic', 'vic-password')).user).toBe('vic');
  });

  it('user remove and passwd end sessions at once; user list shows roles', async () => {
    await addUser(world, 'tmp', 'reviewer', 'tmp-password');
    const tmp = await login(web.base, 'tmp', 'tmp-password');
    const listed = jsonLines((await world.cli(['user', 'list', '--json'])).stdout);
    expect(listed.map((u) => [u.name, u.role])).toEqual([
      ['lou', 'viewer'],
      ['pat', 'viewer'],
      ['rita', 'reviewer'],
      ['tmp', 'reviewer'],
      ['vic', 'viewer'],
    ]);
    const passwd = await runCli(['user', 'passwd', 'tmp', '--config', world.config], { input: 'new-tmp-password\n' });
    expect(passwd.code, passwd.stderr).toBe(0);
    expect((await call(web.base, '/api/session', tmp)).status).toBe(401);
    const again = await login(web.base, 'tmp', 'new-tmp-password');
    const removed = await world.cli(['user', 'remove', 'tmp']);
    expect(removed.code, removed.stderr).toBe(0);
    expect((await call(web.base, '/api/session', again)).status).toBe(401);
    // Refusals: a short password, a taken name, a bad role, an unknown user.
    const short = await runCli(['user', 'add', 'x', '--role', 'viewer', '--config', world.config], {
      input: 'short\n',
    });
    expect([short.code, short.stderr]).toEqual([2, expect.stringMatching(/^birdwatch: .*at least 8/)]); // usage error
    const taken = await runCli(['user', 'add', 'rita', '--role', 'viewer', '--config', world.config], {
      input: 'long-enough\n',
    });
    expect([taken.code, taken.stderr]).toEqual([1, expect.stringMatching(/exists already/)]);
    const role = await world.cli(['user', 'add', 'y', '--role', 'admin']);
    expect([role.code, role.stderr]).toEqual([
      2,
      expect.stringMatching(/^birdwatch: --role must be one of viewer, reviewer/),
    ]);
    expect((await world.cli(['user', 'remove', 'ghost'])).stderr).toMatch(/^birdwatch: no user 'ghost'/);
    expect(query(world.dirs.db, 'PRAGMA user_version')).toEqual([{ user_version: SCHEMA_VERSION }]);
  });
});

describe('birdwatch web: the read API matches the CLI', () => {
  it('GET /api/decisions gives exactly the rows of log --json, with every filter, and pages through them', async () => {
    const filters: Array<[string, string[]]> = [
      ['', []],
      ['camera=pond', ['--camera', 'pond']],
      ['label=airplane', ['--label', 'airplane']],
      ['action=failed', ['--action', 'failed']],
      ['min_p=0.5&max_p=1', ['--min-p', '0.5', '--max-p', '1']],
      [`path=${encodeURIComponent('plane')}`, ['--path', 'plane']],
      ['since=1d', ['--since', '1d']],
    ];
    const [{ model_id: modelId }] = query<{ model_id: string }>(
      world.dirs.db,
      'SELECT model_id FROM decisions WHERE model_id IS NOT NULL LIMIT 1',
    );
    filters.push(
      [`model=${encodeURIComponent(modelId)}`, ['--model', modelId]],
      [`model=${encodeURIComponent(modelId)}&action=moved`, ['--model', modelId, '--action', 'moved']],
    );
    for (const [qs, flags] of filters) {
      const api = await json(await call(web.base, `/api/decisions?limit=500&${qs}`, vic));
      const cli = jsonLines((await world.cli(['log', '--json', ...flags])).stdout);
      expect(cli.length, qs).toBeGreaterThan(0);
      expect(api, qs).toEqual({ decisions: cli, next: null });
    }
    // Paging: two at a time, following `next`, gives the same rows in the same order.
    const all = jsonLines((await world.cli(['log', '--json'])).stdout);
    const paged: unknown[] = [];
    let cursor: string | null = null;
    do {
      const page = await json(await call(web.base, `/api/decisions?limit=2${cursor ? `&before=${cursor}` : ''}`, vic));
      expect(page.decisions.length).toBeLessThanOrEqual(2);
      paged.push(...page.decisions);
      cursor = page.next;
    } while (cursor !== null);
    expect(paged).toEqual(all);
    // Every decision here is one model's; a model that decided nothing gets no rows, as in the CLI.
    expect(jsonLines((await world.cli(['log', '--json', '--model', 'no-such-model'])).stdout)).toEqual([]);
    expect(await json(await call(web.base, '/api/decisions?model=no-such-model', vic))).toEqual({
      decisions: [],
      next: null,
    });
    // The decisions page filters by model too, and its form keeps the value.
    const pageText = await (await call(web.base, '/?model=no-such-model', vic)).text();
    expect(pageText).toContain('<input name="model" value="no-such-model"');
    expect(pageText).toContain('No decisions match.');
    expect(await (await call(web.base, `/?model=${encodeURIComponent(modelId)}`, vic)).text()).not.toContain(
      'No decisions match.',
    );
    for (const bad of [
      'label=fish',
      'action=x',
      'min_p=2',
      'since=yesterday-ish',
      'limit=0',
      'before=abc',
      'corrected=maybe',
    ]) {
      const response = await call(web.base, `/api/decisions?${bad}`, vic);
      expect(response.status, bad).toBe(400);
      expect((await json(response)).error, bad).toEqual(expect.any(String));
    }
  });

  it("GET /api/decisions/ID is one log row; /image the file's bytes where it is now; /thumbnail a WebP", async () => {
    const planeRow = world.row(world.garden, 'plane-two.jpg');
    const [cliRow] = jsonLines((await world.cli(['log', '--json', '--path', 'plane-two'])).stdout);
    expect(await json(await call(web.base, `/api/decisions/${planeRow.id}`, vic))).toEqual(cliRow);
    const image = await call(web.base, `/api/decisions/${planeRow.id}/image`, vic);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/jpeg');
    expect(sha256(Buffer.from(await image.arrayBuffer()))).toBe(sha256(readFileSync(cliRow.current_path)));

    const thumb = await call(web.base, `/api/decisions/${planeRow.id}/thumbnail`, vic);
    expect(thumb.headers.get('content-type')).toBe('image/webp');
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect(meta.format).toBe('webp');
    expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(320);
    expect(Math.max(meta.width!, meta.height!)).toBeGreaterThan(100);
    // Cached on disk by content; asked again, the same bytes.
    const cacheFile = join(world.dirs.root, 'thumbnails', `${planeRow.sha256}.webp`);
    expect(existsSync(cacheFile)).toBe(true);
    const again = await call(web.base, `/api/decisions/${planeRow.id}/thumbnail`, vic);
    expect(Buffer.from(await again.arrayBuffer())).toEqual(readFileSync(cacheFile));

    // A failed decision (not an image) gets the placeholder, not an error.
    const broken = world.row(world.garden, 'broken.jpg');
    const placeholder = await call(web.base, `/api/decisions/${broken.id}/thumbnail`, vic);
    expect(placeholder.status).toBe(200);
    expect((await sharp(Buffer.from(await placeholder.arrayBuffer())).metadata()).format).toBe('webp');
    expect(placeholder.headers.get('cache-control')).toBe('no-store');
    expect((await call(web.base, '/api/decisions/999999', vic)).status).toBe(404);
    expect((await call(web.base, '/api/decisions/abc/image', vic)).status).toBe(404);
  });

  it('GET /api/stats is stats --json', async () => {
    for (const [qs, flags] of [
      ['', []],
      ['camera=garden', ['--camera', 'garden']],
    ] as Array<[string, string[]]>) {
      const cli = JSON.parse((await world.cli(['stats', '--json', ...flags])).stdout);
      expect(await json(await call(web.base, `/api/stats?${qs}`, vic)), qs).toEqual(cli);
    }
  });
});

describe('birdwatch web: actions', () => {
  it('a viewer cannot act; a reviewer needs the CSRF header; nothing moves on a refusal', async () => {
    const moved = world.row(world.garden, '2026/plane one.jpg');
    const path = `/api/decisions/${moved.id}/restore`;
    expect((await call(web.base, path, vic, { method: 'POST' })).status).toBe(403);
    expect((await call(web.base, path, rita, { method: 'POST', csrf: false })).status).toBe(403);
    expect((await call(web.base, path, rita, { method: 'POST', csrf: 'x'.repeat(32) })).status).toBe(403);
    expect((await call(web.base, path, rita, { method: 'POST', csrf: vic.csrf })).status).toBe(403);
    expect(
      (await call(web.base, `/api/review/${moved.id}`, vic, { method: 'POST', body: { label: 'bird' } })).status,
    ).toBe(403);
    expect(existsSync(moved.final_path)).toBe(true);
    expect(query(world.dirs.db, 'SELECT * FROM corrections WHERE decision_id = ?', moved.id)).toEqual([]);
  });

  it('restore puts the bird back like the CLI, records the member; log shows it; a second one says so', async () => {
    const moved = world.row(world.garden, '2026/plane one.jpg');
    const response = await call(web.base, `/api/decisions/${moved.id}/restore`, rita, { method: 'POST' }); // no body
    const result = await json(response);
    expect(response.status, JSON.stringify(result)).toBe(200);
    expect(result).toMatchObject({
      id: moved.id,
      already: false,
      from: moved.final_path,
      to: moved.path,
      wanted: moved.path,
      member: 'rita',
    });
    expect(existsSync(moved.path)).toBe(true);
    expect(existsSync(moved.final_path)).toBe(false);
    expect(
      query(world.dirs.db, 'SELECT label, kind, member, to_path FROM corrections WHERE decision_id = ?', moved.id),
    ).toEqual([{ label: 'bird', kind: 'restore', member: 'rita', to_path: moved.path }]);
    const [row] = jsonLines((await world.cli(['log', '--json', '--corrected', '--path', 'plane one'])).stdout);
    expect(row).toMatchObject({
      id: moved.id,
      corrected_label: 'bird',
      corrected_kind: 'restore',
      current_path: moved.path,
    });
    const again = await call(web.base, `/api/decisions/${moved.id}/restore`, rita, { method: 'POST', body: {} });
    expect(again.status).toBe(200);
    expect(await json(again)).toMatchObject({ already: true, to: moved.path });
  });

  it('refuses like the CLI: 409 for a kept shot, 404 for an unknown id, 400 for bad mark bodies', async () => {
    const robin = world.row(world.garden, 'robin.jpg');
    const kept = await call(web.base, `/api/decisions/${robin.id}/restore`, rita, { method: 'POST' });
    expect(kept.status).toBe(409);
    expect((await json(kept)).error).toMatch(/nothing to restore/);
    expect((await call(web.base, '/api/decisions/987654/restore', rita, { method: 'POST' })).status).toBe(404);
    for (const body of [{}, { label: 'fish' }, { label: 'bird', move: true }, { label: 'airplane', move: 'yes' }]) {
      const response = await call(web.base, `/api/decisions/${robin.id}/mark`, rita, { method: 'POST', body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect((await json(response)).error).toEqual(expect.any(String));
    }
    const bad = await fetch(`${web.base}/api/decisions/${robin.id}/mark`, {
      method: 'POST',
      headers: { cookie: rita.cookie, 'x-csrf-token': rita.csrf, 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(bad.status).toBe(400);
    expect(query(world.dirs.db, 'SELECT * FROM corrections WHERE decision_id = ?', robin.id)).toEqual([]);
  });

  it('mark records a label, or moves a kept airplane out, with the member; a moved one cannot move (409)', async () => {
    const heron = world.row(world.pond, 'heron.jpg');
    const marked = await json(
      await call(web.base, `/api/decisions/${heron.id}/mark`, rita, {
        method: 'POST',
        body: { label: 'bird', move: false },
      }),
    );
    expect(marked).toMatchObject({ id: heron.id, label: 'bird', moved: false, member: 'rita' });
    const wren = world.row(world.garden, 'sub/wren.jpg');
    const response = await call(web.base, `/api/decisions/${wren.id}/mark`, rita, {
      method: 'POST',
      body: { label: 'airplane', move: true },
    });
    const moved = await json(response);
    expect(response.status, JSON.stringify(moved)).toBe(200);
    expect(moved).toMatchObject({ moved: true, to: join(world.garden.airplanes, 'sub', 'wren.jpg') });
    expect(existsSync(moved.to)).toBe(true);
    expect(existsSync(wren.path)).toBe(false);
    expect(query(world.dirs.db, 'SELECT kind, member FROM corrections WHERE decision_id = ?', wren.id)).toEqual([
      { kind: 'mark-move', member: 'rita' },
    ]);
    const twice = await call(web.base, `/api/decisions/${wren.id}/mark`, rita, {
      method: 'POST',
      body: { label: 'airplane', move: true },
    });
    expect(twice.status).toBe(409);
  });

  it('the CLI records its OS user with a correction', async () => {
    const plane = world.row(world.pond, 'pond plane.jpg');
    const result = await world.cli(['mark', String(plane.id), '--label', 'airplane']);
    expect(result.code, result.stderr).toBe(0);
    const [{ member }] = query<{ member: string | null }>(
      world.dirs.db,
      'SELECT member FROM corrections WHERE decision_id = ?',
      plane.id,
    );
    expect(member).toBe(process.env.SUDO_USER || (await import('node:os')).userInfo().username);
  });

  it('review sample: draws decided shots, records labels apart from corrections, and summarises them', async () => {
    const decided = new Set(
      query<{ id: number }>(world.dirs.db, "SELECT id FROM decisions WHERE action IN ('moved', 'kept')").map(
        (r) => r.id,
      ),
    );
    const before = query(world.dirs.db, 'SELECT count(*) AS n FROM corrections');
    const labelled: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { decision } = await json(await call(web.base, '/api/review/next', rita));
      expect(decided.has(decision)).toBe(true);
      expect(labelled).not.toContain(decision); // never a shot already labelled
      const label = i === 0 ? 'neither' : 'bird';
      const response = await call(web.base, `/api/review/${decision}`, rita, { method: 'POST', body: { label } });
      expect(response.status).toBe(200);
      expect(await json(response)).toMatchObject({ decision_id: decision, label, member: 'rita' });
      labelled.push(decision);
    }
    const reviews = query<{ label: string; source: string }>(world.dirs.db, 'SELECT label, source FROM reviews');
    expect(reviews.map((r) => r.source)).toEqual(['sample', 'sample', 'sample']);
    expect(query(world.dirs.db, 'SELECT count(*) AS n FROM corrections')).toEqual(before);
    const summary = await json(await call(web.base, '/api/review/summary', vic));
    expect(summary).toMatchObject({ reviewed: 3, neither: 1, birds: 2 });
    expect(summary.birds_moved + summary.by_action.kept.bird).toBe(2);
    const broken = world.row(world.garden, 'broken.jpg');
    expect(
      (await call(web.base, `/api/review/${broken.id}`, rita, { method: 'POST', body: { label: 'bird' } })).status,
    ).toBe(409);
    expect(
      (await call(web.base, `/api/review/${labelled[0]}`, rita, { method: 'POST', body: { label: 'cat' } })).status,
    ).toBe(400);
  });
});

describe('birdwatch web: safety', () => {
  it('escapes every name, and every page carries a CSP without inline script', async () => {
    for (const page of ['/', '/quarantine', '/stats', '/model', '/review', '/login']) {
      const response = await call(web.base, page, vic);
      expect(response.status, page).toBe(200);
      const csp = response.headers.get('content-security-policy')!;
      expect(csp).toMatch(/script-src 'self'(;|$)/);
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
      const text = await response.text();
      expect(text, page).not.toMatch(/<script(?![^>]*\bsrc="\/static\/app\.js")/); // no inline script element
      if (page === '/') {
        expect(text).toContain('&lt;img src=x onerror=alert(1)&gt;.jpg');
        expect(text).not.toContain('<img src=x');
      }
    }
    const hostile = world.row(world.garden, hostileName);
    const shot = await (await call(web.base, `/shot/${hostile.id}`, vic)).text();
    expect(shot).toContain('&lt;img src=x onerror=alert(1)&gt;.jpg');
    expect(shot).not.toContain('<img src=x');
  });

  it('serves files only from the configured folders: a symlink planted in place of a shot is refused', async () => {
    // Its own shot, moved into a subfolder of the airplanes folder (no other test touches it), its thumbnail cached.
    const plane = await dropShot(world, world.garden, 'safety/sky.jpg', await world.newPlane());
    expect(plane.final_path).toBe(join(world.garden.airplanes, 'safety', 'sky.jpg'));
    expect((await call(web.base, `/api/decisions/${plane.id}/thumbnail`, vic)).status).toBe(200);
    const secret = join(world.dirs.root, 'secret.txt');
    writeFileSync(secret, 'not for the web\n');
    const kept = `${plane.final_path}.kept`;
    renameSync(plane.final_path, kept);
    symlinkSync(secret, plane.final_path);
    try {
      const image = await call(web.base, `/api/decisions/${plane.id}/image`, vic);
      expect(image.status).toBe(403);
      expect(await image.text()).not.toContain('not for the web');
      const thumb = await call(web.base, `/api/decisions/${plane.id}/thumbnail`, vic);
      expect(thumb.status).toBe(200); // cached earlier: the cache is by content, not by path
    } finally {
      unlinkSync(plane.final_path);
      renameSync(kept, plane.final_path);
    }
    // A folder holding a shot swapped for a symlink to a folder outside (test/web-shot-files.test.ts swaps it
    // between the check and the open).
    const sub = join(world.garden.airplanes, 'safety');
    const elsewhere = join(world.dirs.root, 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'sky.jpg'), 'not for the web either\n');
    renameSync(sub, `${sub}.kept`);
    symlinkSync(elsewhere, sub);
    try {
      const image = await call(web.base, `/api/decisions/${plane.id}/image`, vic);
      expect(image.status).toBe(403);
      expect(await image.text()).not.toContain('not for the web');
    } finally {
      unlinkSync(sub);
      renameSync(`${sub}.kept`, sub);
    }
    expect((await call(web.base, `/api/decisions/${plane.id}/image`, vic)).status).toBe(200);
    for (const path of [
      '/api/decisions/..%2F..%2Fetc%2Fpasswd/image',
      '/static/..%2Fserver.ts',
      '/static/../../package.json',
      '/api/decisions/1%2F..%2F2/image',
    ]) {
      const response = await call(web.base, path, vic);
      expect(response.status, path).toBe(404);
    }
  });

  it('web.publicRead lets anyone view, never act', async () => {
    const config = JSON.parse(readFileSync(world.config, 'utf8'));
    const publicConfig = join(world.dirs.root, 'public.json');
    writeFileSync(publicConfig, JSON.stringify({ ...config, web: { publicRead: true } }));
    const open = await startWeb({ ...world, config: publicConfig });
    try {
      expect((await call(open.base, '/', null)).status).toBe(200);
      expect((await call(open.base, '/api/decisions', null)).status).toBe(200);
      expect((await call(open.base, '/api/session', null)).status).toBe(401);
      const robin = world.row(world.garden, 'robin.jpg');
      expect(
        (await call(open.base, `/api/decisions/${robin.id}/mark`, null, { method: 'POST', body: { label: 'bird' } }))
          .status,
      ).toBe(401);
    } finally {
      await open.process.stop();
    }
  });

  it('refuses bad web config and --listen values with one clear line (exit 2)', async () => {
    const bad = await world.cli(['web', '--listen', 'localhost']);
    expect([bad.code, bad.stderr.trim()]).toEqual([
      2,
      'birdwatch: --listen must be HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), got "localhost"',
    ]);
    const config = JSON.parse(readFileSync(world.config, 'utf8'));
    for (const [web, message] of [
      [{ publicRead: 'yes' }, /'web.publicRead' in .* must be true or false/],
      [{ listen: 8080 }, /'web.listen' in .* must be a non-empty string/],
      [{ port: 1 }, /unknown key 'port' in 'web'/],
    ] as Array<[unknown, RegExp]>) {
      const file = join(world.dirs.root, 'bad-web.json');
      writeFileSync(file, JSON.stringify({ ...config, web }));
      const result = await runCli(['web', '--config', file]);
      expect(result.code, JSON.stringify(web)).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });
});
