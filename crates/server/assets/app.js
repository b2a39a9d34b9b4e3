// tenax dashboard: one vanilla ES module, hash routing, every number read from /api/v1
// (docs/API.md). Data only ever reaches the DOM as text nodes and attribute values
// (createElement, textContent, setAttribute): no markup is ever parsed from a string.

const API = '/api/v1';
const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];
const PAGE = 50;
const TOKEN_KEY = 'tenax.token';

// ---------------------------------------------------------------- readiness and errors

let errorCount = 0;

function countError(err) {
  errorCount += 1;
  document.body.dataset.errors = String(errorCount);
  console.error('tenax dashboard:', err && err.message ? err.message : String(err));
}

window.addEventListener('error', (e) => countError(e.error || e.message));
window.addEventListener('unhandledrejection', (e) => countError(e.reason));

// ---------------------------------------------------------------- DOM helpers

/** An element: `attrs` set with setAttribute (`class`, `href`, `data-*`…), children appended
 *  as nodes or text. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const enc = encodeURIComponent;
const link = (href, ...children) => h('a', { href }, ...children);
const findingHref = (f) => `#/finding/${enc(f.source)}/${enc(f.id)}`;
const assetHref = (source, id) => `#/asset/${enc(source)}/${enc(id)}`;
const unifiedHref = (id) => `#/unified/${enc(id)}`;

function hashWith(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const qs = q.toString();
  return `#/${path}${qs ? `?${qs}` : ''}`;
}

// ---------------------------------------------------------------- formatting

const nf = new Intl.NumberFormat('en-US');
const fmtNum = (n) => (n === null || n === undefined ? '—' : nf.format(n));

function fmtTime(t) {
  if (!t) return '—';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');
}

function fmtAgo(t) {
  if (!t) return '';
  const secs = (Date.now() - new Date(t).getTime()) / 1000;
  if (!Number.isFinite(secs)) return '';
  if (secs < 90) return 'just now';
  if (secs < 5400) return `${Math.round(secs / 60)} min ago`;
  if (secs < 129600) return `${Math.round(secs / 3600)} h ago`;
  return `${Math.round(secs / 86400)} days ago`;
}

function fmtDuration(a, b) {
  if (!a || !b) return '';
  const secs = (new Date(b).getTime() - new Date(a).getTime()) / 1000;
  if (!Number.isFinite(secs) || secs < 0) return '';
  if (secs < 60) return `${secs.toFixed(1)} s`;
  return `${Math.floor(secs / 60)} min ${Math.round(secs % 60)} s`;
}

/** A number in an element that the browser test reads back: `data-value` is the raw value. */
function metric(attrs, value, text) {
  const el = h('span', { ...attrs, 'data-value': value ?? '' }, text ?? fmtNum(value));
  if (!value) el.classList.add('zero');
  return el;
}

const sevBadge = (sev) => h('span', { class: `sev sev-${sev || 'none'}` }, sev || 'none');
const stateBadge = (st) => h('span', { class: `state state-${st}` }, st);
const kindOf = (kind) => (['vm', 'sc', 'ot'].includes(kind) ? kind : 'vm');
const srcBadge = (name, kind) => h('span', { class: `src src-${kindOf(kind)}`, title: kind || '' }, name);
const tags = (list) => (list && list.length ? list.map((x) => h('span', { class: 'tag' }, x)) : h('span', { class: 'muted' }, '—'));
const plural = (n, word) => `${fmtNum(n)} ${word}${n === 1 ? '' : 's'}`;
const dash = (v) => (v === null || v === undefined || v === '' ? '—' : v);

// Source name → kind, filled from /sources so badges are coloured by product.
const kinds = new Map();
function guessKind(name) {
  return kinds.get(name) || '';
}

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function takeTokenFromHash() {
  const m = location.hash.match(/^#token=([^&]*)/);
  if (!m) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
  history.replaceState(null, '', `${location.pathname}${location.search}#/`);
}

async function api(path, params) {
  const url = new URL(API + path, location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  let res;
  try {
    res = await fetch(url, { headers });
  } catch (e) {
    throw new ApiError(0, `${path}: network error (${e.message})`);
  }
  if (!res.ok) {
    let msg = res.statusText;
    try {
      const j = await res.json();
      if (j && j.error) msg = j.error;
    } catch {
      // not JSON: keep the status text
    }
    throw new ApiError(res.status, `${path}: ${res.status} ${msg}`);
  }
  return res.json();
}

// ---------------------------------------------------------------- router

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?', 2);
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  return { parts, params: new URLSearchParams(query || '') };
}

const pages = {
  overview: pageOverview,
  assets: pageAssets,
  findings: pageFindings,
  unified: pageUnified,
  asset: pageAsset,
  finding: pageFinding,
};

let generation = 0;

async function route() {
  const gen = ++generation;
  document.body.dataset.ready = '0';
  const { parts, params } = parseHash();
  const name = parts[0] || 'overview';
  const nav = { unified: 'assets', asset: 'assets', finding: 'findings' }[name] || name;
  for (const a of document.querySelectorAll('header nav a')) {
    a.classList.toggle('active', a.dataset.nav === nav);
  }
  const main = document.getElementById('main');
  main.classList.add('loading');
  const view = h('div', { class: 'view', 'data-page': name });
  try {
    const page = pages[name];
    if (!page) throw new ApiError(404, `no page ${name}`);
    await page(view, parts.slice(1), params);
  } catch (e) {
    if (gen !== generation) return;
    view.replaceChildren(errorBox(e));
    // A missing token is a prompt, not a page failure.
    if (!(e instanceof ApiError && e.status === 401)) countError(e);
  }
  if (gen !== generation) return;
  main.replaceChildren(view);
  main.classList.remove('loading');
  window.scrollTo(0, 0);
  document.body.dataset.ready = '1';
}

function errorBox(e) {
  const box = h('div', { class: 'error-box', 'data-error': e && e.status ? e.status : 'error' });
  if (e instanceof ApiError && e.status === 401) {
    const input = h('input', { type: 'password', placeholder: 'API token (TENAX_API_TOKEN)', autocomplete: 'off' });
    const form = h('form', { class: 'token-form' }, input, h('button', { type: 'submit' }, 'Use token'));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      route();
    });
    box.append(h('b', null, 'This server needs an API token.'), 'Enter the bearer token (kept in this tab only), or open the dashboard as /#token=…', form);
  } else {
    box.append(h('b', null, 'Could not load this page'), e && e.message ? e.message : String(e));
  }
  return box;
}

