// calibrate.js: the phone-sized calibration walk page. It talks only to the
// calibration API (/api/sites/{site}/calibration/...), plus the floor-plan
// image and the site list of the main API when they are there.

import { shopBounds } from './js/map.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = { site: params.get('site'), doc: null, status: null, mode: 'tap', waypoints: [], wp: 0, plan: null, report: null };
window.calib = { state, toPx: null };

class HTTPError extends Error { constructor(status, msg) { super(msg); this.status = status; } }

async function api(path, opts = {}) {
  const res = await fetch(path, { credentials: 'same-origin', ...opts });
  if (!res.ok) {
    let msg = res.statusText;
    try { msg = (await res.json()).error || msg; } catch (_) {}
    throw new HTTPError(res.status, msg);
  }
  return res.json();
}
const calib = (rest) => `/api/sites/${encodeURIComponent(state.site)}/calibration/${rest}`;
const post = (rest, body) => api(calib(rest), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body || {}) });

function toast(msg) {
  const t = $('toast');
  t.textContent = msg;
  t.classList.add('show');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove('show'), 3000);
}

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
}

// ---- the floor plan ------------------------------------------------------

// The plan shows the part of the site the walk covers (shopBounds: the
// shop's zones, not the street outside, and the sensors, with 1.5 m
// around), so that on a phone the shop fills the width and a tap lands
// within a step of where meant (the whole site put a 10 m shop in a third
// of the screen).
function geometry() {
  const c = $('plan');
  const b = shopBounds(state.doc.site);
  const w = b[1][0] - b[0][0], h = b[1][1] - b[0][1];
  // The canvas has the pixels it is shown with (it was a fixed 700 wide,
  // shrunk to half on a phone: 6 px labels); k is canvas px per CSS px,
  // for line widths, dots and text.
  const css = c.clientWidth;
  if (css > 0) { const want = Math.round(css * (window.devicePixelRatio || 1)); if (c.width !== want) c.width = want; }
  const W = c.width, H = Math.round(W * h / w);
  const k = css > 0 ? W / css : 1;
  if (c.height !== H) c.height = H;
  const s = W / w;
  const toPx = (x, y) => [(x - b[0][0]) * s, H - (y - b[0][1]) * s];
  const toSite = (px, py) => [b[0][0] + px / s, b[0][1] + (H - py) / s];
  window.calib.toPx = (x, y) => { // CSS pixels in the visual viewport (where a touch lands), for tests
    const r = c.getBoundingClientRect(); const [px, py] = toPx(x, y);
    const vv = window.visualViewport || { offsetLeft: 0, offsetTop: 0 };
    return [r.left + px * r.width / W - vv.offsetLeft, r.top + py * r.height / H - vv.offsetTop];
  };
  return { c, W, H, s, k, toPx, toSite };
}

