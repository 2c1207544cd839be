// forecast.js: the week ahead, for staff planning: expected visitors per
// hour with their likely range (uPlot band and line), day by day, the
// busiest expected hours, and what the forecast stands on (GET
// /api/sites/{site}/forecast).
import { api, el, sitePath, fmt, siteTime, axisTime, timeSpace, localParts } from './api.js';

// mountForecast puts the card into main before the node before, loads the
// forecast, and returns the function that removes its chart.
export function mountForecast(main, site, before) {
  const tz = site.timezone || 'UTC';
  const card = el('section', { class: 'card', id: 'fc-card', 'aria-busy': 'true' },
    el('h2', {}, 'The week ahead (expected visitors)'),
    el('p', { class: 'muted', id: 'fc-loading' }, 'Working out the week ahead…'));
  main.insertBefore(card, before || null);
  let plot = null;
  const ro = new ResizeObserver(() => { if (plot) plot.setSize({ width: chartWidth(), height: plot.height }); });
  const chart = el('div', { class: 'chart', id: 'fc-chart' });
  const chartWidth = () => Math.max(300, card.clientWidth - 32);

  let stopped = false;
  load();
  return () => { stopped = true; ro.disconnect(); if (plot) plot.destroy(); delete window.passantForecast; delete main.dataset.forecast; };

  async function load() {
    let fc;
    try { fc = await api(sitePath(site.site, '/forecast')); } catch (e) {
      if (stopped) return;
      card.replaceChildren(el('h2', {}, 'The week ahead (expected visitors)'),
        el('p', { id: 'fc-error', role: 'alert' }, 'The forecast could not be loaded: ' + e.message));
      return finish('error', null);
    }
    if (stopped) return; // the page was left while the forecast came
    const b = fc.basis;
    const head = el('h2', {}, 'The week ahead (expected visitors)');
    if (!b.days) {
      card.replaceChildren(head, el('p', { id: 'fc-empty' },
        'Not enough history yet: the forecast starts once the shop has counted a full day, and gets better with every week.'));
      return finish('empty', fc);
    }
    const open = fc.hours.filter(h => h.open);
    // The shop's clock, once: "16:00", not "16:00 CET" in every cell.
    const hourLabel = (ms) => { const p = localParts(ms, tz); return `${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`; };
    const dayLabel = new Intl.DateTimeFormat('en-GB', { timeZone: tz, weekday: 'long', day: 'numeric', month: 'short' });
    const shortDay = new Intl.DateTimeFormat('en-GB', { timeZone: tz, weekday: 'short', day: 'numeric', month: 'short' });
    const span = (h) => `${hourLabel(h.start)}–${hourLabel(h.start + 3600e3)}`;
    const range = (e) => `${fmt.int(e.low)}–${fmt.int(e.high)}`;

    // Day by day: the opening hours, the expected visitors (the sum of the
    // hours) and each day's busiest hour.
    const days = [];
    for (const h of fc.hours) {
      const date = localParts(h.start, tz).date;
      let d = days[days.length - 1];
      if (!d || d.date !== date) days.push(d = { date, start: h.start, visitors: 0, open: [], peak: null });
      if (!h.open) continue;
      d.visitors += h.visitors.expected; d.open.push(h);
      if (!d.peak || h.visitors.expected > d.peak.visitors.expected) d.peak = h;
    }
    const dayTable = el('table', { id: 'fc-days' },
      el('tr', {}, ...['Day', 'Open', 'Expected visitors', 'Busiest hour'].map((t, i) => el('th', { class: i > 1 ? 'num' : '' }, t))),
      ...days.map(d => el('tr', { 'data-date': d.date }, el('td', {}, dayLabel.format(new Date(d.start))),
        d.open.length ? el('td', {}, `${hourLabel(d.open[0].start)}–${hourLabel(d.open[d.open.length - 1].start + 3600e3)}`) : el('td', { class: 'muted' }, 'closed'),
        el('td', { class: 'num' }, d.open.length ? fmt.int(Math.round(d.visitors)) : '–'),
        el('td', { class: 'num' }, d.peak ? `${span(d.peak)}, about ${fmt.int(Math.round(d.peak.visitors.expected))}` : '–'))));

    // The busiest expected hours of the week.
    const top = [...open].sort((a, b) => b.visitors.expected - a.visitors.expected || a.start - b.start).slice(0, 5);
    const busiest = el('ol', { id: 'fc-busiest' }, ...top.map(h => el('li', { 'data-start': String(h.start) },
      el('strong', {}, `${shortDay.format(new Date(h.start))}, ${span(h)}`), `: about ${fmt.int(Math.round(h.visitors.expected))} visitors `,
      el('span', { class: 'muted' }, `(likely ${range(h.visitors)})`))));

    card.replaceChildren(head,
      el('p', { class: 'hint' }, 'Visitors expected in each hour the shop is open, from its own counts of the same weekday and hour. ',
        'Line: expected. Band: the likely range; about 8 hours in 10 should fall inside it. Dashed line: now. ',
        `Times are the shop's (${tz}).`),
      chart,
      el('div', { class: 'cols' },
        el('div', {}, el('h3', {}, 'Busiest hours expected'), busiest),
        el('div', { class: 'scroll' }, el('h3', {}, 'Day by day'), dayTable)),
      basis(b));

    const xs = fc.hours.map(h => h.start / 1000);
    const val = (f) => fc.hours.map(h => h.open ? f(h.visitors) : null);
    const tzDate = (ts) => uPlot.tzDate(new Date(ts * 1e3), tz);
    const now = Date.now() / 1000;
    if (plot) plot.destroy();
    plot = new uPlot({
      width: chartWidth(), height: 240, tzDate,
      series: [{ value: (u, v) => v === null ? '–' : siteTime(v * 1000, tz, { date: true, seconds: false }) },
        { label: 'Likely low', stroke: 'rgba(47,111,237,.35)', width: 1, points: { show: false }, value: (u, v) => v === null ? '–' : fmt.int(v) },
        { label: 'Likely high', stroke: 'rgba(47,111,237,.35)', width: 1, points: { show: false }, value: (u, v) => v === null ? '–' : fmt.int(v) },
        { label: 'Expected visitors', stroke: '#2f6fed', width: 2, points: { show: false }, value: (u, v) => v === null ? '–' : v.toFixed(1) }],
      bands: [{ series: [2, 1], fill: 'rgba(47,111,237,.16)' }],
      axes: [{ values: axisTime, space: timeSpace }, { label: 'visitors per hour' }],
      // Now, as a line: hours left of it have begun.
      hooks: { draw: [(u) => {
        if (now < xs[0] || now > xs[xs.length - 1] + 3600) return;
        const x = u.valToPos(now, 'x', true), c = u.ctx;
        c.save(); c.strokeStyle = '#d98a00'; c.lineWidth = 2; c.setLineDash([5, 4]);
        c.beginPath(); c.moveTo(x, u.bbox.top); c.lineTo(x, u.bbox.top + u.bbox.height); c.stroke(); c.restore();
      }] },
    }, [xs, val(e => e.low), val(e => e.high), val(e => e.expected)], chart);
    (window.passantCharts ||= {}).forecast = plot; // for tests
    ro.observe(card);
    finish('ready', fc, { busiest: top.map(h => h.start), days: days.map(d => ({ date: d.date, visitors: Math.round(d.visitors) })) });
  }

  // basis says what the forecast stands on and how it did last week.
  function basis(b) {
    const days = `${b.days} open day${b.days === 1 ? '' : 's'}`;
    const parts = [el('p', { id: 'fc-basis-history' }, b.weeks >= 1 ? `Based on the last ${b.weeks} week${b.weeks === 1 ? '' : 's'} of counts (${days}).` : `Based on ${days} of counts.`,
      b.weeks < 2 ? ' With so little history every weekday looks much like the others; it sharpens as weeks come in.' : '')];
    if (b.left_out && b.left_out.length) {
      parts.push(el('p', { id: 'fc-left-out' }, `Left out as unusual (far fewer people than usual: sensors off, or the shop shut): ${b.left_out.join(', ')}.`));
    }
    const bt = b.backtest;
    if (bt) {
      const v = bt.visitors;
      const lw = v.last_week_mae_hour == null ? '' : `; simply repeating the week before would have been off by ${v.last_week_mae_hour.toFixed(1)}`;
      parts.push(el('p', { id: 'fc-backtest' }, `Checked on last week (forecast from the days before it, then compared with what was counted): off by ${v.mae_hour.toFixed(1)} visitors an hour on average `,
        `(${fmt.int(Math.round(v.mae_day))} a day) when ${v.mean_hour.toFixed(1)} came an hour${lw}. `,
        `${Math.round(100 * v.coverage)}% of its hours fell in the likely range.`));
    } else {
      parts.push(el('p', { id: 'fc-backtest' }, 'Its accuracy is checked once the shop has more than a week of counts: it then forecasts last week from the days before and compares with what was counted.'));
    }
    parts.push(el('p', { class: 'hint' }, 'It cannot know holidays, promotions, events or the weather: plan for those yourself.'));
    return el('div', { id: 'fc-basis', class: 'hint' }, ...parts);
  }

  function finish(state, fc, shown) {
    card.removeAttribute('aria-busy');
    main.dataset.forecast = state;
    window.passantForecast = { forecast: fc, shown: shown || null };
  }
}
