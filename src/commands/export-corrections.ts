// `birdwatch export-corrections DIR`: copies every shot a member labelled into DIR/airplane and DIR/bird, the
// image-folder tree the training subproject takes with `--extra-data DIR`. Copies only (the blog and the airplanes
// folders are never touched), never overwrites, and running it again adds only what is new.
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { CONFIG_FLAG_OPTIONS, loadConfig } from '../config/index.js';
import { hashFile } from '../fs/index.js';
import { sniffImageType, type ImageType } from '../image/sniff.js';
import { CommandFailure, parseCommandArgs, runCommand, UsageError } from '../cli-kit/command-kit.js';
import { labelledShots, type LabelledShot } from '../query/labelled-shots.js';
import { explainDbError, openLogReadOnly } from '../query/open-log.js';

const usage = `usage: birdwatch export-corrections DIR [--config FILE] [--db FILE]
  Copies every shot members labelled (restore, mark) into DIR/airplane/ and DIR/bird/ for training
  (python3 training/train.py --extra-data DIR). Safe to run again: existing files are kept, new ones added.`;

const labelFolders = ['airplane', 'bird'] as const;
const tempPrefix = '.birdwatch-export-';

interface Summary {
  copied: { airplane: number; bird: number };
  present: number;
  relabelled: number;
  skipped: number;
}

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, async () => {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        config: CONFIG_FLAG_OPTIONS.config,
        db: CONFIG_FLAG_OPTIONS.db,
      },
      true,
    );
    if (positionals.length !== 1) throw new UsageError('export-corrections takes one destination folder');
    const outDir = path.resolve(positionals[0]!);
    const config = loadConfig({ flags: { config: values.config, db: values.db } });
    const db = openLogReadOnly(config.db);
    let shots: LabelledShot[];
    try {
      shots = labelledShots(db);
    } catch (err) {
      throw explainDbError(err, config.db);
    } finally {
      db.close();
    }
    for (const label of labelFolders) {
      await fs.mkdir(path.join(outDir, label), { recursive: true }).catch((err: Error) => {
        throw new CommandFailure(`cannot create ${path.join(outDir, label)}: ${err.message}`);
      });
    }
    const summary: Summary = { copied: { airplane: 0, bird: 0 }, present: 0, relabelled: 0, skipped: 0 };
    for (const shot of shots) await exportShot(shot, outDir, summary);
    for (const label of labelFolders) {
      const entries = await fs.readdir(path.join(outDir, label));
      if (!entries.some((entry) => !entry.startsWith('.'))) {
        process.stderr.write(
          `birdwatch: warning: ${path.join(outDir, label)} is empty: training with ` +
            `--extra-data needs shots of both classes (label some ${label} shots with restore or mark first)\n`,
        );
      }
    }
    const copied = summary.copied.airplane + summary.copied.bird;
    console.log(
      `exported ${copied} new shot${copied === 1 ? '' : 's'} to ${outDir} ` +
        `(airplane ${summary.copied.airplane}, bird ${summary.copied.bird}); ${summary.present} already there` +
        (summary.relabelled ? `; ${summary.relabelled} moved to their new label's folder` : '') +
        (summary.skipped ? `; ${summary.skipped} skipped (see warnings)` : ''),
    );
    return 0;
  });
}

/** Extensions the training side reads (training/data.py IMAGE_EXTENSIONS); it skips any other name. */
const trainingExtensions = new Set(['.jpg', '.jpeg', '.png', '.bmp', '.gif', '.webp', '.tif', '.tiff', '.ppm', '.pgm']);
const extensionOf: Record<ImageType, string> = {
  jpeg: '.jpg',
  png: '.png',
  gif: '.gif',
  webp: '.webp',
  tiff: '.tif',
  avif: '.avif',
};

/**
 * `IMG_0042.jpg` with sha256 `ab12...` -> `IMG_0042-ab12cd34ef56.jpg`: readable, one name per content. The daemon
 * knows images by content, training by extension: a shot without a usual extension gets one from its content.
 */
export function exportName(shot: LabelledShot, contentType: ImageType | null): string {
  const ext = path.extname(shot.current_path);
  const stem = path.basename(shot.current_path, ext).replace(/ \(\d+\)$/, '');
  const tag = shot.sha256?.slice(0, 12) ?? `decision${shot.decision_id}`;
  if (trainingExtensions.has(ext.toLowerCase()) || contentType === null) return `${stem}-${tag}${ext}`;
  return `${stem}${ext}-${tag}${extensionOf[contentType]}`;
}

async function contentTypeOf(file: string): Promise<ImageType | null> {
  if (trainingExtensions.has(path.extname(file).toLowerCase())) return null; // named well already: no need to read
  const handle = await fs.open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(64), 0, 64, 0);
    return sniffImageType(buffer.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

async function exportShot(shot: LabelledShot, outDir: string, summary: Summary): Promise<void> {
  const warn = (why: string): void => {
    process.stderr.write(`birdwatch: warning: skipped decision ${shot.decision_id}: ${why}\n`);
    summary.skipped++;
  };
  let contentType: ImageType | null;
  try {
    contentType = await contentTypeOf(shot.current_path);
  } catch {
    warn(`${shot.current_path} no longer exists or cannot be read`);
    return;
  }
  const name = exportName(shot, contentType);
  const target = path.join(outDir, shot.label, name);
  const otherLabel = shot.label === 'airplane' ? 'bird' : 'airplane';
  const stale = path.join(outDir, otherLabel, name);
  // Relabelled since an earlier export: our identical copy under the old label would teach the wrong class.
  if (shot.sha256 !== null && (await sameContent(stale, shot.sha256))) {
    await fs.unlink(stale);
    summary.relabelled++;
  }
  if (await exists(target)) {
    if (shot.sha256 === null || (await sameContent(target, shot.sha256))) summary.present++;
    else warn(`${target} exists with other content (never overwritten)`);
    return;
  }
  let source;
  try {
    source = await fs.lstat(shot.current_path);
  } catch {
    warn(`${shot.current_path} no longer exists`);
    return;
  }
  if (!source.isFile()) {
    warn(`${shot.current_path} is not a regular file`);
    return;
  }
  // Copy under a temp name, check it is the shot that was labelled, then link it into place without replacing.
  const temp = path.join(outDir, shot.label, `${tempPrefix}${process.pid}-${name}`);
  try {
    await fs.copyFile(shot.current_path, temp, fsConstants.COPYFILE_EXCL);
    if (shot.sha256 !== null && (await hashFile(temp)) !== shot.sha256) {
      warn(`${shot.current_path} has changed since it was labelled`);
      return;
    }
    try {
      await fs.link(temp, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      summary.present++; // another export got there first
      return;
    }
    summary.copied[shot.label]++;
  } catch (err) {
    warn(`cannot copy ${shot.current_path}: ${(err as Error).message}`);
  } finally {
    await fs.rm(temp, { force: true });
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.lstat(file).then(
    () => true,
    () => false,
  );
}

async function sameContent(file: string, sha256: string): Promise<boolean> {
  if (!(await exists(file))) return false;
  return (await hashFile(file)) === sha256;
}