function draw() {
  if (!state.doc) return;
  const { c, W, H, s, k, toPx } = geometry();
  const g = c.getContext('2d');
  const site = state.doc.site;
  g.clearRect(0, 0, W, H);
  g.fillStyle = '#eef0f4'; g.fillRect(0, 0, W, H);
  if (state.plan && site.plan) {
    const pb = site.plan.bounds; const [x0, y0] = toPx(pb[0][0], pb[1][1]); const [x1, y1] = toPx(pb[1][0], pb[0][1]);
    g.drawImage(state.plan, x0, y0, x1 - x0, y1 - y0);
  }
  const cov = state.status && state.status.coverage;
  if (cov) {
    for (let j = 0; j < cov.ny; j++) for (let i = 0; i < cov.nx; i++) {
      const v = cov.cells[j * cov.nx + i];
      if (v < 0) continue;
      g.fillStyle = v > 0 ? 'rgba(31,157,85,.28)' : 'rgba(217,138,0,.18)';
      const [px, py] = toPx(cov.x0 + i * cov.cell, cov.y0 + (j + 1) * cov.cell);
      g.fillRect(px + 1, py + 1, cov.cell * s - 2, cov.cell * s - 2);
    }
  }
  g.strokeStyle = '#5b6478'; g.lineWidth = 1.5 * k;
  for (const z of site.zones || []) {
    g.beginPath();
    z.polygon.forEach((p, k) => { const [x, y] = toPx(p[0], p[1]); k ? g.lineTo(x, y) : g.moveTo(x, y); });
    g.closePath(); g.stroke();
  }
  const marks = (state.status && state.status.marks) || [];
  if (marks.length) {
    g.strokeStyle = '#2f6fed'; g.lineWidth = 2 * k; g.beginPath();
    marks.forEach((m, k) => { const [x, y] = toPx(m[0], m[1]); k ? g.lineTo(x, y) : g.moveTo(x, y); });
    g.stroke();
    const [lx, ly] = toPx(...marks[marks.length - 1]);
    g.fillStyle = '#2f6fed'; g.beginPath(); g.arc(lx, ly, 7 * k, 0, 7); g.fill();
  }
  const sensors = new Map(((state.status && state.status.sensors) || []).map((x) => [x.id, x]));
  g.font = `600 ${Math.round(13 * k)}px system-ui, sans-serif`;
  for (const se of site.sensors) {
    const [x, y] = toPx(se.x, se.y);
    const ok = sensors.get(se.id) && sensors.get(se.id).ok;
    g.fillStyle = '#fff'; g.beginPath(); g.arc(x, y, 8 * k, 0, 7); g.fill();
    g.fillStyle = ok ? '#1f9d55' : '#1d2330'; g.beginPath(); g.arc(x, y, 6 * k, 0, 7); g.fill();
    g.fillText(se.id, x + 9 * k, y - 8 * k);
  }
  if (state.mode === 'route' && state.waypoints.length) {
    const p = state.waypoints[Math.min(state.wp, state.waypoints.length - 1)];
    const [x, y] = toPx(p[0], p[1]);
    g.strokeStyle = '#d64545'; g.lineWidth = 3 * k; g.beginPath(); g.arc(x, y, 12 * k, 0, 7); g.stroke();
  }
}

// ---- step 1: the phone ---------------------------------------------------

async function pollDevices() {
  if (state.status && state.status.phone) return;
  const sensor = $('sensor').value;
  try {
    const r = await api(calib(`devices?sensor=${encodeURIComponent(sensor)}`));
    const ul = $('devices');
    ul.replaceChildren();
    if (!r.devices.length) ul.append(el('li', { class: 'muted' }, 'Nothing heard at this sensor yet…'));
    r.devices.slice(0, 6).forEach((d, k) => {
      ul.append(el('li', { class: k === 0 ? 'top' : '', 'data-dev': d.dev },
        el('span', { class: 'rssi' }, `${Math.round(d.rssi)} dBm`),
        el('span', { class: 'dev' }, `${d.dev}${d.track ? ' · ' + d.track : ''} · ${d.frames} frames`),
        el('button', { class: k === 0 ? 'primary' : '', onclick: () => choose(d.dev) }, 'Mine')));
    });
  } catch (e) { toast(e.message); }
}

async function choose(dev) {
  try {
    const p = await post('start', { dev });
    toast('Walk started: follow the hints below');
    $('phone').textContent = `Your phone: ${p.dev}${p.track ? ' (track ' + p.track + ')' : ''}`;
    $('step-phone').classList.add('done');
    await refresh();
  } catch (e) { toast(e.message); }
}

// ---- step 2: the walk ----------------------------------------------------

// walking: a walk is started (a phone picked in step 1); before, a mark
// has nothing to belong to (the server refuses it: 409).
const walking = () => !!(state.status && state.status.phone);
const PICK_FIRST = 'Pick your phone first (step 1): the walk starts with it';

async function mark(x, y) {
  if (!walking()) { toast(PICK_FIRST); return false; }
  try {
    await post('mark', { x, y });
  } catch (e) { toast(e.message); return false; }
  await refresh();
  return true;
}

function onTap(ev) {
  if (state.mode !== 'tap' || !state.doc) return;
  const { c, W, H, toSite } = geometry();
  const r = c.getBoundingClientRect();
  const [x, y] = toSite((ev.clientX - r.left) * W / r.width, (ev.clientY - r.top) * H / r.height);
  mark(Math.round(x * 100) / 100, Math.round(y * 100) / 100);
}

