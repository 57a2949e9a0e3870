// `birdwatch export-corrections DIR` on a real daemon's log after real restore/mark commands: the image-folder tree
// training reads, copies only, idempotent, never overwriting, warning about shots that are gone, following a
// relabel; and the training side's own loader accepts the tree.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO } from './helpers/daemon.js';
import { sha256 } from './helpers/images.js';
import { dropShot, useWorld, type World } from './log-shared.js';

const world = useWorld('bw-export-');
let out: string;

beforeAll(async () => {
  out = join(world.dirs.root, 'corrections');
});

const tree = (): string[] =>
  ['airplane', 'bird']
    .flatMap((label) =>
      existsSync(join(out, label)) ? readdirSync(join(out, label)).map((name) => `${label}/${name}`) : [],
    )
    .sort();

const run = (args: string[]): ReturnType<World['cli']> => world.cli(args);

describe('birdwatch export-corrections', () => {
  it('copies every labelled shot into DIR/airplane and DIR/bird, then adds only what is new', async () => {
    const restored = world.row(world.garden, 'plane-two.jpg');
    const keptPlane = world.row(world.garden, 'sub/wren.jpg');
    const confirmedBird = world.row(world.pond, 'heron.jpg');
    for (const args of [
      ['restore', String(restored.id)],
      ['mark', String(keptPlane.id), '--label', 'airplane', '--move'],
      ['mark', String(confirmedBird.id), '--label', 'bird'],
    ]) {
      const result = await run(args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
    }
    const first = await run(['export-corrections', out]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(/exported 3 new shots .*airplane 1, bird 2/);
    const tag = (sha: string | null): string => sha!.slice(0, 12);
    expect(tree()).toEqual([
      `airplane/wren-${tag(keptPlane.sha256)}.jpg`,
      `bird/heron-${tag(confirmedBird.sha256)}.jpg`,
      `bird/plane-two-${tag(restored.sha256)}.jpg`,
    ]);
    // Copies, byte for byte; the originals stay where the log says.
    expect(sha256(readFileSync(join(out, `airplane/wren-${tag(keptPlane.sha256)}.jpg`)))).toBe(keptPlane.sha256);
    expect(sha256(readFileSync(join(out, `bird/plane-two-${tag(restored.sha256)}.jpg`)))).toBe(restored.sha256);
    expect(existsSync(restored.path)).toBe(true);
    expect(existsSync(join(world.garden.airplanes, 'sub', 'wren.jpg'))).toBe(true);
    expect(existsSync(confirmedBird.path)).toBe(true);

    const mtimes = tree().map((f) => statSync(join(out, f)).mtimeMs);
    const second = await run(['export-corrections', out]);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/exported 0 new shots .*3 already there/);
    expect(tree().map((f) => statSync(join(out, f)).mtimeMs)).toEqual(mtimes);

    // A new correction: only that one is added.
    const robin = world.row(world.garden, 'robin.jpg');
    expect((await run(['mark', String(robin.id), '--label', 'bird'])).code).toBe(0);
    const third = await run(['export-corrections', out]);
    expect(third.stdout).toMatch(/exported 1 new shot .*3 already there/);
    expect(tree()).toContain(`bird/robin-${tag(robin.sha256)}.jpg`);
  });

  it('never overwrites, warns about shots that are gone, and follows a relabel', async () => {
    // A file already at a target name with other content stays as it is.
    const odd = world.row(world.garden, 'odd, "quoted" name.jpg');
    expect((await run(['mark', String(odd.id), '--label', 'bird'])).code).toBe(0);
    const squatter = join(out, 'bird', `odd, "quoted" name-${odd.sha256!.slice(0, 12)}.jpg`);
    writeFileSync(squatter, 'not the shot');
    // A labelled shot deleted by hand since.
    const gone = await dropShot(world, world.pond, 'gone bird.jpg', await world.newBird());
    expect((await run(['mark', String(gone.id), '--label', 'bird'])).code).toBe(0);
    unlinkSync(gone.path);

    const result = await run(['export-corrections', out]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/warning: skipped decision \d+: .*exists with other content/);
    expect(result.stderr).toMatch(/warning: skipped decision \d+: .*gone bird\.jpg no longer exists/);
    expect(readFileSync(squatter, 'utf8')).toBe('not the shot');

    // Relabelled bird -> airplane: the copy moves to the other class folder (never in both).
    const robin = world.row(world.garden, 'robin.jpg');
    const name = `robin-${robin.sha256!.slice(0, 12)}.jpg`;
    expect(existsSync(join(out, 'bird', name))).toBe(true);
    expect((await run(['mark', String(robin.id), '--label', 'airplane'])).code).toBe(0);
    const relabel = await run(['export-corrections', out]);
    expect(relabel.stdout).toMatch(/1 moved to their new label's folder/);
    expect(existsSync(join(out, 'bird', name))).toBe(false);
    expect(existsSync(join(out, 'airplane', name))).toBe(true);
  });

  it('writes a tree the training side loads as extra data', () => {
    const count = execFileSync(
      join(REPO, 'training', 'python.sh'),
      ['-c', 'import sys; from birdwatch_training import data; print(len(data.list_image_folder(sys.argv[1])))', out],
      { cwd: join(REPO, 'training'), encoding: 'utf8' },
    );
    expect(Number(count.trim())).toBe(tree().length); // every exported name has an extension training reads
  });

  it('refuses a missing destination argument (exit 2) and a missing database (exit 1)', async () => {
    expect((await run(['export-corrections'])).code).toBe(2);
    mkdirSync(join(world.dirs.root, 'empty'), { recursive: true });
    const missing = await world.cli(['export-corrections', out, '--db', join(world.dirs.root, 'empty', 'none.db')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no decision log at/);
  });
});
