// The web page's HTML, one function per page, from data the routes fetched (src/query, src/review): no SQL and no
// file access here. Every value is escaped by the html`` template; scripts come only from /static (see the CSP in
// server.ts), so buttons carry data-* attributes that /static/app.js reads.
import path from 'node:path';
import type { Config } from '../config/index.js';
import type { DecisionRecord } from '../query/decision-list.js';
import { latencyBuckets, type Histograms } from '../query/histograms.js';
import { formatLocalTime } from '../query/local-time.js';
import type { Stats } from '../query/stats.js';
import type { CorrectionEntry, ReviewEntry } from '../review/history.js';
import type { ReviewSummary } from '../review/sample.js';
import type { CameraPromise } from '../calibrate/promise.js';
import { decisionsPerDayChart, histogramChart } from './charts.js';
import { promiseProgress, promiseSection } from './promise-section.js';
import { queryString, type Query } from './filters.js';
import { html, type Html } from './html.js';
import { operatingCurveOf, type OperatingCurve } from '../model/validate.js';
import type { ModelInfo } from './model-card.js';
import type { Session } from './sessions.js';
import type { Marker } from './threshold-markers.js';

export interface PageContext {
  session: Session | null;
  config: Config;
  /** The path of this page, for the navigation's current link. */
  current: string;
}

const nav: Array<[string, string]> = [
  ['/', 'Decisions'],
  ['/quarantine', 'Quarantine'],
  ['/review', 'Review'],
  ['/stats', 'Stats'],
  ['/model', 'Model'],
];

export function layout(ctx: PageContext, title: string, body: Html): string {
  const { session } = ctx;
  const who = session
    ? html`<span class="who">${session.user} <span class="role">${session.role}</span></span>
        <button type="button" class="link" data-logout>Log out</button>`
    : html`<a href="/login">Log in</a>`;
  return (
    '<!doctype html>\n' +
    html`<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · birdwatch</title>
<link rel="stylesheet" href="/static/style.css">
<script src="/static/app.js" defer></script>
${session ? html`<meta name="csrf-token" content="${session.csrf}">` : ''}
</head><body>
<header class="top"><a class="brand" href="/">birdwatch</a>
<nav>${nav.map(([href, label]) => html`<a href="${href}"${ctx.current === href ? html` aria-current="page"` : ''}>${label}</a>`)}</nav>
<div class="account">${ctx.current === '/login' ? '' : who}</div></header>
<main>
<h1>${title}</h1>
<p class="flash" role="status" hidden></p>
${body}
</main></body></html>`.text
  );
}

const canAct = (ctx: PageContext): boolean => ctx.session?.role === 'reviewer';

function pct(p: number | null | undefined, digits = 1): string {
  return p === null || p === undefined ? '–' : `${(100 * p).toFixed(digits)}%`;
}

function when(iso: string | null): Html {
  return iso ? html`<time datetime="${iso}">${formatLocalTime(iso)}</time>` : html`–`;
}

function badge(row: DecisionRecord): Html {
  const restored = row.corrected_kind === 'restore';
  return html`<span class="badge ${row.action}">${row.action}</span>${restored ? html` <span class="badge back">back in blog</span>` : ''}${row.corrected_label && !restored ? html` <span class="badge human">member: ${row.corrected_label}</span>` : ''}`;
}

function thumb(row: DecisionRecord, size: 'small' | 'large' = 'small'): Html {
  return html`<img class="thumb ${size}" src="/api/decisions/${row.id}/thumbnail" alt="${path.basename(row.path)}"
    loading="lazy" decoding="async">`;
}