async function setMode(mode) {
  state.mode = mode;
  $('mode-tap').classList.toggle('primary', mode === 'tap');
  $('mode-route').classList.toggle('primary', mode === 'route');
  $('here').hidden = mode !== 'route';
  if (mode === 'route' && !state.waypoints.length) {
    try { state.waypoints = (await api(calib('waypoints'))).waypoints; } catch (e) { toast(e.message); }
  }
  $('walk-help').textContent = mode === 'route'
    ? 'Phone in hand with its Wi-Fi settings open, walk at a normal pace to the red circle and press "I\'m here" as you pass it. At each sensor the route circles it three times (about 30 s): keep walking, do not stand still. At the end, walk the route back until 10 minutes have passed.'
    : 'Phone in hand with its Wi-Fi settings open (so it probes every few seconds), walk at a normal pace through the whole shop for 10 minutes: walk three small circles (1–2 m round) under every sensor, about 30 s, without standing still, and cross the floor between sensors. Every few steps (at most 10 s apart), tap where you are on the plan.';
  draw();
}

async function here() {
  if (!state.waypoints.length) { // pressed before the route came in
    try { state.waypoints = (await api(calib('waypoints'))).waypoints; } catch (e) { toast(e.message); return; }
  }
  const k = state.wp;
  const p = state.waypoints[k];
  if (!p) return;
  state.wp = k + 1; // before awaiting: a second press goes to the next waypoint
  if (!(await mark(p[0], p[1]))) state.wp = k;
  if (state.wp >= state.waypoints.length) { // walk it back: the protocol is 10 minutes
    state.waypoints.reverse();
    state.wp = 1;
    toast('Route done: walk it back until 10 minutes have passed, then fit the walk below');
  }
  draw();
}

// "Staying here": while the walker stands still (under a sensor, 10 s), the
// same spot is marked every 3 s, so that the marks stay less than 10 s apart
// and every frame of the stay counts.
function toggleStay() {
  const b = $('stay');
  if (state.stay) {
    clearInterval(state.stay);
    state.stay = null;
    b.classList.remove('on');
    return;
  }
  const marks = (state.status && state.status.marks) || [];
  if (!marks.length) { toast('Tap where you stand first'); return; }
  const [x, y] = marks[marks.length - 1];
  b.classList.add('on');
  state.stay = setInterval(() => mark(x, y), 3000);
}

// ---- feedback ------------------------------------------------------------

function showStatus(st) {
  state.status = st;
  const main = $('main');
  main.dataset.state = st.phone ? (st.ready ? 'ready' : 'walking') : 'pick';
  main.dataset.marks = (st.marks || []).length;
  $('marks').textContent = `${(st.marks || []).length} marks · ${Math.round(st.walk_s)} s walked`;
  const bars = $('bars');
  bars.replaceChildren();
  for (const s of st.sensors) {
    const f = Math.min(1, s.samples / 300);
    bars.append(el('span', {}, s.id),
      el('div', { class: 'bar' + (s.ok ? ' ok' : '') }, Object.assign(el('i'), { style: `width:${Math.round(100 * f)}%` })),
      el('span', { class: 'muted', 'data-sensor': s.id }, `${s.samples}${s.nearest >= 0 ? ' · ' + s.nearest + ' m' : ''}`));
  }
  $('coverage').textContent = `Floor covered: ${Math.round(100 * st.coverage.share)}%  ·  frames of your phone on the walk: ${st.on_walk}`;
  const needs = $('needs');
  needs.replaceChildren(...(st.needs || []).map((n) => el('li', {}, n)));
  $('fit').disabled = !st.ready;
  $('stay').disabled = !(st.marks || []).length;
  $('undo').disabled = !(st.marks || []).length;
  $('revert').hidden = !st.applied;
  draw();
}

async function refresh() {
  try { showStatus(await api(calib('status'))); } catch (e) { toast(e.message); }
}

// ---- step 3: fit, apply, revert ------------------------------------------

