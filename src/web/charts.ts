// The /stats page's charts as inline SVG drawn on the server: no chart library, no script (the page's CSP forbids
// inline script anyway). Every chart has a title for screen readers and its numbers in <title> tooltips.
import { html, raw, type Html } from './html.js';

const W = 480;
const H = 220;
const pad = { left: 50, right: 10, top: 30, bottom: 40 };
const colors = { moved: '#c8553d', kept: '#3f8f5a', failed: '#8c8c8c', bar: '#3d6fa8', line: '#222' };

function niceMax(max: number): number {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

function frame(title: string, body: Html, max: number, legend: Html | string = ''): Html {
  const plotH = H - pad.top - pad.bottom;
  const ticks = [0, 0.5, 1].map((f) => {
    const y = pad.top + plotH * (1 - f);
    const value = max * f;
    return html`<line x1="${pad.left}" x2="${W - pad.right}" y1="${y}" y2="${y}" stroke="#ddd"/>
      <text x="${pad.left - 6}" y="${y + 4}" text-anchor="end" font-size="16" fill="#555">${shortNumber(value)}</text>`;
  });
  return html`<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${title}" xmlns="http://www.w3.org/2000/svg">
    <title>${title}</title>${ticks}${body}${legend}</svg>`;
}

function shortNumber(n: number): string {
  if (n >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
  return String(+n.toFixed(1));
}

export interface DayCounts {
  day: string;
  moved: number;
  kept: number;
  failed: number;
}

/** Decisions per day, stacked by action. */
export function decisionsPerDayChart(days: DayCounts[]): Html {
  const title = 'Decisions per day by action';
  if (days.length === 0) return html`<p class="muted">No decisions in this range.</p>`;
  const max = niceMax(Math.max(...days.map((d) => d.moved + d.kept + d.failed)));
  const plotW = W - pad.left - pad.right;
  const plotH = H - pad.top - pad.bottom;
  const slot = plotW / days.length;
  const barW = Math.min(40, Math.max(1, slot * 0.8));
  const bars = days.map((day, i) => {
    const x = pad.left + i * slot + (slot - barW) / 2;
    let y = pad.top + plotH;
    const parts = (['kept', 'moved', 'failed'] as const).map((action) => {
      const h = (day[action] / max) * plotH;
      y -= h;
      return h > 0
        ? html`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}"
        fill="${colors[action]}"><title>${day.day}: ${day[action]} ${action}</title></rect>`
        : '';
    });
    return parts;
  });
  const labelAt = [...new Set([0, Math.floor((days.length - 1) / 2), days.length - 1])];
  const labels = labelAt.map(
    (i) => html`<text x="${(pad.left + (i + 0.5) * slot).toFixed(1)}" y="${H - pad.bottom + 20}"
    text-anchor="middle" font-size="16" fill="#555">${days[i]!.day.slice(5)}</text>`,
  );
  return frame(
    title,
    html`${bars}${labels}`,
    max,
    legendOf([
      ['kept', colors.kept],
      ['moved', colors.moved],
      ['failed', colors.failed],
    ]),
  );
}

function legendOf(entries: Array<[string, string]>): Html {
  return html`${entries.map(
    ([name, color], i) => html`<rect x="${pad.left + i * 100}" y="6" width="14" height="14"
    fill="${color}"/><text x="${pad.left + i * 100 + 16}" y="19" font-size="16" fill="#333">${name}</text>`,
  )}`;
}

/** A histogram: one bar per bin, labels under some bins, marker lines at fractions of the x axis (their labels
 *  stacked, so that two cameras' thresholds stay readable). */
export function histogramChart(
  title: string,
  counts: number[],
  binLabels: string[],
  markers: Array<{ at: number; label: string }> = [],
): Html {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return html`<p class="muted">No data in this range.</p>`;
  const max = niceMax(Math.max(...counts));
  const plotW = W - pad.left - pad.right;
  const plotH = H - pad.top - pad.bottom;
  const slot = plotW / counts.length;
  const bars = counts.map((n, i) => {
    const h = (n / max) * plotH;
    return html`<rect x="${(pad.left + i * slot + 1).toFixed(1)}" y="${(pad.top + plotH - h).toFixed(1)}"
      width="${Math.max(1, slot - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${colors.bar}"><title>${binLabels[i]}: ${n}</title></rect>`;
  });
  const every = Math.ceil(counts.length / 5);
  const labels = binLabels.map((label, i) =>
    i % every === 0 || counts.length <= 7
      ? html`<text x="${(pad.left + (i + 0.5) * slot).toFixed(1)}" y="${H - pad.bottom + 20}" text-anchor="middle"
      font-size="16" fill="#555">${label}</text>`
      : '',
  );
  const marks = markers.map((marker, i) => {
    const x = pad.left + marker.at * plotW;
    return html`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${pad.top - 4}" y2="${pad.top + plotH}"
      stroke="${colors.moved}" stroke-width="2" stroke-dasharray="4 3"/>
      <text x="${(x - 4).toFixed(1)}" y="${pad.top + 10 + i * 18}" text-anchor="end" font-size="16" fill="${colors.moved}">${marker.label}</text>`;
  });
  return frame(title, html`${bars}${labels}${marks}`, max, raw(''));
}
