// chain.js: every site side by side: today's visitors, capture rate, people
// in store now, sensors online; CSV export.
import { api, el, fmt, today, browserZone } from './api.js';
import { delta } from './compare.js';

export async function mount(main, ctx) {
  // The day to show first: the shops' today when they share a time zone
  // (a head office abroad sees their day, not its own), else the browser's.
  const zones = new Set(ctx.sites.map(s => s.timezone || 'UTC'));
  const date = el('input', { type: 'date', id: 'chain-date', value: today(zones.size === 1 ? [...zones][0] : browserZone) });
  const table = el('table', { id: 'chain-table' });
  const csv = el('a', { id: 'chain-csv', href: '#' }, 'Export this table (CSV)');
  const all = el('span', { id: 'chain-reports' });
  const totals = el('div', { class: 'kpis', id: 'chain-kpis' });
  main.append(el('div', { class: 'card toolbar' }, el('label', {}, 'Day (each site\'s local date)', date),
    el('button', { class: 'primary', onclick: () => load() }, 'Show'), csv, all), totals, el('div', { class: 'card scroll' }, table));

  // Columns sort by a click on their header.
  let sortKey = 'visitors', sortDir = -1, rows = [];
  const cols = [['Site', 'site'], ['Visitors', 'visitors'], ['', null], ['vs a week before', 'visitors_change'], ['Passers-by', 'passersby'], ['as people (est.)', 'passersby_est'], ['Capture rate', 'capture_rate'],
    ['Median dwell', 'dwell_median_s'], ['Conversion', 'conversion'], ['In store now', 'in_store'], ['Sensors online', 'sensors_online'], ['', null]];
  // No visitors a week before (sensors not yet in, or the shop closed):
  // said in words, not as "– vs 0".
  const nobody = (id, date) => el('div', { class: 'delta none', id, 'data-dir': 'none',
    title: `No visitors ${date ? 'on ' + date : 'a week before'}: nothing to compare with` }, 'none a week before');
  function sorted() {
    return [...rows].sort((a, b) => {
      const x = a[sortKey] ?? -Infinity, y = b[sortKey] ?? -Infinity;
      return (x < y ? -1 : x > y ? 1 : 0) * sortDir || a.site.localeCompare(b.site);
    });
  }

  async function load() {
    rows = await api('/api/chain?date=' + date.value);
    // The change against the same weekday a week before (the server cuts
    // today's comparison at the same local time of day): sortable.
    for (const r of rows) r.visitors_change = r.visitors_prev ? (r.visitors - r.visitors_prev) / r.visitors_prev : null;
    render();
    main.dataset.chain = 'ready';
  }

  function sortBy(key) {
    sortDir = sortKey === key ? -sortDir : (key === 'site' ? 1 : -1); sortKey = key; render();
    table.querySelector(`th[data-sort="${key}"]`).focus();
  }

  function render() {
    csv.href = '/api/chain.csv?date=' + date.value;
    all.replaceChildren('Every site\'s report of the day: ', ...['hours', 'zones', 'paths'].flatMap((p, i) => [i ? ' · ' : '',
      el('a', { href: `/api/reports.csv?from=${date.value}&to=${date.value}&part=${p}` }, p)]));
    const sum = (k) => rows.reduce((a, r) => a + (r[k] || 0), 0);
    const v = sum('visitors'), p = sum('passersby');
    // The chain's visitors against the same sites' a week before (the
    // sites with a comparison only: not those with nobody counted then,
    // "none a week before" in their rows, whose visitors would count on
    // today's side alone).
    const withPrev = rows.filter(r => r.visitors_prev != null), compared = withPrev.filter(r => r.visitors_prev > 0);
    const vp = compared.reduce((a, r) => a + r.visitors_prev, 0), vc = compared.reduce((a, r) => a + r.visitors, 0);
    const kpiTiles = [['Sites', rows.length], ['Visitors', fmt.int(v), !withPrev.length ? '' : vp === 0 ? nobody('chain-visitors-change') : delta(vc, vp, 'count', fmt.int(vp), 'a week before', 'chain-visitors-change')], ['Passers-by', fmt.int(p)], ['Capture rate', fmt.pct(v + p ? v / (v + p) : null)],
        ['In stores now', fmt.int(sum('in_store'))], ['Sensors online', `${sum('sensors_online')} / ${sum('sensors')}`]];
    totals.replaceChildren(...kpiTiles.map(([l, x, d]) => el('div', { class: 'kpi' }, el('div', { class: 'v' }, String(x)), el('div', { class: 'l' }, l), d || '')));
    const maxV = Math.max(1, ...rows.map(r => r.visitors));
    table.replaceChildren(
      el('tr', {}, ...cols.map(([h, key], i) => el('th', {
        class: (i && i !== 2 && i !== cols.length - 1 ? 'num' : '') + (key ? ' sortable' : ''), 'data-sort': key || undefined,
        // Sortable by keyboard too: Tab to a header, Enter or Space.
        tabindex: key ? 0 : undefined, 'aria-sort': key === sortKey ? (sortDir > 0 ? 'ascending' : 'descending') : undefined,
        onclick: key ? () => sortBy(key) : undefined,
        onkeydown: key ? (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sortBy(key); } } : undefined,
      }, h, key === sortKey ? (sortDir > 0 ? ' ▲' : ' ▼') : ''))),
      ...sorted().map(r => el('tr', { 'data-site': r.site },
        el('td', {}, el('a', { href: `#/live/${encodeURIComponent(r.site)}` }, r.name || r.site), r.name ? el('span', { class: 'muted' }, ' ' + r.site) : ''),
        el('td', { class: 'num' }, fmt.int(r.visitors)),
        el('td', { style: 'width:15%' }, el('div', { class: 'bar', style: `width:${100 * r.visitors / maxV}%` })),
        el('td', { class: 'num vs-prev' }, r.visitors_prev == null ? '–' : r.visitors_prev === 0 ? nobody(undefined, r.prev_date) :
          delta(r.visitors, r.visitors_prev, 'count', fmt.int(r.visitors_prev), `on ${r.prev_date}`)),
        el('td', { class: 'num' }, fmt.int(r.passersby)), el('td', { class: 'num' }, fmt.int(Math.round(r.passersby_est ?? r.passersby))),
        el('td', { class: 'num' }, fmt.pct(r.capture_rate)),
        el('td', { class: 'num' }, fmt.dur(r.dwell_median_s)), el('td', { class: 'num' }, r.conversion === undefined ? '–' : fmt.pct(r.conversion)),
        el('td', { class: 'num' }, fmt.int(r.in_store)),
        el('td', { class: 'num' }, el('span', { class: 'pill ' + (r.sensors_online === r.sensors ? 'on' : r.sensors_online ? 'warn' : 'off') }, `${r.sensors_online} / ${r.sensors}`)),
        el('td', {}, el('a', { href: `#/footfall/${encodeURIComponent(r.site)}` }, 'footfall'), r.error ? el('span', { class: 'pill off' }, r.error) : ''))));
  }
  await load();
  const timer = setInterval(() => load().catch(console.error), 30000);
  return () => clearInterval(timer);
}
