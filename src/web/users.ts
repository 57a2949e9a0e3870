// The web page's members: names, roles (viewer sees; reviewer also restores, marks and reviews) and passwords
// stored as salted scrypt hashes (node:crypto) in the decision log's `users` table.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Db } from '../db/index.js';
import { timestamp } from '../db/index.js';
import { CommandFailure, UsageError } from '../cli-kit/command-kit.js';

export const roles = ['viewer', 'reviewer'] as const;
export type Role = (typeof roles)[number];

export interface User {
  name: string;
  role: Role;
  created_at: string;
  updated_at: string;
}

/** N = 2^15 (about 50-100 ms per check here), r = 8, p = 1: 32 MiB of memory per check. */
const params = { N: 1 << 15, r: 8, p: 1, keylen: 32 } as const;

function scryptAsync(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

const maxmem = 64 * 1024 * 1024;

/** `scrypt$N$r$p$salt$hash` (base64url). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, params.keylen, { N: params.N, r: params.r, p: params.p, maxmem });
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await scryptAsync(password, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem,
  });
  return timingSafeEqual(key, expected);
}

/** A hash of nothing anyone knows: checked against when the user does not exist, so both cases take as long. */
let decoy: Promise<string> | undefined;

export async function checkCredentials(db: Db, name: unknown, password: unknown): Promise<User | null> {
  if (typeof name !== 'string' || typeof password !== 'string' || name.length > 200 || password.length > 1024) {
    return null;
  }
  const row = db
    .prepare('SELECT name, role, password_hash, created_at, updated_at FROM users WHERE name = ?')
    .get(name) as (User & { password_hash: string }) | undefined;
  if (row === undefined) {
    decoy ??= hashPassword(randomBytes(16).toString('hex'));
    await verifyPassword(password, await decoy);
    return null;
  }
  if (!(await verifyPassword(password, row.password_hash))) return null;
  const { password_hash: _, ...user } = row;
  return user;
}

export function checkUserName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(name)) {
    throw new UsageError(
      `user name '${name}' must be 1-64 letters, digits, '.', '_', '@' or '-' ` + '(starting with a letter or digit)',
    );
  }
  return name;
}

export function checkPassword(password: string): string {
  // A bad name or password is the caller's mistake, not a failure: a usage error (exit 2), as the README says.
  if (password.length < 8) throw new UsageError('the password must have at least 8 characters');
  if (password.length > 1024) throw new UsageError('the password must have at most 1024 characters');
  return password;
}

export async function addUser(db: Db, name: string, role: Role, password: string): Promise<void> {
  checkUserName(name);
  const hash = await hashPassword(checkPassword(password));
  const { time } = timestamp();
  const result = db
    .prepare(
      `INSERT INTO users (name, role, password_hash, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
    )
    .run(name, role, hash, time, time);
  if (result.changes === 0) {
    throw new CommandFailure(`user '${name}' exists already (use 'birdwatch user passwd ${name}' for a new password)`);
  }
}

export function listUsers(db: Db): User[] {
  return db.prepare('SELECT name, role, created_at, updated_at FROM users ORDER BY name').all() as User[];
}

/** Removes the user and ends their sessions. */
export function removeUser(db: Db, name: string): void {
  db.transaction(() => {
    db.prepare('DELETE FROM sessions WHERE user_name = ?').run(name);
    if (db.prepare('DELETE FROM users WHERE name = ?').run(name).changes === 0) {
      throw new CommandFailure(`no user '${name}'`);
    }
  }).immediate();
}

/** Sets a new password and ends the user's sessions (a stolen session dies with the old password). */
export async function setPassword(db: Db, name: string, password: string): Promise<void> {
  const hash = await hashPassword(checkPassword(password));
  db.transaction(() => {
    const result = db
      .prepare('UPDATE users SET password_hash = ?, updated_at = ? WHERE name = ?')
      .run(hash, timestamp().time, name);
    if (result.changes === 0) throw new CommandFailure(`no user '${name}'`);
    db.prepare('DELETE FROM sessions WHERE user_name = ?').run(name);
  }).immediate();
}