const f1 = (v) => (v === null || v === undefined || Number.isNaN(v) ? '–' : Number(v).toFixed(1));
const f2 = (v) => (v === null || v === undefined || Number.isNaN(v) ? '–' : Number(v).toFixed(2));

async function fit() {
  $('fit').disabled = true;
  try {
    const r = await post('fit');
    state.report = r;
    const t = el('table', {}, el('tr', {}, ...['sensor', 'samples', 'before', 'fitted', 'rms dB', 'applied'].map((h) => el('th', {}, h))));
    for (const s of r.sensors) {
      t.append(el('tr', {}, el('td', {}, s.id), el('td', {}, String(s.samples)),
        el('td', {}, `${f1(s.previous.rssi_1m)} / ${f2(s.previous.exponent)}`),
        el('td', {}, `${f1(s.fit.rssi_1m)} / ${f2(s.fit.exponent)}`),
        el('td', {}, f1(s.fit.rms_db)), el('td', {}, s.choice)));
    }
    const hb = r.held_before.median_m, ha = r.held_after.median_m;
    const good = r.chosen !== 'none';
    const v = el('p', { class: 'verdict ' + (good ? 'good' : 'bad'), id: 'verdict' },
      good ? `Median error on held-out parts of the walk: ${f2(hb)} m → ${f2(ha)} m` : 'The fit does not improve held-out positions: nothing to apply.');
    const extra = [];
    const o = r.offset_5ghz;
    if (o) {
      extra.push(el('p', { id: 'offset5' }, `5 GHz offset: ${f1(o.previous)} → ${f1(o.fitted)} ± ${f1(o.se)} dB, ` +
        (o.applied ? 'applied' : 'kept at the site\'s value (held-out frames do not get better)')));
    }
    $('report').replaceChildren(v, t, ...extra, ...(r.notes || []).map((n) => el('p', { class: 'muted' }, n)));
    $('apply').disabled = !good;
    $('main').dataset.fitted = good ? 'better' : 'kept';
  } catch (e) { toast(e.message); }
  $('fit').disabled = !(state.status && state.status.ready);
}

async function apply() {
  try {
    const a = await post('apply');
    $('applied').textContent = `Applied as site version ${a.version} (was ${a.previous}). Live now; no restart.`;
    $('main').dataset.applied = a.version;
    $('apply').disabled = true;
    loadAccuracy();
    await refresh();
  } catch (e) { toast(e.message); }
}

async function revert() {
  try {
    const r = await post('revert');
    $('applied').textContent = `Reverted: site version ${r.version} restores the values before calibration.`;
    $('main').dataset.applied = '';
    $('main').dataset.reverted = r.version;
    loadAccuracy();
    await refresh();
  } catch (e) { toast(e.message); }
}

// showAccuracy opens the predicted-accuracy picture full size: its own
// pixels, and on a phone at least twice the screen's width, so that its
// labels read; the dialog pans (Esc or Close ends it).
function showAccuracy() {
  const big = $('acc-big'), small = $('acc');
  big.src = small.src;
  const fit = () => {
    const w = big.naturalWidth || small.naturalWidth;
    if (w) big.style.width = Math.max(w, innerWidth < 560 ? 2 * innerWidth : 0) + 'px';
  };
  big.onload = fit;
  fit();
  $('acc-dialog').showModal();
  $('acc-close').focus();
}

async function loadAccuracy() {
  $('acc').src = calib('accuracy.png') + '?t=' + Date.now();
  try {
    const a = await api(calib('accuracy'));
    const z = (a.zones || []).filter((x) => x.kind !== 'outside').map((x) => `${x.zone} ±${f1(x.mean_m)} m`).join(', ');
    let txt = `Expected error (1 sigma per axis): ${z || '–'}.`;
    if (a.suggestion) txt += ` One more sensor at (${f1(a.suggestion.x)}, ${f1(a.suggestion.y)}) would bring ${a.suggestion.zone} from ±${f1(a.suggestion.before_m)} to ±${f1(a.suggestion.after_m)} m.`;
    $('acc-text').textContent = txt;
  } catch (e) { /* the picture says enough */ }
}

// ---- self-calibration drift ------------------------------------------------