function filterForm(ctx: PageContext, query: Query, action: string, withDecisionFields: boolean): Html {
  const value = (name: string): string => {
    const v = query[name];
    return (Array.isArray(v) ? v[v.length - 1] : v) ?? '';
  };
  const select = (name: string, options: string[]): Html => html`<label>${name}<select name="${name}">
    <option value="">any</option>${options.map((o) => html`<option${value(name) === o ? html` selected` : ''}>${o}</option>`)}
    </select></label>`;
  return html`<form class="filters" method="get" action="${action}">
    ${select(
      'camera',
      ctx.config.cameras.map((c) => c.name),
    )}
    ${withDecisionFields ? html`${select('label', ['airplane', 'bird'])}${select('action', ['moved', 'kept', 'failed'])}` : ''}
    <label>since<input name="since" value="${value('since')}" placeholder="7d" size="10"></label>
    <label>until<input name="until" value="${value('until')}" placeholder="${today()}" size="10"></label>
    ${
      withDecisionFields
        ? html`<label>P(airplane) ≥<input name="min_p" value="${value('min_p')}" inputmode="decimal" size="4"></label>
    <label>≤<input name="max_p" value="${value('max_p')}" inputmode="decimal" size="4"></label>
    <label>name<input name="path" value="${value('path')}" size="12"></label>
    <label>model<input name="model" value="${value('model')}" size="12"></label>
    <label class="check"><input type="checkbox" name="corrected" value="1"${value('corrected') === '1' ? html` checked` : ''}>corrected</label>`
        : ''
    }
    <button type="submit">Filter</button> <a href="${action}">clear</a></form>`;
}

function pager(query: Query, action: string, next: string | null): Html {
  const first = query.before !== undefined;
  return html`<nav class="pager">${first ? html`<a href="${action}${queryString(query, { before: undefined })}">« newest</a>` : ''}
    ${next ? html`<a rel="next" href="${action}${queryString(query, { before: next })}">older »</a>` : html`<span class="muted">end of the list</span>`}</nav>`;
}

export function decisionsPage(ctx: PageContext, query: Query, rows: DecisionRecord[], next: string | null): string {
  const list =
    rows.length === 0
      ? html`<p class="muted">No decisions match.</p>`
      : html`<ul class="decisions">
    ${rows.map(
      (row) => html`<li class="decision ${row.action}">
      <a class="thumb-link" href="/shot/${row.id}">${thumb(row)}</a>
      <div class="meta">
        <a class="name" href="/shot/${row.id}">${path.basename(row.path)}</a>
        <div>${badge(row)} <span class="label">${row.label ?? '–'}</span></div>
        <div class="small">P(airplane) ${row.probabilities ? row.probabilities.airplane.toFixed(3) : '–'} · ${row.camera}</div>
        <div class="small">${when(row.time)} · #${row.id}</div>
        ${row.action === 'failed' ? html`<div class="small error">${row.error_kind}: ${row.error}</div>` : ''}
      </div></li>`,
    )}</ul>`;
  return layout(ctx, 'Decisions', html`${filterForm(ctx, query, '/', true)}${list}${pager(query, '/', next)}`);
}

export function quarantinePage(ctx: PageContext, query: Query, rows: DecisionRecord[], next: string | null): string {
  const act = canAct(ctx);
  const gallery =
    rows.length === 0
      ? html`<p class="muted">Nothing in quarantine.</p>`
      : html`<ul class="gallery">
    ${rows.map((row) => {
      const back = row.corrected_kind === 'restore';
      return html`<li class="card${back ? ' restored' : ''}" data-id="${row.id}">
        <a href="/shot/${row.id}">${thumb(row, 'large')}</a>
        <div class="meta"><a class="name" href="/shot/${row.id}">${path.basename(row.path)}</a>
          <div class="small">P(airplane) ${row.probabilities ? row.probabilities.airplane.toFixed(3) : '–'} · ${row.camera}</div>
          <div class="small">${when(row.time)}</div>
          ${
            back
              ? html`<div class="badge back">back in the blog</div>`
              : act
                ? html`<button type="button" class="restore" data-action="restore" data-id="${row.id}"
                data-confirm="Put ${path.basename(row.path)} back in the blog and record it as a bird?">It's a bird: put it back</button>`
                : ''
          }
        </div></li>`;
    })}</ul>`;
  return layout(
    ctx,
    'Quarantine',
    html`<p class="intro">Shots the filter moved out of the blog, newest first.
    ${act ? 'One click (and a confirmation) puts a bird back.' : ctx.session ? 'Reviewers can put birds back.' : ''}</p>
    ${filterForm(ctx, query, '/quarantine', false)}${gallery}${pager(query, '/quarantine', next)}`,
  );
}

