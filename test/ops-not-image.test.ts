// A short file that begins like no image format (a 12-byte text file named .jpg) is logged `not-image` as soon as it
// is quiet, not `truncated` after stallMs; a short file that begins like a JPEG still waits, as an upload would.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { couldStartImage } from '../src/image/sniff.js';
import { killAllDaemons, makeTestDirs, startDaemon } from './helpers/daemon.js';
import { decisions, waitForDecisions } from './helpers/decisions.js';
import { BIRD_FIXTURES, cameraJpeg } from './helpers/images.js';

const d = makeTestDirs('bw-not-image-');
afterAll(async () => {
  await killAllDaemons();
  d.cleanup();
});

describe('short files', () => {
  it('couldStartImage: the first bytes of each known type, and nothing else', () => {
    expect(couldStartImage(Buffer.from('hello world\n'))).toBe(false);
    expect(couldStartImage(Buffer.from([0xff, 0xd8]))).toBe(true);
    expect(couldStartImage(Buffer.from([0xff, 0xd8, 0x00, 0x00, 0x00, 0x00]))).toBe(false);
    expect(couldStartImage(Buffer.from('GIF8'))).toBe(true);
    expect(couldStartImage(Buffer.from('RIFF\x10\x00\x00\x00WE'))).toBe(true);
    expect(couldStartImage(Buffer.from('RIFF\x10\x00\x00\x00WAVE'))).toBe(false);
    expect(couldStartImage(Buffer.from('\x00\x00\x00\x1cftypav'))).toBe(true);
    expect(couldStartImage(Buffer.alloc(0))).toBe(true);
  });

  it('the daemon logs a 12-byte text file not-image without waiting for stallMs; a JPEG start still waits', async () => {
    // stallMs of ten minutes: a `truncated` outcome could not come within this test.
    const daemon = startDaemon(d, ['--stall-ms', '600000', '--quiet-ms', '100']);
    await daemon.ready();
    const text = join(d.watch, 'notes.jpg');
    const start = join(d.watch, 'upload.jpg');
    writeFileSync(text, 'hello world\n');
    writeFileSync(start, Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
    const [row] = await waitForDecisions(d.db, 'path = ?', [text], 1, 30_000, () => daemon.tail());
    expect(row).toMatchObject({ action: 'failed', error_kind: 'not-image' });
    expect(row!.error).toMatch(/not an image: its 12 bytes begin like no image format/);
    // A good shot dropped after both is decided: by then the JPEG start has been looked at, and still waits.
    const after = join(d.watch, 'after.jpg');
    writeFileSync(after, await cameraJpeg(BIRD_FIXTURES[0]!, 640, 480));
    await waitForDecisions(d.db, 'path = ?', [after], 1, 30_000, () => daemon.tail());
    expect(decisions(d.db, 'path = ?', start)).toEqual([]);
  });
});
