// paths.js: how people move between zones: a ranked list of transitions and
// the same flows drawn as arrows between zone centres on the floor map.
import { api, el, sitePath, today, addDays, fmt, toast } from './api.js';
import { siteMap, ll } from './map.js';

function centroid(poly) {
  let a = 0, cx = 0, cy = 0;
  for (let i = 0; i < poly.length; i++) {
    const [x0, y0] = poly[i], [x1, y1] = poly[(i + 1) % poly.length];
    const c = x0 * y1 - x1 * y0; a += c; cx += (x0 + x1) * c; cy += (y0 + y1) * c;
  }
  if (Math.abs(a) < 1e-9) return poly[0];
  return [cx / (3 * a), cy / (3 * a)];
}

export async function mount(main, ctx) {
  const site = ctx.site;
  const t = today(site.timezone);
  const from = el('input', { type: 'date', id: 'pa-from', value: addDays(t, -6) });
  const to = el('input', { type: 'date', id: 'pa-to', value: t });
  const list = el('div', { id: 'pa-list' });
  const mapEl = el('div', { class: 'map', id: 'pa-map' });
  main.append(el('div', { class: 'card toolbar' }, el('label', {}, 'From', from), el('label', {}, 'To (inclusive)', to),
    el('button', { class: 'primary', onclick: () => load() }, 'Show')),
  el('div', { class: 'grid2' }, el('div', { class: 'card mapcard' }, mapEl), el('div', { class: 'card scroll' }, el('h2', {}, 'Transitions'), list)));
  const m = siteMap(mapEl, site, { zoneLabels: true, sensors: false });
  const flows = L.layerGroup().addTo(m.map);

  async function load() {
    let r;
    try { r = await api(sitePath(site.site, `/report?from=${from.value}&to=${to.value}`)); } catch (e) { toast(e.message, true); return; }
    const paths = [...(r.paths || [])].sort((a, b) => b.count - a.count);
    const max = Math.max(1, ...paths.map(p => p.count));
    list.replaceChildren(paths.length ? el('table', {},
      el('tr', {}, el('th', {}, 'From'), el('th', {}, 'To'), el('th', { class: 'num' }, 'Moves'), el('th', {})),
      ...paths.map(p => el('tr', { class: 'path' }, el('td', {}, p.from), el('td', {}, '→ ' + p.to), el('td', { class: 'num' }, fmt.int(p.count)),
        el('td', { style: 'width:90px' }, el('div', { class: 'bar', style: `width:${Math.max(2, 80 * p.count / max)}px` }))))) :
      el('p', { class: 'muted' }, 'No moves between zones in this range.'));
    const seq = r.extra?.sequences || [];
    if (seq.length) list.append(el('h2', { style: 'margin-top:1rem' }, 'Common sequences'),
      el('table', { id: 'pa-sequences' }, ...seq.slice(0, 10).map(s => el('tr', {}, el('td', { style: 'white-space:normal' }, s.zones.join(' → ')),
        el('td', { class: 'num' }, fmt.int(s.count))))));
    flows.clearLayers();
    const zs = Object.fromEntries(site.zones.map(z => [z.id, centroid(z.polygon)]));
    for (const p of paths.slice(0, 30)) {
      const a = zs[p.from], b = zs[p.to];
      if (!a || !b) continue;
      // Bend each arrow a little so that A→B and B→A do not overlap.
      const mx = (a[0] + b[0]) / 2 - (b[1] - a[1]) * 0.12, my = (a[1] + b[1]) / 2 + (b[0] - a[0]) * 0.12;
      const pts = [];
      for (let i = 0; i <= 16; i++) {
        const s = i / 16;
        pts.push(ll((1 - s) * (1 - s) * a[0] + 2 * (1 - s) * s * mx + s * s * b[0], (1 - s) * (1 - s) * a[1] + 2 * (1 - s) * s * my + s * s * b[1]));
      }
      const w = 2 + 12 * p.count / max;
      L.polyline(pts, { color: '#d64545', weight: w, opacity: 0.55, className: 'flow' }).bindTooltip(`${p.from} → ${p.to}: ${p.count}`).addTo(flows);
      L.circleMarker(pts[pts.length - 1], { radius: w / 2 + 2, color: '#d64545', fillOpacity: 0.9, weight: 0 }).addTo(flows);
    }
    main.dataset.paths = 'ready';
  }
  await load();
  return () => m.map.remove();
}
