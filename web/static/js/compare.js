// compare.js: figures against an earlier period ("▲ +8 % vs 289"), as the
// footfall page's tiles and charts and the chain view show them. The
// server computes the comparison period (?compare= on /report, and the
// chain's visitors_prev): the same local time of day on the shifted days,
// and for today only as much of the other day as has passed of today.
import { el, fmt, siteTime } from './api.js';

// The choices, the default first: the same days a week earlier, which have
// the same weekdays (a Saturday against a Saturday).
export const MODES = [
  ['week', 'Same days last week', 'last week'],
  ['prev', 'Previous period', 'the previous period'],
  ['year', 'Same weekdays last year (52 weeks)', 'last year'],
  ['none', 'Nothing', ''],
];
export const modeLabel = (m) => (MODES.find(x => x[0] === m) || MODES[0])[2];

const KEY = 'passant.compare';
export function savedMode() {
  try { const m = localStorage.getItem(KEY); if (MODES.some(x => x[0] === m)) return m; } catch (_) {}
  return 'week';
}
export function saveMode(m) { try { localStorage.setItem(KEY, m); } catch (_) {} }

// change describes cur against base: kind 'count' (and durations) as a
// relative change in percent, 'rate' (a share, 0..1) as a difference in
// percentage points. It returns {dir: 'up'|'down'|'flat'|'none', text}
// where text has no arrow ("+8 %", "−1.2 pts", "–" when there is no base
// or the base is 0).
export function change(cur, base, kind = 'count') {
  if (cur === null || cur === undefined || base === null || base === undefined) return { dir: 'none', text: '–' };
  let d, text;
  if (kind === 'rate') {
    d = 100 * (cur - base);
    text = `${sign(d)}${Math.abs(d).toFixed(1)} pts`;
    if (Math.abs(d) < 0.05) return { dir: 'flat', text: '±0.0 pts' };
  } else {
    if (!base) return { dir: 'none', text: '–' };
    d = 100 * (cur - base) / base;
    const digits = Math.abs(d) < 10 ? 1 : 0;
    if (Number(Math.abs(d).toFixed(digits)) === 0) return { dir: 'flat', text: '±0 %' };
    text = `${sign(d)}${Math.abs(d).toFixed(digits)} %`;
  }
  return { dir: d > 0 ? 'up' : 'down', text };
}
const sign = (d) => d > 0 ? '+' : d < 0 ? '−' : '±';
const ARROW = { up: '▲', down: '▼', flat: '●', none: '' };
const WORD = { up: 'up', down: 'down', flat: 'unchanged', none: 'no comparison' };

// delta is the line under a figure: an arrow (hidden from screen readers,
// which read the signed text instead), the change, and what it is against
// ("vs 289"); the title says it in words.
export function delta(cur, base, kind, baseText, against, id) {
  const c = change(cur, base, kind);
  const title = c.dir === 'none' ? `No comparison: ${against} has ${baseText === undefined ? 'no figure' : baseText}` :
    `${WORD[c.dir]} ${c.text.replace(/^[+−±]/, '')} on ${baseText} ${against}`;
  return el('div', { class: 'delta ' + c.dir, id, title, 'data-dir': c.dir },
    c.dir === 'none' ? '' : el('span', { 'aria-hidden': 'true' }, ARROW[c.dir] + ' '), c.text,
    baseText === undefined ? '' : el('span', { class: 'muted' }, ` vs ${baseText}`));
}

// span describes the comparison period: "Mon 23 Nov – Sun 29 Nov 2026, up
// to 10:37 on the last day" (the cut-off of today so far).
export function span(c, tz) {
  const day = (ms) => siteTime(ms, tz, { date: true, seconds: false }).replace(/,? \d\d:\d\d.*$/, '');
  const a = day(c.from), b = day(Math.max(c.from, c.to - 1));
  let s = a === b ? a : `${a} – ${b}`;
  if (c.cut && c.to > c.from) s += `, up to ${siteTime(c.to, tz, { seconds: false })} on the last day (as far as today has gone)`;
  return s;
}

// pctOf is v as a share of n (null when n is 0).
export const pctOf = (v, n) => n ? v / n : null;
export { fmt };