function pageHead(title, sub, crumbs) {
  document.title = `${typeof title === 'string' ? title : 'tenax'} · tenax`;
  return h(
    'div',
    { class: 'page-head' },
    h('div', null, crumbs ? h('div', { class: 'crumbs' }, crumbs) : null, h('h1', null, title), sub ? h('div', { class: 'sub' }, sub) : null),
  );
}

function panel(title, aside, ...content) {
  return h('section', { class: 'panel' }, h('h2', null, title, aside ? h('span', { class: 'aside' }, aside) : null), ...content);
}

// ---------------------------------------------------------------- overview

async function pageOverview(view) {
  const st = await api('/stats');
  for (const src of st.sources || []) kinds.set(src.name, src.kind);
  const t = st.totals || {};
  const sla = st.sla || [];
  const pastSla = sla.reduce((n, r) => n + (r.past_sla || 0), 0);
  const critOpen = (st.by_severity || []).filter((r) => r.severity === 'critical').reduce((n, r) => n + r.open, 0);

  view.append(pageHead('Overview', `${(st.sources || []).length} sources · data as of ${fmtTime(st.generated_at)}`));
  view.append(
    h(
      'div',
      { class: 'kpis' },
      kpi('Open findings', { 'data-metric': 'findings_open' }, t.findings_open, `${fmtNum(critOpen)} critical`),
      kpi('Fixed findings', { 'data-metric': 'findings_fixed' }, t.findings_fixed, 'fixed, still tracked'),
      kpi('Past SLA', { 'data-metric': 'past_sla' }, pastSla, 'open beyond their SLA', pastSla ? 'bad' : 'ok'),
      kpi('Assets', { 'data-metric': 'assets' }, t.assets, 'per-source records'),
      kpi('Unified assets', { 'data-metric': 'unified_assets' }, t.unified_assets, 'devices across products'),
      kpi('Events', { 'data-metric': 'events' }, t.events, 'OT events'),
    ),
  );

  const sources = sourceOrder(st);
  view.append(h('div', { class: 'grid' }, panel('Sources', 'last sync per source and its reconciliation (expected vs stored)', sourceCards(st.sources || []))));
  view.append(
    h(
      'div',
      { class: 'grid two' },
      panel('Open findings by source', 'stacked by severity', h('div', { class: 'body' }, severityBars(st.by_severity || [], sources), legendSev())),
      panel('Findings by severity × source', 'open (fixed below)', h('div', { class: 'body flush' }, severityMatrix(st.by_severity || [], sources))),
    ),
  );
  view.append(
    h('div', { class: 'grid' }, panel('Open vs fixed, last 30 days', 'open at the end of each day · fixed that day', h('div', { class: 'body' }, trendChart(st.trend || []), legendTrend()))),
  );
  view.append(
    h(
      'div',
      { class: 'grid two' },
      panel('SLA breaches', 'open past the SLA · of all open · mean time to remediate', h('div', { class: 'body flush' }, slaMatrix(sla, sources))),
      panel('Top CVEs', 'open findings', h('div', { class: 'body flush' }, topCves(st.top_cves || []))),
    ),
  );
  view.append(h('div', { class: 'grid' }, panel('Riskiest unified assets', 'score: critical 10 · high 5 · medium 2 · low 0.5 per open finding', h('div', { class: 'body flush' }, topUnified(st.top_unified_assets || [])))));
}

function kpi(label, attrs, value, hint, tone) {
  return h('div', { class: `kpi${tone ? ` ${tone}` : ''}` }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, metric(attrs, value)), h('div', { class: 'hint' }, hint));
}

function sourceOrder(st) {
  const names = (st.sources || []).map((x) => x.name);
  for (const r of st.by_severity || []) if (!names.includes(r.source)) names.push(r.source);
  return names;
}

function legendSev() {
  return h('div', { class: 'legend' }, SEVERITIES.map((sv) => h('span', null, h('i', { class: `sev-${sv}` }), sv)));
}

function legendTrend() {
  return h('div', { class: 'legend' }, h('span', null, h('i', { class: 'open' }), 'open (end of day)'), h('span', null, h('i', { class: 'fixed' }), 'fixed that day'));
}

function cell(rows, source, severity) {
  return rows.find((r) => r.source === source && r.severity === severity) || { open: 0, fixed: 0 };
}

function severityBars(rows, sources) {
  if (!sources.length) return h('div', { class: 'empty' }, 'No sources yet.');
  const W = 640;
  const labelW = 110;
  const numW = 70;
  const barH = 22;
  const gap = 14;
  const H = sources.length * (barH + gap) + 20;
  const totals = sources.map((src) => SEVERITIES.reduce((n, sv) => n + cell(rows, src, sv).open, 0));
  const max = nice(Math.max(1, ...totals));
  const scale = (W - labelW - numW) / max;
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'open findings by source and severity' });
  // vertical grid lines at quarter steps
  for (let i = 0; i <= 4; i++) {
    const x = labelW + ((W - labelW - numW) * i) / 4;
    svg.append(s('line', { class: 'grid-line', x1: x, x2: x, y1: 0, y2: H - 18 }));
    svg.append(s('text', { x, y: H - 4, 'text-anchor': 'middle' }, fmtNum(Math.round((max * i) / 4))));
  }
  sources.forEach((src, i) => {
    const y = i * (barH + gap) + 6;
    svg.append(s('text', { class: 'label', x: 0, y: y + barH / 2 + 4 }, src));
    svg.append(s('rect', { class: 'track', x: labelW, y, width: W - labelW - numW, height: barH, rx: 2 }));
    let x = labelW;
    for (const sv of SEVERITIES) {
      const n = cell(rows, src, sv).open;
      if (!n) continue;
      const w = Math.max(1, n * scale);
      svg.append(s('rect', { class: `fill-${sv}`, x, y, width: w, height: barH }, s('title', null, `${src} · ${sv}: ${fmtNum(n)} open`)));
      x += w;
    }
    svg.append(s('text', { class: 'label', x: W - numW + 8, y: y + barH / 2 + 4 }, fmtNum(totals[i])));
  });
  return svg;
}

