// `birdwatch mark` beside the real running daemon: labels recorded without moving anything, --move taking a kept
// airplane out to its camera's airplanes folder (subfolder kept), the daemon honouring a member's 'bird', usage
// errors and refusals.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/daemon.js';
import { decisions, pendingMoves, query } from './helpers/decisions.js';
import { sha256 } from './helpers/images.js';
import { dropShot, jsonLines, useWorld } from './log-shared.js';

const world = useWorld('bw-mark-');

const correctionsOf = (decisionId: number): Array<Record<string, unknown>> =>
  query(
    world.dirs.db,
    'SELECT label, kind, from_path, to_path FROM corrections WHERE decision_id = ? ORDER BY id',
    decisionId,
  );

describe('birdwatch mark', () => {
  it('records a label without touching the file, and log shows it', async () => {
    const robin = world.row(world.garden, 'robin.jpg');
    const result = await world.cli(['mark', String(robin.id), '--label', 'airplane']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/marked airplane/);
    expect(result.stdout).toMatch(/--move/); // the hint: it is still in the blog
    expect(existsSync(robin.path)).toBe(true);
    expect(correctionsOf(robin.id)).toEqual([
      { label: 'airplane', kind: 'mark', from_path: robin.path, to_path: null },
    ]);
    const [line] = jsonLines((await world.cli(['log', '--json', '--corrected'])).stdout);
    expect(line).toMatchObject({
      id: robin.id,
      corrected_label: 'airplane',
      corrected_kind: 'mark',
      current_path: robin.path,
    });
  });

  it("--move takes a kept airplane out to its camera's airplanes folder, keeping the subfolder", async () => {
    const wren = world.row(world.garden, 'sub/wren.jpg');
    expect(wren.action).toBe('kept');
    const bytes = readFileSync(wren.path);
    const result = await world.cli(['mark', String(wren.id), '--label', 'airplane', '--move']);
    expect(result.code, result.stderr).toBe(0);
    const dest = join(world.garden.airplanes, 'sub', 'wren.jpg');
    expect(result.stdout).toContain(dest);
    expect(existsSync(wren.path)).toBe(false);
    expect(sha256(readFileSync(dest))).toBe(sha256(bytes));
    expect(correctionsOf(wren.id)).toEqual([
      { label: 'airplane', kind: 'mark-move', from_path: wren.path, to_path: dest },
    ]);
    expect(pendingMoves(world.dirs.db)).toEqual([]);
    expect(decisions(world.dirs.db, 'path = ?', wren.path)).toHaveLength(1);
    // Moving it again is refused: it is already out.
    const again = await world.cli(['mark', String(wren.id), '--label', 'airplane', '--move']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already in an airplanes folder/);
  });

  it('a shot members labelled bird is never moved by the daemon, even uploaded again under a new name', async () => {
    // The filter moved this airplane-looking shot; a member says it is a bird (without restoring it yet).
    const plane = world.row(world.garden, 'plane-two.jpg');
    expect(plane.action).toBe('moved');
    const marked = await world.cli(['mark', String(plane.id), '--label', 'bird']);
    expect(marked.code, marked.stderr).toBe(0);
    expect(marked.stdout).toMatch(/birdwatch restore/); // the hint
    // The same picture arrives again: the human label wins over the model.
    const again = await dropShot(world, world.garden, 'plane-two again.jpg', readFileSync(plane.final_path));
    expect(again.action).toBe('kept');
    expect(again.label).toBe('airplane'); // the model still says airplane; the member's word decided
    expect(existsSync(join(world.garden.watch, 'plane-two again.jpg'))).toBe(true);
  });

  it('refuses usage errors (exit 2) and unknown ids or foreign folders (exit 1)', async () => {
    for (const args of [
      ['mark', '1'],
      ['mark', '1', '--label', 'cat'],
      ['mark', '1', '--label', 'bird', '--move'],
      ['mark', '--label', 'bird'],
    ]) {
      const result = await world.cli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^birdwatch: /);
    }
    const unknown = await world.cli(['mark', '424242', '--label', 'bird']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no decision with id 424242/);
    const heron = world.row(world.pond, 'heron.jpg');
    // Pointed at other folders than the daemon's: the logged path is outside them, nothing moves.
    const foreign = await runCli([
      'mark',
      String(heron.id),
      '--label',
      'airplane',
      '--move',
      '--db',
      world.dirs.db,
      '--watch',
      world.garden.watch,
      '--airplanes',
      world.garden.airplanes,
    ]);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toMatch(/refusing: .*heron\.jpg is not inside the configured watched/);
    expect(existsSync(heron.path)).toBe(true);
    expect(correctionsOf(heron.id)).toEqual([]);
  });
});
