// The promise on the web page: one card per camera (its bird budget, the state in a sentence, birds moved and
// airplanes caught among the reviewed shots with their intervals, a progress bar toward certification and its
// threshold history as an inline SVG step chart), for /stats; and the progress bars alone, for /review.
import type { CameraPromise } from '../calibrate/promise.js';
import type { ShareInterval } from '../calibrate/bound.js';
import { formatLocalTime } from '../query/local-time.js';
import { html, type Html } from './html.js';

const pct = (share: number, digits = 1): string => `${+(share * 100).toFixed(digits)}%`;

function withInterval(i: ShareInterval, noun: string, confidence: number): Html {
  if (i.n === 0) return html`<span class="muted">no reviewed ${noun} yet</span>`;
  if (i.share === null) return html`${i.k} of ${i.n} (<span class="muted">no estimate below the stratum cut</span>)`;
  // A stratified review's share is weighed back to the camera's shots, so it is not k / n: say so.
  return html`${i.k} of ${i.n} (${i.weighted ? 'weighed back: ' : ''}${pct(i.share)}; ${pct(confidence, 0)} interval ${pct(
    i.low,
  )}–${pct(i.high)})`;
}

function progressBar(p: CameraPromise): Html {
  const label = p.certified
    ? 'certified'
    : p.design === 'stratified'
      ? `${p.reviewed} of ${p.reviewed + p.more_shots_needed} reviewed shots needed`
      : `${p.birds} of ${p.birds + p.more_birds_needed} reviewed birds needed`;
  // A native <progress>: the page's CSP allows no inline style to size a bar with.
  return html`<progress class="progress${p.certified ? ' done' : ''}" max="100"
    value="${(p.progress * 100).toFixed(1)}" aria-label="${p.camera}: ${label}">${pct(p.progress)}</progress>
    <p class="small">${label}</p>`;
}

const W = 480;
const H = 160;
const pad = { left: 50, right: 14, top: 16, bottom: 30 };

/** The threshold over time as a step line, each change a dot (its time and value in a tooltip). */
export function thresholdHistoryChart(p: CameraPromise, nowMs = Date.now()): Html {
  const title = `Threshold history of camera ${p.camera}`;
  if (p.history.length === 0) {
    return html`<p class="small muted">Threshold ${p.threshold.toFixed(4)} (${
      p.threshold_from === 'pinned'
        ? 'set in the config: never changed by calibration'
        : 'not changed by calibration yet'
    }).</p>`;
  }
  const first = p.history[0]!.time_ms;
  const span = Math.max(1, nowMs - first);
  const x = (t: number): number => pad.left + ((t - first) / span) * (W - pad.left - pad.right);
  const y = (v: number): number => pad.top + (1 - v) * (H - pad.top - pad.bottom);
  let d = `M${x(first).toFixed(1)},${y(p.history[0]!.threshold).toFixed(1)}`;
  for (const [i, point] of p.history.entries()) {
    if (i > 0) d += ` H${x(point.time_ms).toFixed(1)} V${y(point.threshold).toFixed(1)}`;
  }
  d += ` H${x(nowMs).toFixed(1)}`;
  const ticks = [0, 0.5, 1].map(
    (v) => html`<line x1="${pad.left}" x2="${W - pad.right}" y1="${y(v)}" y2="${y(v)}"
    stroke="#ddd"/><text x="${pad.left - 6}" y="${y(v) + 5}" text-anchor="end" font-size="14" fill="#555">${v}</text>`,
  );
  const dots = p.history.map(
    (point) => html`<circle cx="${x(point.time_ms).toFixed(1)}" cy="${y(point.threshold).toFixed(
      1,
    )}" r="4" fill="${point.certified ? '#3f8f5a' : '#c8553d'}"><title>${formatLocalTime(point.time_ms)}:
    ${point.threshold} (${point.certified ? 'certified' : 'not certified'})</title></circle>`,
  );
  return html`<svg class="chart history" viewBox="0 0 ${W} ${H}" role="img" aria-label="${title}"
    xmlns="http://www.w3.org/2000/svg"><title>${title}</title>${ticks}
    <path d="${d}" fill="none" stroke="#3d6fa8" stroke-width="2"/>${dots}
    <text x="${pad.left}" y="${H - 8}" font-size="14" fill="#555">${formatLocalTime(first).slice(0, 10)}</text>
    <text x="${W - pad.right}" y="${H - 8}" font-size="14" fill="#555" text-anchor="end">now</text></svg>`;
}

/** The /stats section: the promise, camera by camera. */
export function promiseSection(promises: readonly CameraPromise[]): Html {
  if (promises.length === 0) return html``;
  const budget = promises[0]!.budget;
  return html`<section class="promise" aria-labelledby="promise-title">
    <h2 id="promise-title">The promise: at most ${pct(budget)} of birds leave the blog</h2>
    <div class="promise-cards">${promises.map(
      (p) => html`<article
      class="promise-card${p.certified ? ' certified' : ''}" data-camera="${p.camera}">
      <h3>${p.camera} <span class="small muted">budget ${pct(p.budget)}, threshold ${p.threshold.toFixed(4)}
        (${p.threshold_from})</span></h3>
      <p class="state">${p.statement}</p>
      ${progressBar(p)}
      <table class="kv small"><tbody>
        <tr><th>birds moved, of reviewed birds</th><td>${withInterval(p.birds_moved, 'birds', p.confidence)}</td></tr>
        <tr><th>airplanes caught, of reviewed airplanes</th><td>${withInterval(
          p.airplanes_caught,
          'airplanes',
          p.confidence,
        )}</td></tr>
        <tr><th>share of birds moved, at most</th><td>${p.birds ? pct(p.bound) : '–'} (${pct(p.confidence, 0)}
          confidence)</td></tr>
      </tbody></table>
      ${thresholdHistoryChart(p)}
    </article>`,
    )}</div>
    <p class="small muted">From the random review (Review page) of shots the current model decided${
      promises.some((p) => p.design === 'stratified')
        ? html` (stratified: high-scoring shots are drawn more often, and weighed back)`
        : html``
    }. "At most
      ${pct(budget)} of birds, ${pct(promises[0]!.confidence, 0)} confidence": if a camera moved more than
      ${pct(budget)} of its birds, a review like this one would have shown it at least
      ${pct(promises[0]!.confidence, 0)} of the time.</p>
  </section>`;
}

/** The /review page's progress toward certification, one bar per camera. */
export function promiseProgress(promises: readonly CameraPromise[]): Html {
  if (promises.length === 0) return html``;
  return html`<section class="promise-progress" aria-label="Progress toward certification">
    <h2>Toward the promise</h2>
    ${promises.map(
      (p) => html`<div class="camera-progress"><strong>${p.camera}</strong>: ${p.statement}
      ${progressBar(p)}</div>`,
    )}</section>`;
}