function severityMatrix(rows, sources) {
  if (!sources.length) return h('div', { class: 'empty' }, 'No findings yet.');
  const head = h('tr', null, h('th', null, 'Source'), SEVERITIES.map((sv) => h('th', { class: 'num' }, h('span', { class: `sevdot sev-${sv}` }), sv)), h('th', { class: 'num' }, 'Total'));
  const body = sources.map((src) => {
    let open = 0;
    let fixed = 0;
    const cells = SEVERITIES.map((sv) => {
      const c = cell(rows, src, sv);
      open += c.open;
      fixed += c.fixed;
      return h(
        'td',
        { class: 'num' },
        h('div', { class: 'big' }, metric({ 'data-cell': `${src}:${sv}:open` }, c.open)),
        h('span', { class: 'sub' }, metric({ 'data-cell': `${src}:${sv}:fixed` }, c.fixed, `${fmtNum(c.fixed)} fixed`)),
      );
    });
    return h(
      'tr',
      null,
      h('td', null, srcBadge(src, guessKind(src))),
      cells,
      h('td', { class: 'num' }, h('div', { class: 'big' }, fmtNum(open)), h('span', { class: 'sub' }, `${fmtNum(fixed)} fixed`)),
    );
  });
  const foot = h(
    'tr',
    null,
    h('td', null, 'All sources'),
    SEVERITIES.map((sv) => {
      const open = rows.filter((r) => r.severity === sv).reduce((n, r) => n + r.open, 0);
      return h('td', { class: 'num' }, metric({ 'data-cell': `all:${sv}:open` }, open));
    }),
    h('td', { class: 'num' }, fmtNum(rows.reduce((n, r) => n + r.open, 0))),
  );
  return h('table', { class: 'matrix' }, h('thead', null, head), h('tbody', null, body), h('tfoot', null, foot));
}

function trendChart(trend) {
  if (!trend.length) return h('div', { class: 'empty' }, 'No history yet.');
  const W = 1200;
  const H = 230;
  const L = 56;
  const R = 56;
  const T = 12;
  const B = 28;
  const iw = W - L - R;
  const ih = H - T - B;
  const maxOpen = Math.max(1, ...trend.map((d) => d.open));
  const maxFixed = Math.max(1, ...trend.map((d) => d.fixed));
  const niceOpen = nice(maxOpen);
  const niceFixed = nice(maxFixed);
  const n = trend.length;
  const step = iw / n;
  const xc = (i) => L + step * i + step / 2;
  const yOpen = (v) => T + ih - (v / niceOpen) * ih;
  const yFixed = (v) => T + ih - (v / niceFixed) * ih;
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'open and fixed findings over time' });
  for (let i = 0; i <= 4; i++) {
    const y = T + ih - (ih * i) / 4;
    svg.append(s('line', { class: 'grid-line', x1: L, x2: W - R, y1: y, y2: y }));
    svg.append(s('text', { x: L - 8, y: y + 4, 'text-anchor': 'end' }, fmtNum(Math.round((niceOpen * i) / 4))));
    svg.append(s('text', { x: W - R + 8, y: y + 4 }, fmtNum(Math.round((niceFixed * i) / 4))));
  }
  // fixed per day: bars on the right axis
  trend.forEach((d, i) => {
    if (!d.fixed) return;
    const y = yFixed(d.fixed);
    svg.append(s('rect', { class: 'bar-fixed', x: xc(i) - step * 0.22, y, width: step * 0.44, height: T + ih - y }, s('title', null, `${d.date}: ${fmtNum(d.fixed)} fixed`)));
  });
  // open at the end of each day: area + line on the left axis
  const pts = trend.map((d, i) => `${xc(i).toFixed(1)},${yOpen(d.open).toFixed(1)}`);
  svg.append(s('path', { class: 'area-open', d: `M${xc(0).toFixed(1)},${T + ih} L${pts.join(' L')} L${xc(n - 1).toFixed(1)},${T + ih} Z` }));
  svg.append(s('path', { class: 'line-open', d: `M${pts.join(' L')}` }));
  trend.forEach((d, i) => {
    svg.append(s('circle', { cx: xc(i), cy: yOpen(d.open), r: 2.5, class: 'fill-high' }, s('title', null, `${d.date}: ${fmtNum(d.open)} open`)));
  });
  svg.append(s('line', { class: 'axis', x1: L, x2: W - R, y1: T + ih, y2: T + ih }));
  const every = Math.max(1, Math.ceil(n / 10));
  trend.forEach((d, i) => {
    if (i % every !== 0 && i !== n - 1) return;
    svg.append(s('text', { x: xc(i), y: H - 8, 'text-anchor': 'middle' }, d.date.slice(5)));
  });
  return svg;
}

/** The smallest 4 × a round step (1, 2, 5 × 10ⁿ; at least 1) that reaches `v`. */
function nice(v) {
  const raw = Math.max(1, v / 4);
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) {
    const step = m * p;
    if (step >= raw && Number.isInteger(step)) return step * 4;
  }
  return 40 * p;
}

function topCves(rows) {
  if (!rows.length) return h('div', { class: 'empty' }, 'No open findings with a CVE.');
  return h(
    'table',
    null,
    h('thead', null, h('tr', null, h('th', null, 'CVE'), h('th', null, 'Max severity'), h('th', { class: 'num' }, 'Findings'), h('th', { class: 'num' }, 'Assets'))),
    h(
      'tbody',
      null,
      rows.map((r) =>
        h(
          'tr',
          { 'data-cve': r.cve },
          h('td', { class: 'mono' }, link(hashWith('findings', { cve: r.cve, state: 'open,reopened' }), r.cve)),
          h('td', null, sevBadge(r.max_severity)),
          h('td', { class: 'num' }, fmtNum(r.findings)),
          h('td', { class: 'num' }, fmtNum(r.assets)),
        ),
      ),
    ),
  );
}

