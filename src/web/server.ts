// `birdwatch web`'s HTTP server: the one module that owns Fastify. Routes are thin: they parse the request, call
// one function in src/query or src/review (or the thumbnail cache), and answer HTML (pages.ts) or JSON (rows as
// `log --json` prints them, stats as `stats --json`). Also here: sessions in a cookie (HttpOnly, SameSite=Strict),
// roles, the CSRF header on every action, login slowing and rate limits, and the security headers (a CSP without
// inline script).
import { timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { fromProjectRoot, type Config } from '../config/index.js';
import type { Db } from '../db/index.js';
import { clubPromise, type CameraPromise } from '../calibrate/promise.js';
import { modelFileInfo, type ModelFileInfo } from '../model/file-info.js';
import { decisionPage } from '../query/decision-page.js';
import { listDecisions, type DecisionRecord } from '../query/decision-list.js';
import { computeHistograms } from '../query/histograms.js';
import { computeStats } from '../query/stats.js';
import { ActionError } from '../review/errors.js';
import { shotHistory } from '../review/history.js';
import { markShot } from '../review/mark.js';
import { restoreShot } from '../review/restore.js';
import { pickSampleShot, recordReview, reviewSummary } from '../review/sample.js';
import { BadQuery, decisionFilterFrom, statsFilterFrom, type Query } from './filters.js';
import { LoginLimits } from './login-limits.js';
import { readModelInfo } from './model-card.js';
import * as pages from './pages.js';
import {
  createSession,
  endSession,
  findSession,
  SESSION_COOKIE,
  SESSION_LIFETIME_MS,
  type Session,
} from './sessions.js';
import { contentTypeOf, openShotFile, ShotFileError } from './shot-files.js';
import { thresholdMarkers } from './threshold-markers.js';
import { Thumbnails } from './thumbnails.js';
import { checkCredentials } from './users.js';

/** Static files, read from the source tree (no build step; dist/ finds them through the project root). */
export const STATIC_DIR = fromProjectRoot('src', 'web', 'static');
const staticTypes: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/**
 * Who may use a route: anyone; a viewer (or anyone, with web.publicRead); any logged-in member; a logged-in member
 * sending the session's CSRF token (logout); a reviewer sending it (every action).
 */
type Access = 'public' | 'view' | 'member' | 'session' | 'act';

declare module 'fastify' {
  interface FastifyRequest {
    session: Session | null;
    sessionToken: string | undefined;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

/**
 * Failed logins: after this many from one address (or for one user name) within the window, 429 until it ends. Each
 * attempt counts before its password is checked (given back when it succeeds), so parallel guesses cannot pass.
 */
const LOGIN_FAILURES = { perAddress: 20, perUser: 5, windowMs: 15 * 60_000, delayMs: 400 };

/** The server (not listening yet) over an open read-write decision log; `log` gets one line per member action. */
export async function createWebServer(
  config: Config,
  db: Db,
  log: (line: string) => void = () => {},
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, trustProxy: ['127.0.0.1', '::1'], bodyLimit: 64 * 1024 });
  const thumbnails = new Thumbnails(config, config.web.thumbnails);
  const staticFiles = new Map(
    fs
      .readdirSync(STATIC_DIR)
      .filter((name) => staticTypes[path.extname(name)])
      .map((name) => [name, fs.readFileSync(path.join(STATIC_DIR, name))]),
  );

  await app.register(cookie);
  const loginLimits = new LoginLimits(
    { address: LOGIN_FAILURES.perAddress, user: LOGIN_FAILURES.perUser },
    LOGIN_FAILURES.windowMs,
  );

  // A JSON body may be empty (POST .../restore with no body); other content types are refused (415), so a
  // cross-site HTML form can never post to the API: Fastify's own text/plain parser goes too (a form may send
  // text/plain).
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(null, {});
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(Object.assign(new Error('the body is not valid JSON'), { statusCode: 400 }), undefined);
    }
  });

  app.decorateRequest('session', null);
  app.decorateRequest('sessionToken', undefined);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('Content-Security-Policy', CSP);
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'same-origin');
    reply.header('X-Frame-Options', 'DENY');
    request.sessionToken = request.cookies[SESSION_COOKIE];
    request.session = findSession(db, request.sessionToken);
  });
  app.addHook('preHandler', async (request, reply) => {
    if (request.is404) return; // the not-found handler answers without revealing more
    const access = request.routeOptions.config.access ?? 'act';
    if (access === 'public') return;
    const session = request.session;
    const api = request.url.startsWith('/api/');
    if (session === null) {
      if (access === 'view' && config.web.publicRead) return;
      if (api) return reply.code(401).send({ error: 'log in first (POST /api/login)' });
      return reply.redirect(`/login?next=${encodeURIComponent(request.url)}`);
    }
    if (access === 'view' || access === 'member') return;
    const token = request.headers['x-csrf-token'];
    if (typeof token !== 'string' || !sameText(token, session.csrf)) {
      return reply.code(403).send({ error: 'missing or wrong X-CSRF-Token header (use the csrf from /api/session)' });
    }
    if (access === 'act' && session.role !== 'reviewer') {
      return reply.code(403).send({ error: `${session.user} is a viewer: only reviewers restore, mark and review` });
    }
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, request, reply) => {
    const api = request.url.startsWith('/api/') || request.url === '/healthz';
    let status = 500;
    let message = 'internal error (see the service log)';
    if (err instanceof BadQuery) [status, message] = [400, err.message];
    else if (err instanceof ActionError) {
      status = err.kind === 'invalid' ? 400 : err.kind === 'not-found' ? 404 : 409;
      message = err.message;
    } else if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      [status, message] = [err.statusCode, err.message];
    }
    if (status === 500) log(`error: ${request.method} ${request.url}: ${err.stack ?? err.message}`);
    if (api) return reply.code(status).send({ error: message });
    return reply
      .code(status)
      .type('text/html; charset=utf-8')
      .send(pages.errorPage(pageContext(request, ''), status, message));
  });
  app.setNotFoundHandler((request, reply) => {
    if (request.url.startsWith('/api/')) return reply.code(404).send({ error: 'no such API route' });
    return reply
      .code(404)
      .type('text/html; charset=utf-8')
      .send(pages.errorPage(pageContext(request, ''), 404, 'There is no such page.'));
  });

  const pageContext = (request: FastifyRequest, current: string): pages.PageContext => ({
    session: request.session,
    config,
    current,
  });
  const page = (reply: FastifyReply, text: string): FastifyReply =>
    reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(text);
  const view = { config: { access: 'view' as Access } };
  const act = { config: { access: 'act' as Access } };
  const pub = { config: { access: 'public' as Access } };

  /** The decision with this id as `log --json` shows it, or a 404. */
  const oneDecision = (idText: string): DecisionRecord => {
    const id = /^\d{1,15}$/.test(idText) ? Number(idText) : NaN;
    if (!Number.isFinite(id)) throw new ActionError('not-found', `no decision with id ${idText}`);
    const [row] = [...listDecisions(db, { id }, 1)];
    if (row === undefined) throw new ActionError('not-found', `no decision with id ${id} in the log`);
    return row;
  };

  // ---- static files and health ----
  app.get<{ Params: { file: string } }>('/static/:file', pub, async (request, reply) => {
    const bytes = staticFiles.get(request.params.file);
    if (bytes === undefined) return reply.code(404).send({ error: 'no such file' });
    return reply
      .type(staticTypes[path.extname(request.params.file)]!)
      .header('Cache-Control', 'max-age=3600')
      .send(bytes);
  });
  app.get('/healthz', pub, async (_request, reply) => {
    try {
      db.prepare('SELECT count(*) FROM sqlite_master').pluck().get();
      return { ok: true };
    } catch (err) {
      return reply.code(503).send({ ok: false, error: (err as Error).message });
    }
  });

  // ---- session API ----
  app.post<{ Body: { username?: unknown; password?: unknown } }>('/api/login', pub, async (request, reply) => {
    const body = request.body ?? {};
    const keys = [`address:${request.ip}`, `user:${String(body.username)}`];
    const waitMs = loginLimits.take(keys); // counted before the check, so parallel guesses cannot pass the limit
    if (waitMs > 0) {
      return reply
        .code(429)
        .header('Retry-After', String(Math.ceil(waitMs / 1000)))
        .send({ error: 'too many failed logins: wait and try again' });
    }
    const user = await checkCredentials(db, body.username, body.password);
    if (user === null) {
      await sleep(LOGIN_FAILURES.delayMs);
      return reply.code(401).send({ error: 'wrong user name or password' });
    }
    loginLimits.giveBack(keys);
    const { token, csrf } = createSession(db, user.name);
    reply.setCookie(SESSION_COOKIE, token, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: request.protocol === 'https',
      maxAge: SESSION_LIFETIME_MS / 1000,
    });
    return { user: user.name, role: user.role, csrf };
  });
  app.post('/api/logout', { config: { access: 'session' } }, async (request, reply) => {
    endSession(db, request.sessionToken);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true };
  });
  app.get('/api/session', { config: { access: 'member' as Access } }, async (request) => request.session);

  // ---- decisions API ----
  app.get<{ Querystring: Query }>('/api/decisions', view, async (request) => {
    const { filter, limit } = decisionFilterFrom(request.query);
    return decisionPage(db, filter, limit);
  });
  app.get<{ Params: { id: string } }>('/api/decisions/:id', view, async (request) => oneDecision(request.params.id));
  app.get<{ Params: { id: string } }>('/api/decisions/:id/image', view, async (request, reply) => {
    const row = oneDecision(request.params.id);
    try {
      const { handle, stat } = await openShotFile(config, row.current_path);
      const type = contentTypeOf(row.format);
      // Not an image format the daemon recognised: a download, never rendered as a page.
      if (!type.startsWith('image/')) reply.header('Content-Disposition', 'attachment');
      return reply
        .type(type)
        .header('Content-Length', stat.size)
        .header('Cache-Control', 'private, max-age=60')
        .send(handle.createReadStream());
    } catch (err) {
      if (!(err instanceof ShotFileError)) throw err;
      const status = err.kind === 'missing' ? 404 : err.kind === 'too-large' ? 413 : 403;
      return reply.code(status).send({ error: err.message });
    }
  });
  app.get<{ Params: { id: string } }>('/api/decisions/:id/thumbnail', view, async (request, reply) => {
    const row = oneDecision(request.params.id);
    const thumbnail = await thumbnails.get(row);
    return reply
      .type(thumbnail.type)
      .header('Cache-Control', thumbnail.real ? 'private, max-age=86400' : 'no-store')
      .send(thumbnail.bytes);
  });
  app.post<{ Params: { id: string } }>('/api/decisions/:id/restore', act, async (request) => {
    const id = oneDecision(request.params.id).id;
    const result = await restoreShot(config, String(id), request.session!.user);
    if (!result.already) log(`restore decision ${id} by ${result.member}: ${result.from} -> ${result.to}`);
    return result;
  });
  app.post<{ Params: { id: string }; Body: { label?: unknown; move?: unknown } }>(
    '/api/decisions/:id/mark',
    act,
    async (request) => {
      const id = oneDecision(request.params.id).id;
      const body = request.body ?? {};
      const result = await markShot(config, String(id), body as never, request.session!.user);
      const where = result.moved ? `: ${result.from} -> ${result.to}` : '';
      log(`mark decision ${id} ${result.label} by ${result.member}${where}`);
      return result;
    },
  );
  app.get<{ Querystring: Query }>('/api/stats', view, async (request) => {
    const filter = statsFilterFrom(request.query);
    // As `stats --json`: the figures and where each camera stands with the promise.
    return {
      ...computeStats(db, filter),
      promise: promiseNow().filter((p) => filter.camera === undefined || p.camera === filter.camera),
    };
  });

  // ---- review-sample API ----
  app.get('/api/review/next', view, async () => ({ decision: pickSampleShot(db, config.calibration.sampling) }));
  app.get<{ Querystring: Query }>('/api/review/summary', view, async (request) =>
    reviewSummary(db, statsFilterFrom(request.query)),
  );
  app.post<{ Params: { id: string }; Body: { label?: unknown } }>('/api/review/:id', act, async (request) => {
    const id = oneDecision(request.params.id).id;
    return recordReview(db, id, (request.body ?? {}).label, request.session!.user);
  });

  // ---- pages ----
  app.get<{ Querystring: Query }>('/login', pub, async (request, reply) => {
    const next =
      typeof request.query.next === 'string' && isSameOriginPath(request.query.next) ? request.query.next : '/';
    return page(reply, pages.loginPage(pageContext(request, '/login'), next));
  });
  app.get<{ Querystring: Query }>('/', view, async (request, reply) => {
    const { filter, limit } = decisionFilterFrom(request.query);
    const { decisions, next } = decisionPage(db, filter, Math.min(limit, 100));
    return page(reply, pages.decisionsPage(pageContext(request, '/'), request.query, decisions, next));
  });
  app.get<{ Querystring: Query }>('/quarantine', view, async (request, reply) => {
    const { filter } = decisionFilterFrom(request.query);
    const { decisions, next } = decisionPage(db, { ...filter, action: 'moved' }, 48);
    return page(reply, pages.quarantinePage(pageContext(request, '/quarantine'), request.query, decisions, next));
  });
  app.get<{ Params: { id: string } }>('/shot/:id', view, async (request, reply) => {
    const row = oneDecision(request.params.id);
    return page(reply, pages.shotPage(pageContext(request, ''), row, shotHistory(db, row.id)));
  });
  // The promise per camera for the serving model (src/calibrate/promise.ts); the model file is hashed again only
  // when it changed. A model that cannot be read shows no promise (the /model page says why).
  let modelSeen: { key: string; info: ModelFileInfo } | undefined;
  const promiseNow = (): CameraPromise[] => {
    try {
      const stat = fs.statSync(config.model);
      const key = `${stat.mtimeMs}:${stat.size}`;
      if (modelSeen?.key !== key) modelSeen = { key, info: modelFileInfo(config.model) };
      return clubPromise(config, db, modelSeen.info);
    } catch (err) {
      log(`the promise cannot be shown: ${(err as Error).message}`);
      return [];
    }
  };
  app.get('/api/promise', view, async () => ({ cameras: promiseNow() }));
  app.get<{ Querystring: Query }>('/stats', view, async (request, reply) => {
    const filter = statsFilterFrom(request.query, '30d');
    const stats = computeStats(db, filter);
    const markers = thresholdMarkers(config, readModelInfo(config.model), filter.camera);
    return page(
      reply,
      pages.statsPage(
        pageContext(request, '/stats'),
        { since: '30d', ...request.query },
        stats,
        computeHistograms(db, filter),
        markers,
        promiseNow().filter((p) => filter.camera === undefined || p.camera === filter.camera),
      ),
    );
  });
  app.get('/model', view, async (request, reply) =>
    page(reply, pages.modelPage(pageContext(request, '/model'), readModelInfo(config.model))),
  );
  app.get('/review', view, async (request, reply) => {
    const sample = request.session?.role === 'reviewer' ? pickSampleShot(db, config.calibration.sampling) : null;
    return page(reply, pages.reviewPage(pageContext(request, '/review'), reviewSummary(db), sample, promiseNow()));
  });

  return app;
}

/**
 * Whether `next` (where to go after logging in) is a path on this site: it starts with '/', resolves to the same
 * origin, and has no backslash or control character (browsers read `/\evil.com` and `/<TAB>/evil.com` as
 * `//evil.com`). static/app.js checks the same before it follows `next`.
 */
export function isSameOriginPath(next: string): boolean {
  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  if (!next.startsWith('/') || /[\\\u0000-\u001f\u007f]/.test(next)) return false;
  try {
    return new URL(next, 'http://x').origin === 'http://x';
  } catch {
    return false; // no URL at all (`//[`)
  }
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