function spark(values) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('viewBox', '0 0 90 22');
  if (values.length > 1) {
    const lo = Math.min(...values) - 0.5, hi = Math.max(...values) + 0.5;
    const pts = values.map((v, k) => `${(k * 88 / (values.length - 1) + 1).toFixed(1)},${(21 - (v - lo) * 20 / (hi - lo)).toFixed(1)}`);
    const pl = document.createElementNS(ns, 'polyline');
    pl.setAttribute('points', pts.join(' '));
    pl.setAttribute('fill', 'none');
    pl.setAttribute('stroke', '#2f6fed');
    pl.setAttribute('stroke-width', '1.5');
    svg.append(pl);
  }
  return svg;
}

async function loadDrift() {
  try {
    const d = await api(calib('drift'));
    $('step-drift').hidden = !d.enabled;
    if (!d.enabled) return;
    const anchors = d.anchors || [];
    const sensorIDs = new Set(((state.doc && state.doc.site && state.doc.site.sensors) || []).map((s) => s.id));
    const tx = anchors.filter((a) => sensorIDs.has(a.id)).map((a) => a.id);
    const fixed = anchors.filter((a) => !sensorIDs.has(a.id)).map((a) => a.id || 'unnamed');
    const parts = [];
    if (tx.length) parts.push(`${tx.join(', ')} (transmitting sensors)`);
    if (fixed.length) parts.push(`${fixed.join(', ')} (fixed devices)`);
    const p = $('drift-anchors');
    p.dataset.n = String(anchors.length);
    p.textContent = `Anchors: ${parts.join('; ') || 'none'}.` + (d.history.length ? '' : ' The first fit comes after a full hour of their frames.');
    if (!d.history.length) return;
    const last = d.history[d.history.length - 1];
    const t = $('drift');
    t.replaceChildren(el('tr', {}, ...['sensor', 'rssi_1m', 'exponent', 'links', 'drift', 'history'].map((h) => el('th', {}, h))));
    for (const s of last.sensors) {
      const series = d.history.map((h) => (h.sensors.find((x) => x.id === s.id) || {}).rssi_1m).filter((v) => v !== undefined);
      const dr = d.drift[s.id];
      t.append(el('tr', { 'data-sensor': s.id }, el('td', {}, s.id), el('td', {}, f1(s.rssi_1m)), el('td', {}, f2(s.exponent)),
        el('td', {}, String(s.samples)), el('td', { class: Math.abs(dr || 0) > 3 ? 'warn' : '' }, dr === undefined ? '–' : `${dr > 0 ? '+' : ''}${f1(dr)} dB`),
        el('td', {}, spark(series))));
    }
    await loadSelfcal();
  } catch (e) { /* optional */ }
}

// What applying the self-calibration would write, sensor by sensor, or why not.
async function loadSelfcal() {
  const p = await api(calib('selfcal'));
  const t = $('selfcal');
  t.replaceChildren(el('tr', {}, ...['sensor', 'now', 'change', 'write'].map((h) => el('th', {}, h))));
  for (const s of p.sensors || []) {
    const ch = s.since ? `${s.change_db > 0 ? '+' : ''}${f1(s.change_db)} dB` : '–';
    t.append(el('tr', { 'data-sensor': s.id, 'data-apply': String(s.apply) }, el('td', {}, s.id),
      el('td', {}, `${f1(s.site.rssi_1m)} / ${f2(s.site.exponent)}`),
      el('td', { class: s.apply ? 'warn' : '' }, ch),
      el('td', {}, s.apply ? `${f1(s.proposed.rssi_1m)} / ${f2(s.proposed.exponent)}` : el('span', { class: 'muted' }, s.reason || 'kept'))));
  }
  const b = $('selfapply');
  b.disabled = !p.applicable;
  b.textContent = p.applicable ? `Apply self-calibration (${p.applicable} sensor${p.applicable > 1 ? 's' : ''})` : 'Apply self-calibration';
  $('selfrevert').hidden = !p.applied;
}