function topUnified(rows) {
  if (!rows.length) return h('div', { class: 'empty' }, 'No unified assets with open findings.');
  return h(
    'table',
    null,
    h('thead', null, h('tr', null, h('th', null, 'Asset'), h('th', null, 'Host names'), h('th', null, 'IPv4'), h('th', null, 'Sources'), h('th', null, 'Max severity'), h('th', { class: 'num' }, 'Open findings'), h('th', { class: 'num' }, 'Score'))),
    h(
      'tbody',
      null,
      rows.map((r) =>
        h(
          'tr',
          { 'data-unified': r.unified_id },
          h('td', { class: 'ellipsis' }, link(unifiedHref(r.unified_id), r.name || r.unified_id), h('span', { class: 'sub mono' }, r.unified_id)),
          h('td', { class: 'ellipsis' }, (r.hostnames || []).slice(0, 3).join(', ') || '—'),
          h('td', { class: 'mono' }, (r.ipv4s || []).slice(0, 2).join(', ') || '—'),
          h('td', null, (r.sources || []).map((x) => srcBadge(x, guessKind(x)))),
          h('td', null, sevBadge(r.max_severity)),
          h('td', { class: 'num' }, fmtNum(r.open_findings)),
          h('td', { class: 'num' }, h('b', null, fmtNum(Math.round(r.score * 10) / 10))),
        ),
      ),
    ),
  );
}

function slaMatrix(rows, sources) {
  if (!rows.length) return h('div', { class: 'empty' }, 'No findings yet.');
  const days = {};
  for (const r of rows) if (r.sla_days !== undefined) days[r.severity] = r.sla_days;
  const names = [...sources.filter((x) => rows.some((r) => r.source === x)), ...new Set(rows.map((r) => r.source).filter((x) => !sources.includes(x)))];
  const head = h(
    'tr',
    null,
    h('th', null, 'Source'),
    SEVERITIES.map((sv) => h('th', { class: 'num' }, h('span', { class: `sevdot sev-${sv}` }), sv, h('span', { class: 'sub' }, days[sv] === null || days[sv] === undefined ? 'no SLA' : `${days[sv]} days`))),
    h('th', { class: 'num' }, 'Total'),
  );
  const body = names.map((src) => {
    let past = 0;
    let open = 0;
    const cells = SEVERITIES.map((sv) => {
      const r = rows.find((x) => x.source === src && x.severity === sv);
      if (!r) return h('td', { class: 'num' }, h('span', { class: 'zero' }, '—'));
      past += r.past_sla || 0;
      open += r.open || 0;
      const mttr = r.mean_days_to_remediate === null || r.mean_days_to_remediate === undefined ? '—' : `${Math.round(r.mean_days_to_remediate)} d`;
      return h(
        'td',
        { class: 'num' },
        h('div', { class: `big${r.past_sla ? ' pill-bad' : ''}` }, metric({ 'data-cell': `sla:${src}:${sv}:past_sla` }, r.past_sla)),
        h('span', { class: 'sub' }, `of ${fmtNum(r.open)} open`),
        h('span', { class: 'sub', title: 'mean days to remediate' }, `MTTR ${mttr}`),
      );
    });
    return h('tr', null, h('td', null, srcBadge(src, guessKind(src))), cells, h('td', { class: 'num' }, h('div', { class: `big${past ? ' pill-bad' : ''}` }, fmtNum(past)), h('span', { class: 'sub' }, `of ${fmtNum(open)}`)));
  });
  return h('table', { class: 'matrix' }, h('thead', null, head), h('tbody', null, body));
}

/** The reconciliation verdict of a run: every tally whose expected count is known matches. */
function verdict(run) {
  if (!run) return { cls: 'none', text: 'never synced' };
  const bad = ['assets', 'findings', 'events'].filter((k) => run[k] && run[k].expected !== null && run[k].expected !== undefined && run[k].expected !== run[k].stored);
  if (run.status === 'running') return { cls: 'running', text: 'sync running' };
  if (bad.length) return { cls: 'mismatch', text: `mismatch: ${bad.join(', ')}` };
  if (run.status === 'succeeded') return { cls: 'ok', text: 'reconciled: stored = expected' };
  return { cls: run.status, text: run.status };
}

function sourceCards(sources) {
  if (!sources.length) return h('div', { class: 'empty' }, 'No sources configured.');
  return h(
    'div',
    { class: 'sources' },
    sources.map((src) => {
      const run = src.last_run;
      const v = verdict(run);
      const tally = (k) => {
        const t = run && run[k];
        if (!t) return null;
        return h(
          'tr',
          null,
          h('th', null, k),
          h('td', { class: 'num' }, t.expected === null || t.expected === undefined ? h('span', { class: 'muted' }, 'n/a') : metric({ 'data-run': `${src.name}:${k}:expected` }, t.expected)),
          h('td', { class: 'num' }, metric({ 'data-run': `${src.name}:${k}:stored` }, t.stored)),
        );
      };
      return h(
        'div',
        { class: 'source-card', 'data-source': src.name },
        h('div', { class: 'title' }, h('span', null, srcBadge(src.name, src.kind), h('span', { class: 'muted' }, ` ${(src.kind || '').toUpperCase()}`)), run ? h('span', { class: `status status-${run.status}`, 'data-run-status': run.status }, run.status) : h('span', { class: 'status status-none' }, 'no run')),
        h(
          'div',
          { class: 'muted' },
          run ? `${run.mode || ''} run #${run.id} · ${fmtTime(run.finished_at || run.started_at).slice(0, 16)} UTC${run.finished_at ? ` · took ${fmtDuration(run.started_at, run.finished_at)}` : ''}` : 'never synced',
        ),
        run
          ? h(
              'table',
              null,
              h('thead', null, h('tr', null, h('th', null, 'last run'), h('th', { class: 'num' }, 'expected'), h('th', { class: 'num' }, 'stored'))),
              h('tbody', null, tally('assets'), tally('findings'), run.events && (run.events.stored || run.events.expected) ? tally('events') : null),
            )
          : null,
        h('div', { class: 'verdict' }, h('span', { class: `status status-${v.cls}`, 'data-verdict': v.cls }, v.text)),
        h('div', { class: 'msg' }, `In store: ${fmtNum(src.assets)} assets · ${fmtNum(src.findings)} findings${src.sync_every ? ` · every ${src.sync_every}` : ''}`, src.last_success ? ` · last success ${fmtAgo(src.last_success)}` : ''),
        run && run.message ? h('div', { class: 'msg' }, run.message) : null,
      );
    }),
  );
}

