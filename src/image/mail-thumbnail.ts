// A shot's thumbnail for an e-mail: a small JPEG (every mail client shows JPEG; not all show WebP), longest side
// MAIL_THUMBNAIL_SIZE, EXIF orientation applied; the daemon's pixel limit applies. Null when the file cannot be read
// or decoded (the digest then names the shot without a picture).
import fs from 'node:fs/promises';
import sharp from 'sharp';

export const MAIL_THUMBNAIL_SIZE = 160;

export async function mailThumbnail(file: string, maxPixels: number): Promise<Buffer | null> {
  try {
    const bytes = await fs.readFile(file);
    return await sharp(bytes, { limitInputPixels: maxPixels })
      .rotate()
      .resize(MAIL_THUMBNAIL_SIZE, MAIL_THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 75 })
      .toBuffer();
  } catch {
    return null;
  }
}