export function shotPage(
  ctx: PageContext,
  row: DecisionRecord,
  history: { corrections: CorrectionEntry[]; reviews: ReviewEntry[] },
): string {
  const act = canAct(ctx);
  const name = path.basename(row.path);
  const inBlog = ctx.config.cameras.some((c) => row.current_path.startsWith(c.watch + path.sep));
  const restored = row.corrected_kind === 'restore';
  const buttons: Html[] = [];
  if (act && row.action !== 'failed') {
    if (!inBlog && !restored) {
      buttons.push(html`<button type="button" data-action="restore" data-id="${row.id}"
        data-confirm="Put ${name} back in the blog and record it as a bird?">It's a bird: put it back</button>`);
    }
    buttons.push(
      html`<button type="button" data-action="mark" data-label="bird" data-id="${row.id}">Mark bird</button>`,
    );
    buttons.push(
      html`<button type="button" data-action="mark" data-label="airplane" data-id="${row.id}">Mark airplane</button>`,
    );
    if (inBlog) {
      buttons.push(html`<button type="button" data-action="mark" data-label="airplane" data-move="true" data-id="${row.id}"
        data-confirm="Move ${name} out of the blog as an airplane?">Airplane: move it out</button>`);
    }
  }
  const p = row.probabilities;
  const fields: Array<[string, Html | string]> = [
    ['decision', html`#${row.id} · ${badge(row)}`],
    ['time', when(row.time)],
    ['camera', row.camera],
    ['label (model)', row.label ?? '–'],
    ['P(airplane)', p ? html`<meter min="0" max="1" value="${p.airplane}"></meter> ${p.airplane.toFixed(4)}` : '–'],
    ['P(bird)', p ? p.bird.toFixed(4) : '–'],
    ['threshold', row.threshold === null ? '–' : row.threshold.toFixed(4)],
    ['model', row.model_id ?? '–'],
    [
      'provider · latency',
      `${row.provider ?? '–'} · ${row.latency_ms === null ? '–' : `${row.latency_ms.toFixed(0)} ms`}`,
    ],
    ['found at', html`<code>${row.path}</code>`],
    ['now at', html`<code>${row.current_path}</code>`],
    [
      'size',
      row.width
        ? `${row.width}×${row.height} ${row.format ?? ''}, ${row.size ?? '?'} bytes`
        : `${row.size ?? '?'} bytes`,
    ],
    ...(row.error ? [['error', `${row.error_kind}: ${row.error}`] as [string, string]] : []),
  ];
  const corrections =
    history.corrections.length === 0
      ? html`<p class="muted">No corrections.</p>`
      : html`<ul class="history">
    ${history.corrections.map((c) => html`<li>${when(c.time)}: <strong>${c.label}</strong> (${c.kind}) by ${c.member ?? 'unknown'}${c.to_path ? html` → <code>${c.to_path}</code>` : ''}</li>`)}</ul>`;
  const reviews =
    history.reviews.length === 0
      ? ''
      : html`<h2>Sample labels</h2><ul class="history">
    ${history.reviews.map((r) => html`<li>${when(r.time)}: <strong>${r.label}</strong> by ${r.member ?? 'unknown'}</li>`)}</ul>`;
  return layout(
    ctx,
    name,
    html`<div class="shot">
    <a class="picture" href="/api/decisions/${row.id}/image"><img src="/api/decisions/${row.id}/image" alt="${name}"></a>
    <div class="details">
      ${buttons.length ? html`<div class="actions">${buttons}</div>` : ''}
      <dl>${fields.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>
      <h2>Corrections</h2>${corrections}${reviews}
    </div></div>`,
  );
}