// ---------------------------------------------------------------- assets

async function loadSources() {
  const r = await api('/sources');
  for (const src of r.items || []) kinds.set(src.name, src.kind);
  return r.items || [];
}

async function pageAssets(view, _parts, params) {
  const search = params.get('search') || '';
  const source = params.get('source') || '';
  const deleted = params.get('deleted') === '1';
  const unified = params.get('view') === 'unified';
  const cursor = params.get('cursor') || '';
  const [sources, page] = await Promise.all([
    loadSources(),
    unified
      ? api('/unified-assets', { search, source, limit: PAGE, cursor })
      : api('/assets', { search, source, include_deleted: deleted ? 'true' : '', limit: PAGE, cursor }),
  ]);
  view.append(pageHead('Assets', unified ? 'Unified assets: one row per device, correlated across products' : 'Per-source asset records as each product reports them'));

  const base = { search, source, deleted: deleted ? '1' : '', view: unified ? 'unified' : '' };
  const input = h('input', { type: 'search', name: 'search', value: search, placeholder: 'Search name, hostname, IP, MAC…', 'aria-label': 'search' });
  const select = h('select', { name: 'source', 'aria-label': 'source' }, h('option', { value: '' }, 'All sources'), sources.map((x) => h('option', { value: x.name, selected: x.name === source }, x.name)));
  const del = h('input', { type: 'checkbox', name: 'deleted', checked: deleted, disabled: unified });
  const form = h(
    'form',
    { class: 'filters', role: 'search' },
    h('span', { class: 'seg' }, h('a', { href: hashWith('assets', { ...base, view: '', cursor: '' }), class: unified ? '' : 'on' }, 'Per source'), h('a', { href: hashWith('assets', { ...base, view: 'unified', deleted: '', cursor: '' }), class: unified ? 'on' : '' }, 'Unified')),
    input,
    select,
    h('label', null, del, 'Include deleted'),
    h('button', { type: 'submit' }, 'Search'),
    search || source || deleted ? h('a', { class: 'button secondary', href: hashWith('assets', { view: base.view }) }, 'Clear') : null,
  );
  const submit = (ev) => {
    if (ev) ev.preventDefault();
    location.hash = hashWith('assets', { search: input.value.trim(), source: select.value, deleted: del.checked ? '1' : '', view: base.view });
  };
  form.addEventListener('submit', submit);
  select.addEventListener('change', submit);
  del.addEventListener('change', submit);
  view.append(form);

  const items = page.items || [];
  const table = unified ? unifiedTable(items) : assetTable(items);
  const next = page.next_cursor ? hashWith('assets', { ...base, cursor: page.next_cursor }) : null;
  view.append(
    panel(
      unified ? 'Unified assets' : 'Asset records',
      search ? `matching “${search}”` : null,
      h('div', { class: 'body flush', 'data-count': items.length }, table),
      pager(items.length, cursor ? hashWith('assets', base) : null, next),
    ),
  );
}

function pager(count, first, next) {
  return h(
    'div',
    { class: 'pager' },
    h('span', null, `${fmtNum(count)} shown${next ? ', more on the next page' : ''}`),
    h('span', { class: 'buttons' }, first ? h('a', { class: 'button secondary', href: first }, '« First page') : null, next ? h('a', { class: 'button secondary', href: next, 'data-next': '1' }, 'Next page »') : null),
  );
}

function assetTable(items) {
  if (!items.length) return h('div', { class: 'empty' }, 'No assets match.');
  return h(
    'table',
    null,
    h(
      'thead',
      null,
      h('tr', null, h('th', null, 'Source'), h('th', null, 'Name'), h('th', null, 'Hostnames'), h('th', null, 'IPv4'), h('th', null, 'MAC'), h('th', null, 'OS / type'), h('th', null, 'Last seen'), h('th', null, 'Unified'), h('th', { class: 'num' }, 'Risk')),
    ),
    h(
      'tbody',
      null,
      items.map((a) =>
        h(
          'tr',
          { 'data-asset': `${a.source}/${a.id}` },
          h('td', null, srcBadge(a.source, a.kind)),
          h('td', { class: 'ellipsis' }, link(assetHref(a.source, a.id), a.name || a.id), a.deleted_at ? h('span', { class: 'sub pill-bad' }, `deleted ${fmtTime(a.deleted_at)}`) : h('span', { class: 'sub mono' }, a.id)),
          h('td', null, h('ul', { class: 'list' }, (a.hostnames || []).slice(0, 3).map((x) => h('li', { 'data-hostname': x }, x)))),
          h('td', { class: 'mono' }, h('ul', { class: 'list' }, (a.ipv4s || []).slice(0, 3).map((x) => h('li', null, x)))),
          h('td', { class: 'mono' }, h('ul', { class: 'list' }, (a.macs || []).slice(0, 2).map((x) => h('li', null, x)))),
          h('td', { class: 'ellipsis' }, dash((a.operating_systems || [])[0]), h('span', { class: 'sub' }, [a.type, a.vendor, a.model].filter(Boolean).join(' · ') || '—')),
          h('td', { class: 'nowrap' }, fmtTime(a.last_seen).slice(0, 10), h('span', { class: 'sub' }, fmtAgo(a.last_seen))),
          h('td', { class: 'mono' }, a.unified_id ? link(unifiedHref(a.unified_id), a.unified_id.slice(0, 8)) : '—'),
          h('td', { class: 'num' }, a.risk === null || a.risk === undefined ? '—' : a.risk.toFixed(1)),
        ),
      ),
    ),
  );
}

