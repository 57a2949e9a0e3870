// Exit codes as the README states them: a usage mistake (here a password too short, a bad user name) exits 2 with
// one line saying what is wrong, and changes nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/index.js';
import { runCli } from './helpers/daemon.js';

const root = mkdtempSync(join(tmpdir(), 'bw-exit-'));
const db = join(root, 'birdwatch.db');
openDatabase(db).close();
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('usage errors exit 2', () => {
  it('a short password, or a bad user name: exit 2, one line first, no user added', async () => {
    const short = await runCli(['user', 'add', 'ann', '--role', 'reviewer', '--db', db], { input: 'short\n' });
    expect(short.code).toBe(2);
    expect(short.stderr.split('\n')[0]).toBe('birdwatch: the password must have at least 8 characters');
    const badName = await runCli(['user', 'add', 'a b', '--role', 'reviewer', '--db', db], { input: 'long enough\n' });
    expect(badName.code).toBe(2);
    expect(badName.stderr.split('\n')[0]).toMatch(/^birdwatch: user name 'a b' must be 1-64 letters/);
    const list = await runCli(['user', 'list', '--json', '--db', db]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.trim()).toBe('');
    const ok = await runCli(['user', 'add', 'ann', '--role', 'reviewer', '--db', db], { input: 'long enough\n' });
    expect(ok.code, ok.stderr).toBe(0);
  });
});