async function selfApply() {
  $('selfapply').disabled = true;
  try {
    const a = await post('selfcal/apply');
    $('selfapplied').textContent = `Applied as site version ${a.version} (was ${a.previous}): ${a.sensors.join(', ')}. Live now; no restart.`;
    $('main').dataset.selfapplied = a.version;
    loadAccuracy();
  } catch (e) { toast(e.status === 403 ? 'Applying the self-calibration needs the admin role.' : e.message); }
  try { await loadSelfcal(); } catch (e) { /* shown at the next poll */ }
}

async function selfRevert() {
  try {
    const r = await post('selfcal/revert');
    $('selfapplied').textContent = `Reverted: site version ${r.version} restores the values before.`;
    $('main').dataset.selfapplied = '';
    $('main').dataset.selfreverted = r.version;
    loadAccuracy();
  } catch (e) { toast(e.status === 403 ? 'Reverting the self-calibration needs the admin role.' : e.message); }
  try { await loadSelfcal(); } catch (e) { /* shown at the next poll */ }
}

// ---- start ---------------------------------------------------------------

// forbidden says whom the walk is for, instead of the walk: a viewer's
// every call to the calibration API would be refused (me null: not logged
// in).
function forbidden(me) {
  const main = $('main');
  main.dataset.state = 'forbidden';
  $('site-name').textContent = state.site || '';
  main.replaceChildren(el('section', { id: 'needs-role' },
    el('h2', {}, me ? 'The calibration walk is for the installer role' : 'Log in first'),
    el('p', {}, me ? `You are logged in as ${me.name} with the ${me.role} role. An admin can give you the installer role.` :
      'Log in on the dashboard, then open this page again.'),
    el('p', {}, el('a', { href: '/' }, 'Back to the dashboard'))));
}

async function init() {
  try {
    // 401: not logged in; 404: served without the dashboard's accounts
    // (the calibration service alone, as its own tests run it): no roles.
    const me = await api('/api/me').catch((e) => {
      if (e.status === 401) return null;
      if (e.status === 404) return undefined;
      throw e;
    });
    if (me === null || (me && !['installer', 'admin'].includes(me.role))) return forbidden(me);
    if (!state.site) {
      const sites = await api('/api/sites');
      if (!sites.length) throw new Error('no site yet: add one in the site editor');
      state.site = sites[0].site;
    }
    state.doc = await api(calib('site'));
    $('site-name').textContent = state.doc.site.name || state.doc.site.site;
    const sel = $('sensor');
    sel.replaceChildren(...state.doc.site.sensors.map((s) => el('option', { value: s.id }, s.label ? `${s.id} (${s.label})` : s.id)));
    sel.addEventListener('change', pollDevices);
    if (state.doc.site.plan) {
      const img = new Image();
      img.onload = () => { state.plan = img; draw(); };
      img.src = `/api/sites/${encodeURIComponent(state.site)}/plan`;
    }
    $('plan').addEventListener('click', onTap);
    window.addEventListener('resize', () => draw()); // a phone turned sideways
    $('mode-tap').addEventListener('click', () => setMode('tap'));
    $('mode-route').addEventListener('click', () => setMode('route'));
    $('here').addEventListener('click', here);
    $('stay').addEventListener('click', toggleStay);
    $('undo').addEventListener('click', async () => {
      try { await post('undo'); } catch (e) { toast(e.message); }
      refresh();
    });
    $('fit').addEventListener('click', fit);
    $('apply').addEventListener('click', apply);
    $('revert').addEventListener('click', revert);
    $('selfapply').addEventListener('click', selfApply);
    $('selfrevert').addEventListener('click', selfRevert);
    $('acc-open').addEventListener('click', showAccuracy);
    $('acc-close').addEventListener('click', () => $('acc-dialog').close());
    await refresh();
    if (state.status && state.status.phone) {
      $('phone').textContent = `Your phone: ${state.status.phone.dev}`;
      $('step-phone').classList.add('done');
    }
    draw();
    loadAccuracy();
    loadDrift();
    setInterval(loadDrift, 60000);
    pollDevices();
    setInterval(pollDevices, 2000);
    setInterval(refresh, 2000);
  } catch (e) {
    $('main').dataset.state = 'error';
    toast(e.message);
    $('site-name').textContent = e.message;
  }
}

init();