function unifiedTable(items) {
  if (!items.length) return h('div', { class: 'empty' }, 'No unified assets match.');
  return h(
    'table',
    null,
    h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'Sources'), h('th', { class: 'num' }, 'Records'), h('th', null, 'Hostnames'), h('th', null, 'IPv4'), h('th', null, 'MAC'), h('th', null, 'Max severity'), h('th', { class: 'num' }, 'Open findings'))),
    h(
      'tbody',
      null,
      items.map((u) =>
        h(
          'tr',
          { 'data-unified': u.unified_id },
          h('td', { class: 'ellipsis' }, link(unifiedHref(u.unified_id), u.name || u.unified_id), h('span', { class: 'sub mono' }, u.unified_id)),
          h('td', null, (u.sources || []).map((x) => srcBadge(x, guessKind(x)))),
          h('td', { class: 'num' }, fmtNum(u.records)),
          h('td', null, h('ul', { class: 'list' }, (u.hostnames || []).slice(0, 3).map((x) => h('li', { 'data-hostname': x }, x)))),
          h('td', { class: 'mono' }, h('ul', { class: 'list' }, (u.ipv4s || []).slice(0, 3).map((x) => h('li', null, x)))),
          h('td', { class: 'mono' }, h('ul', { class: 'list' }, (u.macs || []).slice(0, 2).map((x) => h('li', null, x)))),
          h('td', null, sevBadge(u.max_severity)),
          h('td', { class: 'num' }, fmtNum(u.open_findings)),
        ),
      ),
    ),
  );
}

// ---------------------------------------------------------------- findings (list)

function findingTable(items, opts = {}) {
  if (!items.length) return h('div', { class: 'empty' }, 'No findings match.');
  return h(
    'table',
    null,
    h(
      'thead',
      null,
      h('tr', null, h('th', null, 'Severity'), h('th', null, 'State'), h('th', null, 'Source'), h('th', null, 'Plugin'), opts.noAsset ? null : h('th', null, 'Asset'), h('th', null, 'Port'), h('th', null, 'CVEs'), h('th', { class: 'num' }, 'VPR'), h('th', null, 'Last found')),
    ),
    h(
      'tbody',
      null,
      items.map((f) =>
        h(
          'tr',
          { 'data-finding': `${f.source}/${f.id}` },
          h('td', null, sevBadge(f.severity)),
          h('td', null, stateBadge(f.state)),
          h('td', null, srcBadge(f.source, f.kind)),
          h('td', { class: 'ellipsis' }, link(findingHref(f), f.plugin_name || `plugin ${f.plugin_id}`), h('span', { class: 'sub' }, `${f.plugin_id ?? ''}${f.plugin_family ? ` · ${f.plugin_family}` : ''}`)),
          opts.noAsset ? null : h('td', { class: 'ellipsis' }, link(assetHref(f.source, f.asset_id), f.hostname || f.ipv4 || f.asset_id), h('span', { class: 'sub mono' }, f.ipv4 || '')),
          h('td', { class: 'mono nowrap' }, f.port ? `${f.port}/${f.protocol || ''}` : '—'),
          h('td', { class: 'mono' }, (f.cves || []).slice(0, 2).join(' '), (f.cves || []).length > 2 ? h('span', { class: 'muted' }, ` +${f.cves.length - 2}`) : null),
          h('td', { class: 'num' }, f.vpr_score === null || f.vpr_score === undefined ? '—' : f.vpr_score.toFixed(1)),
          h('td', { class: 'nowrap' }, fmtTime(f.last_found).slice(0, 10)),
        ),
      ),
    ),
  );
}

async function pageFindings(view, _parts, params) {
  const q = {};
  for (const k of ['source', 'severity', 'state', 'cve', 'plugin', 'asset', 'unified_asset', 'as_of']) q[k] = params.get(k) || '';
  const cursor = params.get('cursor') || '';
  const [sources, page] = await Promise.all([loadSources(), api('/findings', { ...q, limit: PAGE, cursor })]);
  view.append(pageHead('Findings', 'Every source, one normalized record per asset × plugin × port'));

  const select = (name, label, values, cur) => h('select', { name, 'aria-label': label }, h('option', { value: '' }, label), values.map((v) => h('option', { value: v, selected: v === cur }, v)));
  const fSource = select('source', 'All sources', sources.map((x) => x.name), q.source);
  const fSev = select('severity', 'All severities', [...SEVERITIES, 'critical,high'], q.severity);
  const fState = select('state', 'All states', ['open,reopened', 'open', 'reopened', 'fixed'], q.state);
  const fCve = h('input', { type: 'search', class: 'narrow', name: 'cve', value: q.cve, placeholder: 'CVE-…', 'aria-label': 'CVE' });
  const fPlugin = h('input', { type: 'text', class: 'narrower', name: 'plugin', value: q.plugin, placeholder: 'plugin id', 'aria-label': 'plugin id' });
  const form = h('form', { class: 'filters' }, fSource, fSev, fState, fCve, fPlugin, h('button', { type: 'submit' }, 'Filter'), Object.values(q).some(Boolean) ? h('a', { class: 'button secondary', href: '#/findings' }, 'Clear') : null);
  const submit = (ev) => {
    if (ev) ev.preventDefault();
    location.hash = hashWith('findings', { ...q, source: fSource.value, severity: fSev.value, state: fState.value, cve: fCve.value.trim(), plugin: fPlugin.value.trim() });
  };
  form.addEventListener('submit', submit);
  for (const sel of [fSource, fSev, fState]) sel.addEventListener('change', submit);
  view.append(form);
  const items = page.items || [];
  view.append(panel('Findings', null, h('div', { class: 'body flush', 'data-count': items.length }, findingTable(items)), pager(items.length, cursor ? hashWith('findings', q) : null, page.next_cursor ? hashWith('findings', { ...q, cursor: page.next_cursor }) : null)));
}

// ---------------------------------------------------------------- unified asset

const EVIDENCE_LABEL = { strong: 'strong id', mac: 'MAC', fqdn_ip: 'FQDN + IP', hostname_ip: 'hostname + IP', hostname: 'hostname' };
const EVIDENCE_STRENGTH = { strong: 4, mac: 3, fqdn_ip: 2, hostname_ip: 2, hostname: 1 };

function evidenceChip(ev) {
  if (ev === null || typeof ev !== 'object') return h('span', { class: 'evidence' }, String(ev));
  const kind = ev.kind || '';
  const values = Object.entries(ev)
    .filter(([k]) => k !== 'kind')
    .map(([, v]) => (v !== null && typeof v === 'object' ? Object.values(v).join(' ') : String(v)));
  return h('span', { class: 'evidence', 'data-evidence': kind }, h('b', null, EVIDENCE_LABEL[kind] || kind), values.join(' · '));
}