export function statsPage(
  ctx: PageContext,
  query: Query,
  stats: Stats,
  histograms: Histograms,
  thresholds: Marker[],
  promises: readonly CameraPromise[] = [],
): string {
  const tiles: Array<[string, string, string?]> = [
    ['decisions', String(stats.decisions)],
    [
      'airplanes moved',
      String(stats.airplanes_moved),
      stats.decisions ? pct(stats.airplanes_moved / stats.decisions) : '',
    ],
    ['kept', String(stats.per_action.kept)],
    ['failed', String(stats.per_action.failed)],
    [
      'latency p50 / p99',
      stats.latency_ms.p50 === null
        ? '–'
        : `${stats.latency_ms.p50.toFixed(0)} / ${stats.latency_ms.p99!.toFixed(0)} ms`,
    ],
  ];
  const c = stats.corrections;
  const pBins = histograms.p_airplane.map((_, i) => (i / 20).toFixed(2));
  const latencyLabels = [
    ...latencyBuckets.map((b) => `<${b >= 1000 ? `${b / 1000}s` : b}`),
    `≥${latencyBuckets.at(-1)! / 1000}s`,
  ];
  const range = stats.since ? html`${when(stats.since)} to ${when(stats.until)}` : html`no decisions`;
  return layout(
    ctx,
    'Stats',
    html`${filterForm(ctx, query, '/stats', false)}
    <p class="intro">${range}${stats.camera ? html`, camera ${stats.camera}` : ''}.</p>
    ${promiseSection(promises)}
    <div class="tiles">${tiles.map(([k, v, sub]) => html`<div class="tile"><div class="value">${v}</div><div class="key">${k}${sub ? html` (${sub})` : ''}</div></div>`)}</div>
    <div class="charts">
      <figure><figcaption>Decisions per day</figcaption>${decisionsPerDayChart(stats.per_day)}</figure>
      <figure><figcaption>P(airplane) of each decided shot</figcaption>${histogramChart(
        'P(airplane) histogram',
        histograms.p_airplane,
        pBins,
        thresholds,
      )}</figure>
      <figure><figcaption>Decision latency (last write to logged decision)</figcaption>${histogramChart(
        'Latency histogram',
        histograms.latency,
        latencyLabels,
      )}</figure>
    </div>
    <h2>Members' corrections</h2>
    <table class="numbers"><tbody>
      <tr><th>bird moved as airplane</th><td>${c.bird_moved_as_airplane}</td></tr>
      <tr><th>airplane kept as bird</th><td>${c.airplane_kept_as_bird}</td></tr>
      <tr><th>filter confirmed right</th><td>${c.confirmed_moved + c.confirmed_kept}</td></tr>
      <tr><th>model wrong, of reviewed</th><td>${pct(c.wrong_share_of_reviewed)}</td></tr>
    </tbody></table>
    <h2>Per camera</h2>
    <div class="table-wrap"><table class="numbers"><thead><tr><th>camera</th><th>decisions</th><th>moved</th><th>kept</th><th>failed</th></tr></thead><tbody>
    ${stats.per_camera.map((r) => html`<tr><th>${r.camera}</th><td>${r.decisions}</td><td>${r.moved}</td><td>${r.kept}</td><td>${r.failed}</td></tr>`)}
    </tbody></table></div>
    ${
      stats.failures_by_kind.length
        ? html`<h2>Failures</h2><table class="numbers"><tbody>
      ${stats.failures_by_kind.map((f) => html`<tr><th>${f.error_kind}</th><td>${f.count}</td></tr>`)}</tbody></table>`
        : ''
    }`,
  );
}

