// Login sessions of the web page, in the decision log's `sessions` table rather than in memory: a restart of
// `birdwatch web` (an upgrade, a config change) does not log members out at the hide, and `birdwatch user remove`
// or `passwd` ends a member's sessions at once, from another process. Only the SHA-256 of each token is stored.
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../db/index.js';
import type { Role } from './users.js';

export const SESSION_COOKIE = 'birdwatch_session';
/** A session lasts 30 days from login. */
export const SESSION_LIFETIME_MS = 30 * 86_400_000;

export interface Session {
  user: string;
  role: Role;
  csrf: string;
}

const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export function createSession(db: Db, user: string): { token: string; csrf: string } {
  const token = randomBytes(32).toString('base64url');
  const csrf = randomBytes(24).toString('base64url');
  const now = Date.now();
  db.transaction(() => {
    db.prepare('DELETE FROM sessions WHERE expires_ms < ?').run(now);
    db.prepare(`INSERT INTO sessions (token_hash, user_name, csrf, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?)`).run(
      hashToken(token),
      user,
      csrf,
      now,
      now + SESSION_LIFETIME_MS,
    );
  }).immediate();
  return { token, csrf };
}

export function findSession(db: Db, token: string | undefined): Session | null {
  if (!token || token.length > 100) return null;
  const row = db
    .prepare(
      `SELECT u.name AS user, u.role AS role, s.csrf AS csrf
      FROM sessions s JOIN users u ON u.name = s.user_name WHERE s.token_hash = ? AND s.expires_ms > ?`,
    )
    .get(hashToken(token), Date.now()) as Session | undefined;
  return row ?? null;
}

export function endSession(db: Db, token: string | undefined): void {
  if (token) db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(hashToken(token));
}
