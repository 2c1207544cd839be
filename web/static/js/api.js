// api.js: the JSON API, the live stream, and small helpers shared by views.

export class HTTPError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// api fetches a JSON endpoint; it throws HTTPError with the server's message.
export async function api(path, opts = {}) {
  const res = await fetch(path, { credentials: 'same-origin', ...opts });
  if (!res.ok) {
    let msg = res.statusText;
    try { msg = (await res.json()).error || msg; } catch (_) {}
    throw new HTTPError(res.status, msg);
  }
  const ct = res.headers.get('Content-Type') || '';
  if (res.status === 204) return null;
  return ct.includes('json') ? res.json() : res.text();
}

export const sitePath = (site, rest = '') => `/api/sites/${encodeURIComponent(site)}${rest}`;

// siteDoc makes a site as the API sends it safe to walk: a site with no
// zones yet (a new shop, sensors placed, nothing drawn) comes with
// "zones": null, which every view iterates.
export function siteDoc(site) {
  if (site) { site.zones = site.zones || []; site.sensors = site.sensors || []; }
  return site;
}

export function putJSON(path, body, headers = {}) {
  return api(path, { method: 'PUT', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
}
export function postJSON(path, body) {
  return api(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

// Live is a reconnecting WebSocket to a site's live stream. Each (re)connect
// starts with a snapshot.
export class Live {
  constructor(site, onMessage, onState) {
    this.site = site; this.onMessage = onMessage; this.onState = onState || (() => {});
    this.closed = false; this.delay = 500; this.connect();
  }
  connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}${sitePath(this.site, '/ws')}`);
    this.ws = ws;
    ws.onopen = () => { this.delay = 500; this.onState(true); };
    ws.onmessage = (e) => { try { this.onMessage(JSON.parse(e.data)); } catch (err) { console.error(err); } };
    ws.onclose = () => {
      this.onState(false);
      if (this.closed) return;
      setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 10000);
    };
  }
  close() { this.closed = true; if (this.ws) this.ws.close(); }
}

// el builds an element: el('div', {class: 'x'}, child...).
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'html') e.innerHTML = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// esc makes text safe to hand to Leaflet (tooltips, divIcon html), which
// puts a string into innerHTML: a zone or site name is text, never markup.
const escapes = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function esc(s) { return String(s).replace(/[&<>"']/g, c => escapes[c]); }

export function toast(msg, isErr = false, ms = isErr ? 6000 : 2500) {
  const t = document.getElementById('toast');
  t.textContent = msg; t.className = 'show' + (isErr ? ' err' : '');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.className = ''; }, ms);
}

export const fmt = {
  int: (v) => v === null || v === undefined ? '–' : Number(v).toLocaleString('en'),
  pct: (v) => v === null || v === undefined ? '–' : (100 * v).toFixed(1) + ' %',
  dur: (s) => {
    if (s === null || s === undefined) return '–';
    if (s < 60) return Math.round(s) + ' s';
    if (s < 3600) return Math.round(s / 60) + ' min';
    return (s / 3600).toFixed(1) + ' h';
  },
  // ago: how long ago, or past two hours the site's local date and time.
  ago: (ms, tz) => {
    if (!ms) return 'never';
    const s = (Date.now() - ms) / 1000;
    if (s < 5) return 'just now';
    if (s < 120) return Math.round(s) + ' s ago';
    if (s < 7200) return Math.round(s / 60) + ' min ago';
    return siteTime(ms, tz, { date: true, seconds: false });
  },
};

export const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

// siteTime formats an instant as the site's wall clock, 24-hour
// ("18:46:05", with date: "Sat 5 Dec 2026, 18:46"): a shop's hours are
// the shop's, wherever the browser is. When the browser is in another zone
// the zone's short name follows ("18:46:05 CET"), so that nobody takes it
// for their own time.
export function siteTime(ms, tz, { date = false, seconds = true } = {}) {
  tz = tz || 'UTC';
  const key = `${tz}|${date}|${seconds}`;
  let f = siteTime.cache[key];
  if (!f) {
    const o = { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
    if (seconds) o.second = '2-digit';
    if (date) Object.assign(o, { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' });
    if (tz !== browserZone) o.timeZoneName = 'short';
    f = siteTime.cache[key] = new Intl.DateTimeFormat('en-GB', o);
  }
  return f.format(new Date(ms));
}
siteTime.cache = {};

// axisTime is a uPlot time axis's labels on a 24-hour clock, day before
// month ("14:00", "Sat 5 Dec"), as the busiest-hours grid and siteTime;
// uPlot's default is the US "2pm", "12/5".
export const axisTime = [
  [3600 * 24 * 365, '{YYYY}', null, null, null, null, null, null, 1],
  [3600 * 24 * 28, '{MMM}', '\n{YYYY}', null, null, null, null, null, 1],
  [3600 * 24, '{WWW} {D} {MMM}', '\n{YYYY}', null, null, null, null, null, 1],
  [3600, '{HH}:{mm}', '\n{WWW} {D} {MMM}', null, '\n{WWW} {D} {MMM}', null, null, null, 1],
  [60, '{HH}:{mm}', '\n{D} {MMM}', null, '\n{D} {MMM}', null, null, null, 1],
  [1, '{HH}:{mm}:{ss}', '\n{D} {MMM}', null, '\n{D} {MMM}', null, null, null, 1],
];

// timeSpace is a time axis's least room between two ticks (uPlot's space,
// CSS px): on a narrow chart (a phone) the ticks fall on whole days, whose
// labels ("Thu 10 Dec") need about 70 px; uPlot's 50 ran them together.
export const timeSpace = (u, axis, min, max, dim) => dim < 600 ? 90 : 50;

// localParts gives a UTC ms instant's local date, hour and weekday (0 = Monday)
// in a time zone.
export function localParts(ms, tz) {
  const f = localParts.cache[tz] || (localParts.cache[tz] = new Intl.DateTimeFormat('en-GB', {
    timeZone: tz || 'UTC', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', weekday: 'short', hourCycle: 'h23' }));
  const p = {};
  for (const x of f.formatToParts(new Date(ms))) p[x.type] = x.value;
  const wd = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(p.weekday);
  return { date: `${p.year}-${p.month}-${p.day}`, hour: Number(p.hour), minute: Number(p.minute), weekday: wd };
}

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const clock = (s) => s === '24:00' ? 1440 : Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));

// openNow tells whether a site is open at ms by its opening hours (as the
// server's wire.OpenHours.IsOpen): {open, until} with until "HH:MM" the
// closing time when open; {open: true} when the site has no hours.
export function openNow(site, ms = Date.now()) {
  if (!site.open || !Object.keys(site.open).length) return { open: true };
  const p = localParts(ms, site.timezone);
  const min = p.hour * 60 + p.minute;
  for (const [k, [a, b]] of Object.entries(site.open)) {
    const days = new Array(7).fill(false);
    for (const part of k.toLowerCase().split(',')) {
      const [x, y] = part.trim().split('-');
      const i = DAYS.indexOf(x), j = y === undefined ? i : DAYS.indexOf(y);
      if (i < 0 || j < 0) continue;
      for (let d = i; ; d = (d + 1) % 7) { days[d] = true; if (d === j) break; }
    }
    if (days[p.weekday] && min >= clock(a) && min < clock(b)) return { open: true, until: b };
  }
  return { open: false };
}
localParts.cache = {};

// today returns the site's local date, YYYY-MM-DD.
export const today = (tz) => localParts(Date.now(), tz).date;
export function addDays(date, n) {
  const d = new Date(date + 'T12:00:00Z'); d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}