export function modelPage(ctx: PageContext, info: ModelInfo): string {
  const card = info.card ?? {};
  const model = card.model ?? {};
  // A model trained since the three-way split reports on its report split (nothing was chosen on it); an older one
  // only has its validation split, which chose its threshold.
  const reported = card.report_metrics;
  const metrics = reported ?? card.validation_metrics ?? {};
  const atThreshold = reported ? (reported.at_threshold ?? {}) : (card.validation_metrics ?? {});
  const boot = metrics.airplanes_caught_at_1pct_bootstrap ?? metrics.airplanes_caught_bootstrap ?? {};
  const split = reported ? 'report split' : 'validation split';
  const num = (v: unknown, digits = 3): string =>
    typeof v === 'number' ? v.toFixed(digits) : v === undefined ? '–' : String(v);
  const interval = metrics.accuracy_interval;
  // Only a reviewer sees where the model lies on the server; a viewer its name alone.
  const hidePaths = (text: string): string =>
    canAct(ctx) ? text : text.split(path.dirname(info.file) + path.sep).join('');
  const rows: Array<[string, string]> = [
    ['file', canAct(ctx) ? info.file : path.basename(info.file)],
    ['installed', info.modified ? formatLocalTime(info.modified) : '–'],
    ['created', String(card.created_at ?? info.metadata.created_at ?? '–')],
    [
      'network',
      `${String(model.description ?? '–')}${typeof model.parameters === 'number' ? `, ${model.parameters.toLocaleString('en')} parameters` : ''}`,
    ],
    ['threshold (P(airplane) to move)', String(info.metadata.threshold ?? card.threshold ?? '–')],
    ['rule', String(card.threshold_rule ?? '–')],
    [
      `accuracy (${split})`,
      num(metrics.accuracy) + (interval ? ` (90%: ${num(interval[0])}–${num(interval[1])})` : ''),
    ],
    [
      `airplanes caught at threshold (${split})`,
      typeof atThreshold.airplanes_caught_at_threshold === 'number'
        ? pct(atThreshold.airplanes_caught_at_threshold)
        : '–',
    ],
    [
      `birds moved at threshold (${split})`,
      typeof atThreshold.birds_moved_at_threshold === 'number' ? pct(atThreshold.birds_moved_at_threshold) : '–',
    ],
    [`airplanes caught at ≤ 1% birds, bootstrap mean (${split})`, typeof boot.mean === 'number' ? pct(boot.mean) : '–'],
    [`ROC AUC (${split})`, num(metrics.roc_auc)],
    [`${split} images`, num(metrics.images ?? metrics.validation_images, 0)],
  ];
  const confusion = atThreshold.confusion_matrix_at_threshold?.matrix;
  const meta = Object.entries(info.metadata)
    .filter(([k]) => !['history'].includes(k))
    .slice(0, 40);
  let curve: OperatingCurve | undefined;
  let curveError: string | undefined;
  try {
    curve = operatingCurveOf(info.metadata, info.file);
  } catch (err) {
    curveError = (err as Error).message;
  }
  const range = (pair: [number, number] | undefined): string => (pair ? ` (${pct(pair[0])}–${pct(pair[1])})` : '');
  return layout(
    ctx,
    'Model',
    html`
    ${info.error ? html`<p class="error">${hidePaths(info.error)}</p>` : ''}
    <table class="kv"><tbody>${rows.map(([k, v]) => html`<tr><th>${k}</th><td>${v}</td></tr>`)}</tbody></table>
    <h2>Operating curve</h2>
    ${
      curve
        ? html`<table class="numbers"><thead><tr><th>bird budget</th><th>threshold</th><th>airplanes caught</th>
      <th>birds moved</th></tr></thead><tbody>
      ${curve.points.map(
        (p) => html`<tr><th>${pct(p.bird_budget)}</th><td>${String(p.threshold)}</td>
        <td>${pct(p.airplanes_caught)}${range(p.airplanes_caught_interval)}</td>
        <td>${pct(p.birds_moved)}${range(p.birds_moved_interval)}</td></tr>`,
      )}</tbody></table>
    <p class="muted">Airplanes caught and birds moved measured on the ${curve.figures_split} split; thresholds chosen
      on the ${curve.threshold_split} split. The config's birdBudget picks the row with the largest budget not above it.</p>`
        : html`<p class="muted">${curveError ? hidePaths(curveError) : 'No operating curve (this model predates it).'}</p>`
    }
    ${
      confusion
        ? html`<h2>On the ${split}, at the threshold</h2>
    <table class="numbers"><thead><tr><th></th><th>moved</th><th>kept</th></tr></thead><tbody>
      <tr><th>airplanes</th><td>${confusion[0]?.[0]}</td><td>${confusion[0]?.[1]}</td></tr>
      <tr><th>birds</th><td>${confusion[1]?.[0]}</td><td>${confusion[1]?.[1]}</td></tr></tbody></table>`
        : ''
    }
    <details><summary>All metadata in the model file</summary><table class="kv small"><tbody>
      ${meta.map(([k, v]) => html`<tr><th>${k}</th><td><code>${v.length > 300 ? `${v.slice(0, 300)}…` : v}</code></td></tr>`)}
    </tbody></table></details>`,
  );
}

export function reviewPage(
  ctx: PageContext,
  summary: ReviewSummary,
  sampleId: number | null,
  promises: readonly CameraPromise[] = [],
): string {
  const act = canAct(ctx);
  const figures =
    summary.reviewed === 0
      ? html`<p class="muted">No shot has been labelled yet.</p>`
      : html`
    <div class="tiles">
      <div class="tile"><div class="value">${summary.reviewed}</div><div class="key">shots labelled</div></div>
      <div class="tile"><div class="value">${pct(summary.bird_moved_share)}</div>
        <div class="key">birds moved (${summary.birds_moved} of ${summary.birds} birds)</div></div>
      <div class="tile"><div class="value">${pct(summary.airplane_caught_share)}</div>
        <div class="key">airplanes caught (${summary.airplanes_caught} of ${summary.airplanes} airplanes)</div></div>
      <div class="tile"><div class="value">${summary.neither}</div><div class="key">neither</div></div>
    </div>${
      promises.some((p) => p.design === 'stratified')
        ? html`<p class="small muted">As counted among the labelled shots. The review draws high-scoring shots more
            often (stratified), so these shares lean toward what the filter moves; the promise below weighs them
            back to all the camera's shots.</p>`
        : html``
    }`;
  let sample: Html;
  if (!act) {
    sample = html`<p class="muted">${ctx.session ? 'Reviewers label the sample.' : 'Log in as a reviewer to label the sample.'}</p>`;
  } else if (sampleId === null) {
    sample = html`<p class="muted">Every decided shot has a label. Thank you!</p>`;
  } else {
    sample = html`<div class="sample" data-id="${sampleId}">
      <img class="sample-image" src="/api/decisions/${sampleId}/image" alt="a randomly drawn shot">
      <p>What does this shot show? (The filter's decision is not shown, so it cannot sway your answer.)</p>
      <div class="answers">
        <button type="button" data-review="bird" data-id="${sampleId}">Bird</button>
        <button type="button" data-review="airplane" data-id="${sampleId}">Airplane</button>
        <button type="button" data-review="neither" data-id="${sampleId}">Neither</button>
      </div>
      <p class="small"><a href="/review">Skip this one</a></p></div>`;
  }
  return layout(
    ctx,
    'Review a sample',
    html`<p class="intro">Random decided shots, kept and moved, one at a time.
    Their labels measure how the filter does on this camera, not only the mistakes someone noticed.</p>
    ${figures}${sample}${promiseProgress(promises)}`,
  );
}

export function loginPage(ctx: PageContext, next: string): string {
  return layout(
    ctx,
    'Log in',
    html`<form class="login" data-login data-next="${next}">
    <label>User name<input name="username" autocomplete="username" required autofocus></label>
    <label>Password<input name="password" type="password" autocomplete="current-password" required></label>
    <button type="submit">Log in</button>
    <p class="error" data-login-error hidden></p></form>`,
  );
}

export function errorPage(ctx: PageContext, status: number, message: string): string {
  return layout(
    ctx,
    status === 404 ? 'Not found' : 'Error',
    html`<p class="error">${message}</p><p><a href="/">Back to the decisions</a></p>`,
  );
}

/** Today's local date (YYYY-MM-DD): the "until" box's example, never a stale one. */
function today(): string {
  const now = new Date();
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
}
