// paths.js: how people move between zones: a ranked list of transitions and
// the same flows drawn as arrows between zone centres on the floor map.
import { api, el, sitePath, today, addDays, fmt, esc } from './api.js';
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

const SVG = 'http://www.w3.org/2000/svg';
const svg = (tag, attrs = {}, ...kids) => {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
};
const PALETTE = ['#2f6fed', '#9b59b6', '#1f9d55', '#d98a00', '#d64545', '#17a2b8', '#6f42c1', '#8a94a6'];

// sankey draws the moves as a two-column Sankey diagram: zones people left
// on the left, zones they went to on the right, band widths by count.
export function sankey(paths, width = 640, name = (id) => id) {
  const H = Math.max(220, 28 * new Set(paths.flatMap(p => [p.from, p.to])).size + 40), pad = 6, nodeW = 12;
  const total = paths.reduce((a, p) => a + p.count, 0) || 1;
  const side = (key) => {
    const m = new Map();
    for (const p of paths) m.set(p[key], (m.get(p[key]) || 0) + p.count);
    return [...m.entries()].sort((a, b) => b[1] - a[1]);
  };
  const left = side('from'), right = side('to');
  const scale = (H - 20 - pad * Math.max(left.length, right.length)) / total;
  const place = (list) => { let y = 10; const pos = new Map(); for (const [id, v] of list) { pos.set(id, { y, h: v * scale, off: 0 }); y += v * scale + pad; } return pos; };
  const L = place(left), R = place(right);
  const colour = new Map([...new Set([...left.map(x => x[0]), ...right.map(x => x[0])])].map((id, i) => [id, PALETTE[i % PALETTE.length]]));
  const x0 = 130, x1 = width - 130;
  const g = svg('svg', { viewBox: `0 0 ${width} ${H}`, width: '100%', class: 'sankey', role: 'img', 'aria-label': 'Moves between zones' });
  for (const p of [...paths].sort((a, b) => b.count - a.count)) {
    const a = L.get(p.from), b = R.get(p.to), w = p.count * scale;
    const ya = a.y + a.off + w / 2, yb = b.y + b.off + w / 2;
    a.off += w; b.off += w;
    const mx = (x0 + nodeW + x1) / 2;
    const band = svg('path', { d: `M${x0 + nodeW},${ya} C${mx},${ya} ${mx},${yb} ${x1},${yb}`, fill: 'none', stroke: colour.get(p.from),
      'stroke-opacity': 0.35, 'stroke-width': Math.max(1, w), class: 'band' });
    band.append(svg('title', {}, `${name(p.from)} → ${name(p.to)}: ${p.count}`));
    g.append(band);
  }
  const label = (x, anchor, id, n) => svg('text', { x, y: n.y + n.h / 2 + 4, 'text-anchor': anchor, 'font-size': 12, fill: '#1d2330' }, name(id));
  for (const [id, n] of L) g.append(svg('rect', { x: x0, y: n.y, width: nodeW, height: Math.max(1, n.h), fill: colour.get(id), rx: 2 }), label(x0 - 6, 'end', id, n));
  for (const [id, n] of R) g.append(svg('rect', { x: x1, y: n.y, width: nodeW, height: Math.max(1, n.h), fill: colour.get(id), rx: 2 }), label(x1 + nodeW + 6, 'start', id, n));
  return g;
}

export async function mount(main, ctx) {
  const site = ctx.site;
  // Zones by their names where the editor gave them one, as on the live map.
  const name = (id) => site.zones.find(z => z.id === id)?.name || id;
  const t = today(site.timezone);
  const from = el('input', { type: 'date', id: 'pa-from', value: addDays(t, -6) });
  const to = el('input', { type: 'date', id: 'pa-to', value: t });
  const list = el('div', { id: 'pa-list' });
  const flow = el('div', { id: 'pa-sankey' });
  const mapEl = el('div', { class: 'map', id: 'pa-map' });
  main.append(el('div', { class: 'card toolbar' }, el('label', {}, 'From', from), el('label', {}, 'To (inclusive)', to),
    el('button', { class: 'primary', onclick: () => load() }, 'Show')),
  el('div', { class: 'grid2' }, el('div', { class: 'card mapcard' }, mapEl), el('div', { class: 'card scroll' }, el('h2', {}, 'Transitions'), list)),
  el('div', { class: 'card' }, el('h2', {}, 'Flows between zones'), flow));
  const m = siteMap(mapEl, site, { zoneLabels: true, sensors: false, shopFirst: true, label: 'Moves between zones as arrows; the same as the Transitions table' });
  const flows = L.layerGroup().addTo(m.map);

  async function load() {
    let r;
    try { r = await api(sitePath(site.site, `/report?from=${from.value}&to=${to.value}`)); } catch (e) {
      flows.clearLayers(); flow.replaceChildren();
      list.replaceChildren(el('p', { role: 'alert', id: 'pa-error' }, 'The moves could not be loaded: ' + e.message));
      main.dataset.paths = 'error';
      return;
    }
    const paths = [...(r.paths || [])].sort((a, b) => b.count - a.count);
    const max = Math.max(1, ...paths.map(p => p.count));
    list.replaceChildren(paths.length ? el('table', {},
      el('tr', {}, el('th', {}, 'From'), el('th', {}, 'To'), el('th', { class: 'num' }, 'Moves'), el('th', {})),
      ...paths.map(p => el('tr', { class: 'path' }, el('td', {}, name(p.from)), el('td', {}, '→ ' + name(p.to)), el('td', { class: 'num' }, fmt.int(p.count)),
        el('td', { style: 'width:56px' }, el('div', { class: 'bar', style: `width:${Math.max(2, 50 * p.count / max)}px` }))))) :
      el('p', { class: 'muted' }, 'No moves between zones in this range.'));
    const seq = r.extra?.sequences || [];
    if (seq.length) list.append(el('h2', { style: 'margin-top:1rem' }, 'Common sequences'),
      el('p', { class: 'hint' }, 'The areas a visit went to, in order, and how many visits did just that.'),
      el('table', { id: 'pa-sequences' }, ...seq.slice(0, 10).map(s => el('tr', {}, el('td', { style: 'white-space:normal' }, s.zones.map(name).join(' → ')),
        el('td', { class: 'num' }, fmt.int(s.count))))));
    flow.replaceChildren(paths.length ? sankey(paths, Math.max(480, Math.min(960, flow.clientWidth || 640)), name) : el('p', { class: 'muted' }, 'No moves.'));
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
      L.polyline(pts, { color: '#d64545', weight: w, opacity: 0.55, className: 'flow' }).bindTooltip(esc(`${name(p.from)} → ${name(p.to)}: ${p.count}`)).addTo(flows);
      L.circleMarker(pts[pts.length - 1], { radius: w / 2 + 2, color: '#d64545', fillOpacity: 0.9, weight: 0 }).addTo(flows);
    }
    main.dataset.paths = 'ready';
  }
  await load();
  return () => m.map.remove();
}
