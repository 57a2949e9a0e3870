// Thumbnails for the web page: WebP, longest side <= 320 px, made by sharp once per shot content and cached on disk
// (named by the decision's sha256, written to a temp name and renamed into place). sharp decodes on libuv's
// thread pool, never on the event loop, and at most `concurrency` thumbnails are made at once so that a page of cold
// thumbnails cannot take every pool thread; the daemon's maxBytes/maxPixels limits apply. A file that is gone,
// broken or refused gets a placeholder (not cached), never an error.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Config } from '../config/index.js';
import { openShotFile } from './shot-files.js';

export const THUMBNAIL_SIZE = 320;

export interface Thumbnail {
  bytes: Buffer;
  type: 'image/webp';
  /** False for the placeholder. */
  real: boolean;
}

export interface ThumbnailSource {
  sha256: string | null;
  current_path: string;
}

export class Thumbnails {
  private readonly inFlight = new Map<string, Promise<Thumbnail>>();
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private placeholder: Promise<Buffer> | undefined;

  constructor(
    private readonly config: Config,
    readonly folder: string,
    private readonly concurrency = 2,
  ) {}

  async get(shot: ThumbnailSource): Promise<Thumbnail> {
    const sha = shot.sha256;
    if (sha === null || !/^[0-9a-f]{64}$/.test(sha)) return this.fallback();
    const cached = path.join(this.folder, `${sha}.webp`);
    try {
      return { bytes: await fs.readFile(cached), type: 'image/webp', real: true };
    } catch {
      // not cached yet
    }
    let pending = this.inFlight.get(sha);
    if (pending === undefined) {
      pending = this.make(shot.current_path, sha, cached).finally(() => this.inFlight.delete(sha));
      this.inFlight.set(sha, pending);
    }
    return pending;
  }

  private async make(file: string, sha: string, cached: string): Promise<Thumbnail> {
    await this.acquire();
    try {
      const { handle } = await openShotFile(this.config, file);
      let bytes: Buffer;
      try {
        bytes = await handle.readFile();
      } finally {
        await handle.close();
      }
      const thumbnail = await sharp(bytes, { limitInputPixels: this.config.maxPixels, sequentialRead: true })
        .rotate()
        .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
        .webp({ quality: 72 })
        .toBuffer();
      // Cached only when the file is the content the decision saw (a new upload under the old name is not).
      if (createHash('sha256').update(bytes).digest('hex') === sha) await this.store(cached, thumbnail);
      return { bytes: thumbnail, type: 'image/webp', real: true };
    } catch {
      return this.fallback();
    } finally {
      this.release();
    }
  }

  private async store(cached: string, bytes: Buffer): Promise<void> {
    try {
      await fs.mkdir(this.folder, { recursive: true });
      const temp = `${cached}.${randomBytes(6).toString('hex')}.tmp`;
      await fs.writeFile(temp, bytes, { flag: 'wx' });
      await fs.rename(temp, cached);
    } catch {
      // an unwritable cache only costs speed
    }
  }

  private async fallback(): Promise<Thumbnail> {
    this.placeholder ??= sharp(
      Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240">
        <rect width="320" height="240" fill="#d9dedb"/>
        <path d="M130 150 l30 -40 l25 30 l15 -15 l30 25 z" fill="#9aa59f"/>
        <circle cx="200" cy="95" r="12" fill="#9aa59f"/></svg>`),
    )
      .webp({ quality: 80 })
      .toBuffer();
    return { bytes: await this.placeholder, type: 'image/webp', real: false };
  }

  private async acquire(): Promise<void> {
    if (this.running < this.concurrency) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}
