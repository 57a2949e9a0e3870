// `birdwatch digest`: a summary of the last day or week per camera (shots decided, airplanes moved, birds restored,
// failures, the promise state, the least sure shots with thumbnails), mailed through the smtp config; --dry-run
// prints the text and writes the HTML to a file instead. config/birdwatch-digest.timer runs it daily.
import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_FLAG_OPTIONS, loadConfig } from '../config/index.js';
import {
  collectDigest,
  digestJson,
  thumbnailCid,
  thumbnailName,
  type Digest,
  type UnsureShot,
} from '../events/digest.js';
import { digestSubject, renderDigestHtml, renderDigestText } from '../events/digest-render.js';
import { sendMail } from '../events/mail.js';
import { SecretError } from '../events/secrets.js';
import { mailThumbnail } from '../image/mail-thumbnail.js';
import { CommandFailure, parseCommandArgs, runCommand, UsageError } from '../cli-kit/command-kit.js';
import { explainDbError, openLogReadOnly } from '../query/open-log.js';
import { parseTimeSpec } from '../query/time-range.js';

const usage = `usage: birdwatch digest [--since 1d|7d|WHEN] [--to ADDRESS]... [--dry-run [--html FILE]] [--json]
                        [--config FILE] [--db FILE]
  Summarises the period up to now per camera and mails it (smtp in the config; --to, else smtp.to). --since: an age
  (1d, the default, or 7d for a weekly digest) or a local date/time. --dry-run sends nothing: it prints the text
  version and writes the HTML (thumbnails embedded) to --html FILE (default birdwatch-digest.html in the current
  folder). --json prints the figures as one JSON object and sends nothing.`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, async () => {
    const { values } = parseCommandArgs(argv, {
      config: CONFIG_FLAG_OPTIONS.config,
      db: CONFIG_FLAG_OPTIONS.db,
      since: { type: 'string' },
      to: { type: 'string', multiple: true },
      'dry-run': { type: 'boolean' },
      html: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (values.html !== undefined && !values['dry-run']) throw new UsageError('--html goes with --dry-run');
    const untilMs = Date.now();
    const since = values.since ?? '1d';
    const range = { sinceMs: parseTimeSpec(since, 'since', untilMs), untilMs };
    if (range.sinceMs >= untilMs) throw new UsageError(`--since ${since} is not in the past`);
    const label = since === '1d' ? 'daily digest' : since === '7d' ? 'weekly digest' : `digest since ${since}`;
    const config = loadConfig({ flags: { config: values.config, db: values.db } });
    const db = openLogReadOnly(config.db);
    let digest: Digest;
    try {
      digest = collectDigest(db, config, range);
    } catch (err) {
      throw explainDbError(err, config.db);
    } finally {
      db.close();
    }
    if (values.json) {
      process.stdout.write(JSON.stringify(digestJson(digest)) + '\n');
      return 0;
    }
    const thumbnails = new Map<number, Buffer>();
    for (const shot of digest.cameras.flatMap((camera) => camera.least_sure)) {
      const image = await mailThumbnail(shot.current_path, config.maxPixels);
      if (image !== null) thumbnails.set(shot.id, image);
    }
    const text = renderDigestText(digest, label);
    if (values['dry-run']) {
      const file = path.resolve(values.html ?? 'birdwatch-digest.html');
      const dataUri = (shot: UnsureShot): string | null => {
        const image = thumbnails.get(shot.id);
        return image === undefined ? null : `data:image/jpeg;base64,${image.toString('base64')}`;
      };
      fs.writeFileSync(file, renderDigestHtml(digest, label, dataUri));
      process.stdout.write(`${text}\n(dry run: nothing sent; the HTML is in ${file})\n`);
      return 0;
    }
    if (config.smtp === undefined) {
      throw new CommandFailure(
        `no smtp server in the config (smtp: {host, port, security, user, passwordFile, ` +
          `from}): add one, or use --dry-run`,
      );
    }
    const to = values.to ?? config.smtp.to ?? [];
    if (to.length === 0) throw new UsageError('no recipient: give --to ADDRESS or set smtp.to in the config');
    const cid = (shot: UnsureShot): string | null => (thumbnails.has(shot.id) ? `cid:${thumbnailCid(shot)}` : null);
    const attachments = digest.cameras
      .flatMap((camera) => camera.least_sure)
      .filter((shot) => thumbnails.has(shot.id))
      .map((shot) => ({
        filename: thumbnailName(shot),
        content: thumbnails.get(shot.id)!,
        cid: thumbnailCid(shot),
        contentType: 'image/jpeg',
      }));
    try {
      const id = await sendMail(config.smtp, {
        to,
        subject: digestSubject(digest, label),
        text,
        html: renderDigestHtml(digest, label, cid),
        attachments,
      });
      process.stdout.write(`digest sent to ${to.join(', ')} (${id})\n`);
    } catch (err) {
      if (err instanceof SecretError) throw new CommandFailure(err.message);
      throw new CommandFailure(
        `the digest was not sent: ${config.smtp.host}:${config.smtp.port} said: ` + `${(err as Error).message}`,
      );
    }
    return 0;
  });
}
