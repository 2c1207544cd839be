// footfall.js: the shop's numbers: passers-by, visitors and capture rate per
// hour (uPlot), dwell, new vs returning, busiest hours, till conversion.
import { api, el, sitePath, today, addDays, fmt, localParts, toast, siteTime, axisTime, timeSpace } from './api.js';
import { MODES, modeLabel, savedMode, saveMode, delta, span } from './compare.js';
import { mountForecast } from './forecast.js';

export async function mount(main, ctx) {
  const site = ctx.site;
  const tz = site.timezone || 'UTC';
  const t = today(tz);
  const from = el('input', { type: 'date', id: 'ff-from', value: addDays(t, -6) });
  const to = el('input', { type: 'date', id: 'ff-to', value: t });
  const body = el('div', { id: 'ff-body', style: 'display:flex;flex-direction:column;gap:1rem' });
  const csv = el('span', {});
  // Compare with: the same days a week earlier unless the user chose
  // otherwise (kept in the browser).
  const cmp = el('select', { id: 'ff-compare', onchange: () => { saveMode(cmp.value); load(); } },
    ...MODES.map(([v, l]) => el('option', { value: v }, l)));
  cmp.value = savedMode();
  main.append(el('div', { class: 'card toolbar' },
    el('label', {}, 'From', from), el('label', {}, 'To (inclusive)', to),
    el('button', { class: 'primary', id: 'ff-show', onclick: () => load() }, 'Show'),
    ...[-0, -6, -27].map(d => el('button', { onclick: () => { from.value = addDays(t, d); to.value = t; load(); } },
      d === 0 ? 'Today' : `Last ${1 - d} days`)), el('label', {}, 'Compare with', cmp), csv, ctx.me && ctx.me.role === 'admin' ? adminTools() : ''), body);
  const stopForecast = mountForecast(main, site, main.firstChild); // the week ahead, first

  // Admin: import till receipts, re-process the range shown.
  function adminTools() {
    const pos = el('input', { type: 'file', id: 'ff-pos-file', accept: '.csv,.json,text/csv,application/json' });
    pos.addEventListener('change', async () => {
      const f = pos.files[0];
      if (!f) return;
      const json = f.name.endsWith('.json') || f.type.includes('json');
      try {
        const r = await api(sitePath(site.site, '/pos'), { method: 'POST', headers: { 'Content-Type': json ? 'application/json' : 'text/csv' }, body: f });
        toast(`${r.receipts} receipts read, ${r.stored} new`);
        main.dataset.pos = String(r.receipts);
        load();
      } catch (e) { toast(e.message, true); }
      pos.value = '';
    });
    const again = el('button', { id: 'ff-reprocess', onclick: async () => {
      again.disabled = true; again.textContent = 'Re-processing…';
      try {
        const r = await api(sitePath(site.site, '/reprocess'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ from: from.value, to: to.value }) });
        let msg = `Re-processed in ${(r.took_ms / 1000).toFixed(1)} s`, ms;
        // Days older than the passers-by retention: only the visitors'
        // observations were left; their figures follow the new plan, the
        // passers-by's are kept as they were.
        if (r.thinned_days && r.thinned_days.length) {
          msg += `. Before ${new Date(r.thinned_before).toLocaleString()} only the visitors' observations remain (retention): ` +
            r.thinned_days.map(d => d.rebuilt ? `${d.date} visitors rebuilt, ${d.kept} passers-by and others kept` : `${d.date} kept as it was (no observations left)`).join('; ');
          ms = 12000;
        }
        toast(msg, false, ms);
        load();
      } catch (e) { toast(e.message, true); }
      again.disabled = false; again.textContent = 'Re-process range';
    } }, 'Re-process range');
    return el('details', { class: 'admin' }, el('summary', {}, 'Admin'),
      el('div', { class: 'toolbar' }, el('label', {}, 'Import till receipts (CSV or JSON)', pos), again));
  }

  const plots = [];
  const ro = new ResizeObserver(() => { for (const p of plots) p.setSize({ width: p.root.parentElement.clientWidth, height: p.height }); });

  // done ends a load: the body is no longer dimmed as stale.
  const done = (state) => { body.removeAttribute('aria-busy'); body.style.opacity = ''; main.dataset.footfall = state; };

  async function load() {
    // While the report comes: "Loading…" the first time, then the old
    // numbers dimmed, so that nobody reads them as the new range's.
    main.dataset.footfall = 'loading';
    body.setAttribute('aria-busy', 'true');
    if (!body.firstChild) body.append(el('p', { class: 'muted', id: 'ff-loading' }, 'Loading the numbers…'));
    else body.style.opacity = '.45';
    let r;
    const mode = cmp.value;
    try { r = await api(sitePath(site.site, `/report?from=${from.value}&to=${to.value}${mode === 'none' ? '' : '&compare=' + mode}`)); } catch (e) {
      for (const p of plots.splice(0)) p.destroy();
      body.replaceChildren(el('div', { class: 'card', id: 'ff-error', role: 'alert' }, el('h2', {}, 'The numbers could not be loaded'),
        el('p', {}, e.message), el('button', { onclick: () => load() }, 'Try again')));
      done('error');
      return;
    }
    for (const p of plots.splice(0)) p.destroy();
    body.replaceChildren();
    // Hours (and days) that have not begun are not zeros: the charts leave
    // them empty rather than drop to 0 at the current hour.
    const now = Date.now();
    const begun = (h, v) => h.start <= now ? v : null;
    const q = `from=${from.value}&to=${to.value}`;
    csv.replaceChildren('CSV: ', ...['hours', 'days', 'zones', 'paths'].flatMap((p, i) => [i ? ' · ' : '',
      el('a', { href: sitePath(site.site, `/report.csv?${q}&part=${p}`) }, p)]));
    const T = r.totals;
    // Each tile's meaning is its tooltip, and in a glossary below the tiles
    // for a phone or a keyboard, where nothing hovers.
    const glossary = [];
    // The site's own threshold (the contract's default is 60 s).
    const minDwell = fmt.dur(site.footfall?.visitor_min_dwell_s || 60);
    // Each tile's change against the comparison period (r.compare).
    const C = r.compare && r.compare.totals, against = modeLabel(mode);
    const deltas = {
      passersby: [T.passersby, C?.passersby, 'count', fmt.int],
      'passersby-est': [Math.round(T.passersby_est ?? T.passersby), C && Math.round(C.passersby_est ?? C.passersby), 'count', fmt.int],
      visitors: [T.visitors, C?.visitors, 'count', fmt.int],
      capture: [T.capture_rate, C?.capture_rate, 'rate', fmt.pct],
      dwell: [T.dwell_median_s, C?.dwell_median_s, 'count', fmt.dur],
      'dwell-est': [T.dwell_median_est_s ?? T.dwell_median_s, C && (C.dwell_median_est_s ?? C.dwell_median_s), 'count', fmt.dur],
      returning: [T.returning, C?.returning, 'count', fmt.int],
      'returning-est': [T.returning_est == null ? null : Math.round(T.returning_est), C?.returning_est == null ? null : Math.round(C.returning_est), 'count', fmt.int],
      conversion: [T.conversion, C?.conversion, 'rate', fmt.pct],
    };
    // Days of the comparison with nobody at all where the range has people
    // (sensors not yet installed, or off): said, as the change is then
    // no change in the shop.
    const unrecorded = () => {
      const n = (r.days || []).filter((d, i) => (d.passersby || d.visitors) && !(r.compare.days[i]?.passersby || r.compare.days[i]?.visitors)).length;
      return n ? el('strong', { id: 'ff-compare-gaps' }, ` Nobody was counted on ${n} of its ${r.days.length} days (sensors off or not installed yet?): the changes are not the shop's.`) : '';
    };
    // A comparison period in which nobody at all was counted (before the
    // sensors were installed) is said in words, not as "– vs 0".
    const nothing = C && !(C.passersby || C.visitors);
    const kpi = (id, label, v, hint) => {
      if (hint) glossary.push(el('dt', {}, label.replace(/:.*/, '')), el('dd', {}, hint));
      // (Nothing under a tile with no figure either way.)
      const d = C && deltas[id] && (deltas[id][0] != null || deltas[id][1] != null) && deltas[id];
      const under = !d ? '' : nothing ? el('div', { class: 'delta none', 'data-dir': 'none', title: `Nobody was counted ${against}: nothing to compare with` }, `nothing counted ${against}`) :
        delta(d[0], d[1], d[2], d[1] === null || d[1] === undefined ? undefined : d[3](d[1]), against);
      return el('div', { class: 'kpi', id: 'kpi-' + id, title: hint || '' }, el('div', { class: 'v' }, v), el('div', { class: 'l' }, label), under);
    };
    body.append(el('div', { class: 'kpis' },
      kpi('passersby', 'Passers-by', fmt.int(T.passersby), `Phones seen near the shop that did not come in for ${minDwell} (and are not staff), counted per track.`),
      kpi('passersby-est', 'Passers-by as people (est.)', fmt.int(Math.round(T.passersby_est ?? T.passersby)),
        'The same, each person once: a phone that changes its address every scan leaves several tracks on the street; this estimates how many were one phone.'),
      kpi('visitors', 'Visitors', fmt.int(T.visitors), `Phones that spent at least ${minDwell} inside in one go.`),
      kpi('capture', 'Capture rate', fmt.pct(T.capture_rate), 'Visitors / (visitors + passers-by).'),
      kpi('dwell', 'Median dwell', fmt.dur(T.dwell_median_s), 'Half of the visitors stayed longer, from their first to their last probe inside.'),
      kpi('dwell-est', 'Median dwell, door to door (est.)', fmt.dur(T.dwell_median_est_s ?? T.dwell_median_s),
        'The same with the time before the first probe and after the last (about one probe interval per visit).'),
      kpi('returning', 'Returning visitors', [fmt.int(T.returning), ' ', el('small', {}, `(${fmt.pct(T.visitors ? T.returning / T.visitors : null)})`)],
        'Visitors seen as visitors on an earlier day: only phones that keep their address can be recognised.'),
      kpi('returning-est', 'Returning, all phones (est.)', T.returning_est == null ? '–' : [fmt.int(Math.round(T.returning_est)), ' ', el('small', {}, `(${fmt.pct(T.visitors ? T.returning_est / T.visitors : null)})`)],
        'The returning share of the phones that keep their address, applied to all visitors.'),
      T.conversion === undefined ?
        kpi('conversion', 'Till conversion: no till receipts for these days', '–', 'Visitors who bought: an admin imports the till\'s receipts (CSV or JSON) under Admin.') :
        kpi('conversion', 'Till conversion', fmt.pct(T.conversion), 'Receipts / visitors.')),
      C ? el('p', { class: 'hint', id: 'ff-compare-span' }, `Changes against ${against}: ${span(r.compare, tz)}.`, unrecorded()) : '',
      el('details', { class: 'glossary', id: 'ff-glossary' }, el('summary', {}, 'What these numbers mean'), el('dl', {}, ...glossary)));

    const hours = r.hours || [];
    // Nothing at all: say so, and where to look, instead of flat charts.
    if (!T.passersby && !T.visitors && !hours.some(h => h.passersby || h.visitors)) {
      body.append(el('div', { class: 'card', id: 'ff-empty' }, el('h2', {}, 'Nobody counted from ' + from.value + ' to ' + to.value),
        el('p', {}, 'No phone was heard near the shop in these days. If the sensors are new or were off, check ',
          el('a', { href: `#/sensors/${encodeURIComponent(site.site)}` }, 'Sensors'), '; the numbers appear as soon as they hear phones.')));
      window.passantFootfall = { report: r, plotted: [] };
      done('ready');
      return;
    }

    const xs = hours.map(h => h.start / 1000);
    const hourChart = el('div', { class: 'chart', id: 'ff-hours' });
    const rateChart = el('div', { class: 'chart', id: 'ff-rates' });
    body.append(el('div', { class: 'card' }, el('h2', {}, 'Passers-by and visitors per hour'), hourChart,
      site.open ? el('p', { class: 'hint' }, 'Shaded: closed hours.') : ''),
      el('div', { class: 'card' }, el('h2', {}, 'Capture rate and till conversion per hour'), rateChart));
    const w = () => body.clientWidth - 40;
    // Closed hours (from the site's opening hours) are shaded.
    const closed = { hooks: { drawClear: [(u) => {
      const c = u.ctx, top = u.bbox.top, h = u.bbox.height;
      c.save(); c.fillStyle = 'rgba(20,30,50,0.06)';
      for (const hr of hours) {
        if (hr.open !== false || !site.open) continue;
        const x0 = u.valToPos(hr.start / 1000, 'x', true), x1 = u.valToPos(hr.start / 1000 + 3600, 'x', true);
        c.fillRect(x0, top, x1 - x0, h);
      }
      c.restore();
    }] } };
    const bars = uPlot.paths.bars({ size: [0.8, 40] });
    // The comparison period's visitors: a line over the bars, each point
    // at the hour (day) it is the counterpart of.
    const prevSeries = () => ({ label: `Visitors, ${against}`, stroke: '#e8590c', width: 2, dash: [6, 3], spanGaps: false,
      points: { show: true, size: 4, fill: '#e8590c' }, value: (u, v) => v === null ? '–' : fmt.int(v) });
    const tzDate = (ts) => uPlot.tzDate(new Date(ts * 1e3), tz);
    const dayFmt = new Intl.DateTimeFormat('en-GB', { timeZone: tz, weekday: 'short', day: 'numeric', month: 'short' });
    const dayName = (ts) => dayFmt.format(new Date(ts * 1000));
    const hourName = (u, v) => v === null ? '–' : siteTime(v * 1000, tz, { date: true, seconds: false });
    plots.push(new uPlot({
      width: w(), height: 260, tzDate, ...closed,
      series: [{ value: hourName }, { label: 'Passers-by', stroke: '#8a94a6', fill: 'rgba(138,148,166,.35)', paths: bars, points: { show: false } },
        { label: 'Visitors', stroke: '#2f6fed', fill: 'rgba(47,111,237,.55)', paths: bars, points: { show: false } },
        { label: 'Passers-by as people (est.)', stroke: '#3d4452', width: 1.5, dash: [4, 3], points: { show: false } },
        ...(C ? [prevSeries()] : [])],
      axes: [{ values: axisTime, space: timeSpace }, { label: 'people' }],
    }, [xs, hours.map(h => begun(h, h.passersby)), hours.map(h => begun(h, h.visitors)), hours.map(h => begun(h, h.passersby_est ?? h.passersby)),
      ...(C ? [r.compare.hours.map(h => h ? h.visitors : null)] : [])], hourChart));
    plots.push(new uPlot({
      width: w(), height: 220, tzDate, ...closed,
      scales: { pct: { range: [0, 1] } },
      series: [{ value: hourName }, { label: 'Capture rate', scale: 'pct', stroke: '#1f9d55', width: 2, points: { show: true, size: 5, fill: '#1f9d55' }, value: (u, v) => fmt.pct(v) },
        { label: 'Conversion', scale: 'pct', stroke: '#d98a00', width: 2, points: { show: true, size: 5, fill: '#d98a00' }, value: (u, v) => fmt.pct(v) }],
      axes: [{ values: axisTime, space: timeSpace }, { scale: 'pct', values: (u, vs) => vs.map(v => Math.round(v * 100) + '%') }],
    }, [xs, hours.map(h => h.capture_rate), hours.map(h => h.conversion ?? null)], rateChart));

    // Day by day, for ranges longer than a few days.
    if (r.days && r.days.length > 3) {
      const dayChart = el('div', { class: 'chart', id: 'ff-daily' });
      body.append(el('div', { class: 'card' }, el('h2', {}, 'Visitors and capture rate per day'), dayChart));
      // Each day's bar stands at its noon, inside its day (the first and
      // last bars were cut in half at the plot's edges when drawn at
      // midnight); the axis spans whole days.
      const dx = r.days.map(d => d.start / 1000 + 43200);
      plots.push(new uPlot({
        width: w(), height: 220, tzDate,
        scales: { x: { time: true, range: (u, lo, hi) => [lo - 43200, hi + 43200] }, pct: { range: [0, 1] } },
        series: [{ value: (u, v) => v === null ? '–' : dayName(v) },
          { label: 'Visitors', stroke: '#2f6fed', fill: 'rgba(47,111,237,.55)', paths: uPlot.paths.bars({ size: [0.7, 60] }), points: { show: false } },
          { label: 'Capture rate', scale: 'pct', stroke: '#1f9d55', width: 2, points: { show: true, size: 5, fill: '#1f9d55' }, value: (u, v) => fmt.pct(v) },
          ...(C ? [prevSeries()] : [])],
        // Days, under their bars (not hours at midnight), thinned to fit.
        axes: [{ splits: (u) => { const every = Math.max(1, Math.ceil(dx.length * 90 / (u.bbox.width / devicePixelRatio))); return dx.filter((_, i) => i % every === 0); },
          values: (u, vs) => vs.map(dayName) }, { label: 'visitors' }, { scale: 'pct', side: 1, grid: { show: false }, values: (u, vs) => vs.map(v => Math.round(v * 100) + '%') }],
      }, [dx, r.days.map(d => begun(d, d.visitors)), r.days.map(d => d.capture_rate), ...(C ? [r.compare.days.map(d => d ? d.visitors : null)] : [])], dayChart));
    }

    // Dwell and loyalty.
    const b = T.dwell_buckets || {};
    const buckets = [['< 5 min', b.lt5m], ['5–20 min', b['5to20m']], ['20–60 min', b['20to60m']], ['1–6 h', b['1to6h']], ['> 6 h', b.gt6h]];
    const bmax = Math.max(1, ...buckets.map(x => x[1] || 0));
    const barRow = (label, v, max, colour) => el('tr', {}, el('td', {}, label), el('td', { class: 'num' }, fmt.int(v)),
      el('td', { style: 'width:60%' }, el('div', { class: 'bar', style: `width:${100 * (v || 0) / max}%;${colour ? 'background:' + colour : ''}` })));
    const nr = Math.max(1, T.new + T.returning);
    body.append(el('div', { class: 'cols' },
      el('div', { class: 'card', id: 'ff-dwell' }, el('h2', {}, 'Dwell of visits'), el('table', {}, ...buckets.map(([l, v]) => barRow(l, v, bmax)))),
      el('div', { class: 'card', id: 'ff-loyalty' }, el('h2', {}, 'New and returning visitors'),
        el('table', {}, barRow('New', T.new, nr, '#2f6fed'), barRow('Returning', T.returning, nr, '#9b59b6'),
          barRow('Bounces', T.bounces, Math.max(1, T.visits || T.bounces), '#8a94a6')))));

    // Busiest hours: mean visitors per weekday x local hour.
    const sum = Array.from({ length: 7 }, () => new Array(24).fill(0));
    const cnt = Array.from({ length: 7 }, () => new Array(24).fill(0));
    for (const h of hours) {
      if (h.start > now) continue; // not a quiet hour: one to come
      const p = localParts(h.start, tz);
      sum[p.weekday][p.hour] += h.visitors; cnt[p.weekday][p.hour]++;
    }
    let gmax = 0;
    const mean = sum.map((row, d) => row.map((v, hh) => { const m = cnt[d][hh] ? v / cnt[d][hh] : null; if (m > gmax) gmax = m; return m; }));
    const days = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
    const grid = el('table', { class: 'wxh', id: 'ff-week' },
      el('tr', {}, el('th', {}), ...Array.from({ length: 24 }, (_, hh) => el('th', {}, hh % 3 === 0 ? String(hh) : ''))),
      ...mean.map((row, d) => el('tr', {}, el('th', {}, days[d]), ...row.map((v, hh) => el('td', {
        title: v === null ? 'no data' : `${days[d]} ${hh}:00 · ${v.toFixed(1)} visitors on average`,
        style: v === null ? 'background:#f0f1f4' : `background:rgba(47,111,237,${0.08 + 0.92 * (gmax ? v / gmax : 0)})`,
      })))));
    body.append(el('div', { class: 'card scroll' }, el('h2', {}, 'Busiest hours (mean visitors, local time)'), grid));

    if (r.days && r.days.length) {
      body.append(el('div', { class: 'card scroll' }, el('h2', {}, 'Days'), el('table', { id: 'ff-days' },
        el('tr', {}, ...['Date', 'Passers-by', 'Visitors', 'Capture', 'Median dwell', 'New', 'Returning', 'Receipts', 'Conversion'].map((h, i) => el('th', { class: i ? 'num' : '' }, h))),
        ...r.days.map(d => el('tr', {}, el('td', {}, d.date), ...[fmt.int(d.passersby), fmt.int(d.visitors), fmt.pct(d.capture_rate), fmt.dur(d.dwell_median_s),
          fmt.int(d.new), fmt.int(d.returning), fmt.int(d.transactions), fmt.pct(d.conversion)].map(v => el('td', { class: 'num' }, v)))))));
    }
    window.passantFootfall = { report: r, plotted: plots.map(p => p.data.map(s => [...s])), compare: r.compare || null };
    Object.assign(window.passantCharts ||= {}, { hours: plots[0], rates: plots[1] }); // for tests
    done('ready');
  }
  ro.observe(main);
  await load();
  return () => { stopForecast(); ro.disconnect(); for (const p of plots) p.destroy(); delete window.passantFootfall; };
}
