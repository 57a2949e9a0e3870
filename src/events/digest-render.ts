// The digest as text and as HTML for mail clients: a table layout with inline styles only (no <style>, no scripts,
// no web fonts), thumbnails by a given src (cid:... for the mail's attachments, data: for the --dry-run file).
import { formatLocalTime } from '../query/local-time.js';
import type { CameraDigest, Digest, UnsureShot } from './digest.js';

export function digestSubject(digest: Digest, periodLabel: string): string {
  const sum = (key: 'decided' | 'moved' | 'restored'): number => digest.cameras.reduce((n, c) => n + c[key], 0);
  return (
    `birdwatch ${periodLabel}: ${sum('decided')} shots decided, ${sum('moved')} airplanes moved, ` +
    `${sum('restored')} birds restored`
  );
}

export function renderDigestText(digest: Digest, periodLabel: string): string {
  const out = [
    `birdwatch digest, ${periodLabel}: ${formatLocalTime(digest.since)} to ` + `${formatLocalTime(digest.until)}`,
  ];
  for (const camera of digest.cameras) {
    out.push('', `Camera ${camera.camera}`);
    out.push(`  shots decided:          ${camera.decided}`);
    out.push(`  airplanes moved:        ${camera.moved}`);
    out.push(`  birds kept:             ${camera.kept}`);
    out.push(`  birds restored by members: ${camera.restored}`);
    out.push(`  failures:               ${camera.failed}`);
    if (camera.promise_state !== null) out.push(`  promise:                ${camera.promise_state}`);
    if (camera.least_sure.length > 0) {
      out.push('  least sure:');
      for (const shot of camera.least_sure) {
        out.push(
          `    #${shot.id} ${shot.file}: ${shot.action}, P(airplane) ${shot.p_airplane.toFixed(3)} ` +
            `at threshold ` +
            `${shot.threshold.toFixed(3)}${shot.link === null ? '' : `  ${shot.link}`}`,
        );
      }
    }
  }
  return out.join('\n') + '\n';
}

const FONT = 'font-family:Arial,Helvetica,sans-serif;';
const CELL = `${FONT}font-size:14px;color:#222222;padding:4px 12px 4px 0;`;

/** `imageSrc`: the src of a shot's thumbnail, or null when it has none (file gone). */
export function renderDigestHtml(
  digest: Digest,
  periodLabel: string,
  imageSrc: (shot: UnsureShot) => string | null,
): string {
  const sections = digest.cameras.map((camera) => cameraHtml(camera, imageSrc)).join('\n');
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(`birdwatch ${periodLabel}`)}</title></head>
<body style="margin:0;padding:0;background:#f3f5f2;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f3f5f2;">
<tr><td align="center"
 style="padding:16px 8px;">
<table role="presentation" width="600" cellpadding="0" cellspacing="0"
 style="max-width:600px;width:100%;background:#ffffff;
 border:1px solid #d9dfd6;">
<tr><td style="${FONT}background:#2f5d3a;color:#ffffff;padding:16px 20px;">
<div style="${FONT}font-size:20px;font-weight:bold;">birdwatch ${escape(periodLabel)}</div>
<div style="${FONT}font-size:13px;color:#dfeadf;">${escape(formatLocalTime(digest.since))} to
 ${escape(formatLocalTime(digest.until))}</div></td></tr>
${sections}
<tr><td style="${FONT}font-size:12px;color:#777777;padding:12px 20px 16px;">Sent by birdwatch. The least sure shots are
 the ones whose P(airplane) was nearest the camera's threshold: worth a look.</td></tr>
</table></td></tr></table></body></html>
`;
}

function cameraHtml(camera: CameraDigest, imageSrc: (shot: UnsureShot) => string | null): string {
  const row = (label: string, value: string | number, strong = false): string =>
    `<tr><td style="${CELL}">${escape(label)}</td>` +
    `<td style="${CELL}text-align:right;${strong ? 'font-weight:bold;' : ''}">` +
    `${escape(String(value))}</td></tr>`;
  const counts = [
    row('Shots decided', camera.decided, true),
    row('Airplanes moved', camera.moved),
    row('Birds kept', camera.kept),
    row('Birds restored by members', camera.restored),
    row('Failures', camera.failed),
  ];
  if (camera.promise_state !== null) counts.push(row('Promise', camera.promise_state));
  const shots = camera.least_sure
    .map((shot) => {
      const src = imageSrc(shot);
      const picture =
        src === null
          ? `<div style="${FONT}width:96px;height:72px;background:#eeeeee;color:#999999;font-size:11px;text-align:center;` +
            `line-height:72px;">no picture</div>`
          : `<img src="${escape(src)}" alt="${escape(shot.file)}" width="96" style="display:block;width:96px;height:auto;` +
            `border:0;">`;
      const linked = (html: string): string =>
        shot.link === null ? html : `<a href="${escape(shot.link)}" style="color:#2f5d3a;">${html}</a>`;
      const colour = shot.action === 'moved' ? '#a33b20' : '#2f5d3a';
      return `<tr><td style="padding:6px 12px 6px 0;vertical-align:top;width:96px;">${linked(picture)}</td>
<td style="${CELL}vertical-align:top;">${linked(escape(shot.file))}<br>
<span style="color:${colour};font-weight:bold;">${shot.action}</span>, P(airplane) ${shot.p_airplane.toFixed(3)}
 at threshold ${shot.threshold.toFixed(3)}<br><span style="font-size:12px;color:#777777;">#${shot.id},
 ${escape(formatLocalTime(shot.time))}</span></td></tr>`;
    })
    .join('\n');
  return `<tr><td style="padding:16px 20px 4px;">
<div style="${FONT}font-size:17px;font-weight:bold;color:#2f5d3a;border-bottom:1px solid #d9dfd6;padding-bottom:4px;">
Camera ${escape(camera.camera)}</div>
<table role="presentation" cellpadding="0" cellspacing="0" style="margin-top:6px;">${counts.join('')}</table>
${
  shots === ''
    ? ''
    : `<div style="${FONT}font-size:14px;font-weight:bold;margin:12px 0 4px;">Least sure</div>
<table role="presentation" cellpadding="0" cellspacing="0">${shots}</table>`
}
</td></tr>`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