async function pageUnified(view, parts, params) {
  const id = parts[0] || '';
  const cursor = params.get('cursor') || '';
  const [u, findings] = await Promise.all([api(`/unified-assets/${enc(id)}`), api('/findings', { unified_asset: id, limit: PAGE, cursor })]);
  const records = u.records || [];
  for (const r of records) if (r.kind) kinds.set(r.source, r.kind);
  view.append(pageHead(u.name || id, h('span', { class: 'mono' }, u.unified_id), h('span', null, link('#/assets?view=unified', 'Unified assets'), ' / ')));

  const bySev = u.findings_by_severity || {};
  view.append(
    h(
      'div',
      { class: 'sevcounts', 'data-metric-group': 'unified' },
      h('div', { class: 'sevcount' }, h('span', { class: 'muted' }, 'Open findings'), h('b', null, metric({ 'data-metric': 'unified_open_findings' }, u.open_findings))),
      SEVERITIES.map((sv) => h('div', { class: 'sevcount' }, sevBadge(sv), h('b', null, metric({ 'data-metric': `unified_${sv}` }, bySev[sv] || 0)))),
      h('div', { class: 'sevcount' }, h('span', { class: 'muted' }, 'Records'), h('b', null, fmtNum(records.length))),
    ),
  );
  view.append(h('div', { class: 'grid' }, panel('Records side by side', 'values shared by two or more records are highlighted', h('div', { class: 'body flush' }, compareRecords(records)))));
  view.append(h('div', { class: 'grid' }, panel('Why these records are one device', plural((u.links || []).length, 'link'), h('div', { class: 'body flush' }, linksTable(u.links || [], records)))));
  const items = findings.items || [];
  const base = `unified/${enc(id)}`;
  view.append(
    panel(
      'Findings from all sources',
      null,
      h('div', { class: 'body flush', 'data-count': items.length }, findingTable(items)),
      pager(items.length, cursor ? `#/${base}` : null, findings.next_cursor ? `#/${base}?cursor=${enc(findings.next_cursor)}` : null),
    ),
  );
}

function compareRecords(records) {
  if (!records.length) return h('div', { class: 'empty' }, 'No records.');
  const fields = [
    ['Name', (a) => (a.name ? [a.name] : [])],
    ['Native id', (a) => [a.id]],
    ['Hostnames', (a) => a.hostnames || []],
    ['FQDNs', (a) => a.fqdns || []],
    ['IPv4', (a) => a.ipv4s || []],
    ['IPv6', (a) => a.ipv6s || []],
    ['MAC', (a) => a.macs || []],
    ['OS', (a) => a.operating_systems || []],
    ['Type', (a) => (a.type ? [a.type] : [])],
    ['Vendor / model', (a) => [a.vendor, a.model].filter(Boolean)],
    ['Firmware', (a) => (a.firmware ? [a.firmware] : [])],
    ['First seen', (a) => (a.first_seen ? [fmtTime(a.first_seen)] : [])],
    ['Last seen', (a) => (a.last_seen ? [fmtTime(a.last_seen)] : [])],
    ['Risk', (a) => (a.risk === null || a.risk === undefined ? [] : [a.risk.toFixed(1)])],
    ['Deleted', (a) => (a.deleted_at ? [fmtTime(a.deleted_at)] : [])],
  ];
  const shareable = new Set(['Hostnames', 'FQDNs', 'IPv4', 'IPv6', 'MAC', 'Name']);
  const rows = fields
    .filter(([, get]) => records.some((r) => get(r).length))
    .map(([label, get]) => {
      const counts = new Map();
      for (const r of records) for (const v of new Set(get(r).map((x) => String(x).toLowerCase()))) counts.set(v, (counts.get(v) || 0) + 1);
      return h(
        'tr',
        null,
        h('th', { class: 'rowhead' }, label),
        records.map((r) => {
          const vals = get(r);
          if (!vals.length) return h('td', { class: 'muted' }, '—');
          return h(
            'td',
            { class: label === 'Native id' ? 'mono' : '' },
            vals.map((v) => h('span', { class: `tag${shareable.has(label) && counts.get(String(v).toLowerCase()) > 1 ? ' shared' : ''}` }, v)),
          );
        }),
      );
    });
  return h(
    'table',
    { class: 'compare' },
    h('thead', null, h('tr', null, h('th', { class: 'rowhead' }, ''), records.map((r) => h('th', { 'data-record': `${r.source}/${r.id}` }, srcBadge(r.source, r.kind), ' ', link(assetHref(r.source, r.id), r.name || r.id))))),
    h('tbody', null, rows),
  );
}

function linksTable(links, records) {
  if (!links.length) return h('div', { class: 'empty' }, records.length > 1 ? 'No link evidence recorded.' : 'A single record: nothing to link.');
  const name = (k) => {
    const r = records.find((x) => x.source === k.source && x.id === k.id);
    return h('span', { class: 'nowrap' }, srcBadge(k.source, guessKind(k.source)), link(assetHref(k.source, k.id), (r && r.name) || k.id));
  };
  return h(
    'table',
    null,
    h('thead', null, h('tr', null, h('th', null, 'Record'), h('th', null, 'Linked to'), h('th', null, 'Strength'), h('th', null, 'Evidence'))),
    h(
      'tbody',
      null,
      links.map((l) => {
        const best = Math.max(0, ...(l.evidence || []).map((e) => EVIDENCE_STRENGTH[e && e.kind] || 0));
        return h(
          'tr',
          { 'data-link': `${l.a.source}/${l.a.id}|${l.b.source}/${l.b.id}` },
          h('td', null, name(l.a)),
          h('td', null, name(l.b)),
          h('td', null, h('span', { class: 'strength', title: `strength ${best} of 4` }, h('i', { class: `s${best}` }))),
          h('td', null, (l.evidence || []).map(evidenceChip)),
        );
      }),
    ),
  );
}

// ---------------------------------------------------------------- one asset record

