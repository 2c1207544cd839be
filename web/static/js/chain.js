// chain.js: every site side by side: today's visitors, capture rate, people
// in store now, sensors online; CSV export.
import { api, el, fmt, today } from './api.js';

export async function mount(main, ctx) {
  const date = el('input', { type: 'date', id: 'chain-date', value: today(Intl.DateTimeFormat().resolvedOptions().timeZone) });
  const table = el('table', { id: 'chain-table' });
  const csv = el('a', { id: 'chain-csv', href: '#' }, 'Export CSV');
  const totals = el('div', { class: 'kpis', id: 'chain-kpis' });
  main.append(el('div', { class: 'card toolbar' }, el('label', {}, 'Day (each site\'s local date)', date),
    el('button', { class: 'primary', onclick: () => load() }, 'Show'), csv), totals, el('div', { class: 'card scroll' }, table));

  async function load() {
    const rows = await api('/api/chain?date=' + date.value);
    csv.href = '/api/chain.csv?date=' + date.value;
    const sum = (k) => rows.reduce((a, r) => a + (r[k] || 0), 0);
    const v = sum('visitors'), p = sum('passersby');
    totals.replaceChildren(
      ...[['Sites', rows.length], ['Visitors', fmt.int(v)], ['Passers-by', fmt.int(p)], ['Capture rate', fmt.pct(v + p ? v / (v + p) : null)],
        ['In stores now', fmt.int(sum('in_store'))], ['Sensors online', `${sum('sensors_online')} / ${sum('sensors')}`]]
        .map(([l, x]) => el('div', { class: 'kpi' }, el('div', { class: 'v' }, String(x)), el('div', { class: 'l' }, l))));
    const maxV = Math.max(1, ...rows.map(r => r.visitors));
    table.replaceChildren(
      el('tr', {}, ...['Site', 'Visitors', '', 'Passers-by', 'Capture rate', 'Median dwell', 'Conversion', 'In store now', 'Sensors online', '']
        .map((h, i) => el('th', { class: i && i !== 2 && i !== 9 ? 'num' : '' }, h))),
      ...rows.map(r => el('tr', { 'data-site': r.site },
        el('td', {}, el('a', { href: `#/live/${encodeURIComponent(r.site)}` }, r.name || r.site), r.name ? el('span', { class: 'muted' }, ' ' + r.site) : ''),
        el('td', { class: 'num' }, fmt.int(r.visitors)),
        el('td', { style: 'width:15%' }, el('div', { class: 'bar', style: `width:${100 * r.visitors / maxV}%` })),
        el('td', { class: 'num' }, fmt.int(r.passersby)), el('td', { class: 'num' }, fmt.pct(r.capture_rate)),
        el('td', { class: 'num' }, fmt.dur(r.dwell_median_s)), el('td', { class: 'num' }, r.conversion === undefined ? '–' : fmt.pct(r.conversion)),
        el('td', { class: 'num' }, fmt.int(r.in_store)),
        el('td', { class: 'num' }, el('span', { class: 'pill ' + (r.sensors_online === r.sensors ? 'on' : r.sensors_online ? 'warn' : 'off') }, `${r.sensors_online} / ${r.sensors}`)),
        el('td', {}, el('a', { href: `#/footfall/${encodeURIComponent(r.site)}` }, 'footfall'), r.error ? el('span', { class: 'pill off' }, r.error) : ''))));
    main.dataset.chain = 'ready';
  }
  await load();
  const timer = setInterval(() => load().catch(console.error), 30000);
  return () => clearInterval(timer);
}