async function pageAsset(view, parts, params) {
  const [source, id] = parts;
  const cursor = params.get('cursor') || '';
  const [r, findings] = await Promise.all([api(`/assets/${enc(source)}/${enc(id)}`), api('/findings', { source, asset: id, limit: PAGE, cursor })]);
  const a = r.asset;
  view.append(pageHead(a.name || a.id, h('span', null, srcBadge(a.source, a.kind), h('span', { class: 'mono' }, a.id)), h('span', null, link('#/assets', 'Assets'), ' / ')));
  const kvs = [
    ['Unified asset', a.unified_id ? link(unifiedHref(a.unified_id), a.unified_id) : '—'],
    ['Hostnames', tags(a.hostnames)],
    ['FQDNs', tags(a.fqdns)],
    ['IPv4', tags(a.ipv4s)],
    ['IPv6', tags(a.ipv6s)],
    ['MAC', tags(a.macs)],
    ['OS', tags(a.operating_systems)],
    ['Type', dash(a.type)],
    ['Vendor / model', dash([a.vendor, a.model].filter(Boolean).join(' · '))],
    ['Firmware', dash(a.firmware)],
    ['First seen', fmtTime(a.first_seen)],
    ['Last seen', fmtTime(a.last_seen)],
    ['Risk', a.risk === null || a.risk === undefined ? '—' : a.risk.toFixed(1)],
    ['Tags', tags(Object.entries(a.tags || {}).map(([k, v]) => `${k}: ${v}`))],
  ];
  if (a.deleted_at) kvs.push(['Deleted', h('span', { class: 'pill-bad' }, fmtTime(a.deleted_at))]);
  view.append(h('div', { class: 'grid' }, panel('Record', null, kv(kvs))));
  const items = findings.items || [];
  const base = `asset/${enc(source)}/${enc(id)}`;
  view.append(h('div', { class: 'grid' }, panel('Findings', null, h('div', { class: 'body flush', 'data-count': items.length }, findingTable(items, { noAsset: true })), pager(items.length, cursor ? `#/${base}` : null, findings.next_cursor ? `#/${base}?cursor=${enc(findings.next_cursor)}` : null))));
  view.append(rawJson('Raw source record', r.raw));
}

function kv(pairs) {
  return h('div', { class: 'kv' }, pairs.map(([k, v]) => [h('div', { class: 'k' }, k), h('div', null, v)]));
}

function rawJson(title, raw) {
  return h('details', { class: 'raw' }, h('summary', null, title), h('pre', { 'data-raw': '1' }, raw === null || raw === undefined ? 'not stored' : JSON.stringify(raw, null, 2)));
}

// ---------------------------------------------------------------- one finding

async function pageFinding(view, parts) {
  const [source, id] = parts;
  const r = await api(`/findings/${enc(source)}/${enc(id)}`);
  const f = r.finding;
  view.append(
    pageHead(
      h('span', { class: 'title-sev' }, sevBadge(f.severity), f.plugin_name || `plugin ${f.plugin_id}`),
      h('span', null, stateBadge(f.state), ' ', srcBadge(f.source, f.kind), h('span', { class: 'mono' }, f.id)),
      h('span', null, link('#/findings', 'Findings'), ' / '),
    ),
  );
  document.title = `${f.plugin_name || f.id} · tenax`;
  const cves = (f.cves || []).map((c) => h('span', { class: 'tag mono' }, link(hashWith('findings', { cve: c }), c)));
  view.append(
    h(
      'div',
      { class: 'grid wide-left' },
      panel(
        'Finding',
        null,
        kv([
          ['Asset', h('span', null, link(assetHref(f.source, f.asset_id), f.hostname || f.ipv4 || f.asset_id), h('span', { class: 'muted mono' }, `  ${f.asset_id}`))],
          ['Unified asset', f.unified_asset_id ? link(unifiedHref(f.unified_asset_id), f.unified_asset_id) : '—'],
          ['Host / IP', `${dash(f.hostname)} · ${dash(f.ipv4)}`],
          ['Plugin', `${f.plugin_id ?? '—'}${f.plugin_family ? ` · ${f.plugin_family}` : ''}`],
          ['Port', f.port ? `${f.port}/${f.protocol || ''}${f.service ? ` (${f.service})` : ''}` : '—'],
          ['CVEs', cves.length ? cves : '—'],
          ['CVSS v3 / v2', `${dash(f.cvss3_base_score)} / ${dash(f.cvss2_base_score)}`],
          ['VPR', dash(f.vpr_score)],
          ['First found', fmtTime(f.first_found)],
          ['Last found', fmtTime(f.last_found)],
          ['Last fixed', fmtTime(f.last_fixed)],
        ]),
      ),
      panel('History', plural((r.history || []).length, 'transition'), timeline(r.history || [])),
    ),
  );
  if (f.synopsis) view.append(h('div', { class: 'grid' }, panel('Synopsis', null, h('p', { class: 'text-block' }, f.synopsis))));
  if (f.solution) view.append(h('div', { class: 'grid' }, panel('Solution', null, h('p', { class: 'text-block' }, f.solution))));
  if (f.output) view.append(h('div', { class: 'grid' }, panel('Plugin output', null, h('pre', { class: 'output' }, f.output.replace(/^\s*\n/, '')))));
  view.append(rawJson('Raw source record', r.raw));
}

function timeline(history) {
  if (!history.length) return h('div', { class: 'empty' }, 'No recorded transitions.');
  return h(
    'ol',
    { class: 'timeline' },
    history.map((t) =>
      h(
        'li',
        { class: `ch-${t.change}`, 'data-change': t.change },
        h('div', null, h('span', { class: 'what' }, t.change), t.state ? h('span', null, ' → ', stateBadge(t.state)) : null),
        h('div', { class: 'when' }, `${fmtTime(t.at)}${t.run !== null && t.run !== undefined ? ` · run #${t.run}` : ''}`),
      ),
    ),
  );
}

// ---------------------------------------------------------------- start

function start() {
  takeTokenFromHash();
  const right = document.getElementById('top-right');
  if (right) right.replaceChildren(h('span', null, h('span', { class: 'dot' }), 'read-only'), h('a', { href: '/api/v1/openapi.json' }, 'API'));
  window.addEventListener('hashchange', () => {
    takeTokenFromHash();
    route();
  });
  route();
}

start();
