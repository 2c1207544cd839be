// heatmap.js: where people spend time, over any dates, hours and zone: the
// occupancy-time grid drawn over the floor plan with a perceptual colour map.
import { api, el, sitePath, today, addDays, fmt } from './api.js';
import { siteMap, rectBounds } from './map.js';

// Viridis, sampled at 9 stops.
const VIRIDIS = [[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141], [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]];
export function colour(v) {
  const x = Math.max(0, Math.min(1, v)) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(x), VIRIDIS.length - 2), f = x - i;
  return VIRIDIS[i].map((c, k) => Math.round(c + (VIRIDIS[i + 1][k] - c) * f));
}

export async function mount(main, ctx) {
  const site = ctx.site;
  const t = today(site.timezone);
  const from = el('input', { type: 'date', id: 'hm-from', value: addDays(t, -6) });
  const to = el('input', { type: 'date', id: 'hm-to', value: t });
  const h0 = el('input', { type: 'number', id: 'hm-h0', min: 0, max: 23, value: 0, style: 'width:4.5em' });
  const h1 = el('input', { type: 'number', id: 'hm-h1', min: 1, max: 24, value: 24, style: 'width:4.5em' });
  const zone = el('select', { id: 'hm-zone' }, el('option', { value: '' }, 'whole site'),
    ...site.zones.map(z => el('option', { value: z.id }, z.name || z.id)));
  const cell = el('select', { id: 'hm-cell' }, ...[0.25, 0.5, 1, 2].map(c => el('option', { value: c, selected: c === 0.5 }, c + ' m')));
  const opacity = el('input', { type: 'range', id: 'hm-opacity', min: 0, max: 1, step: 0.05, value: 0.7 });
  // People, not staff: the staff's time (phones at the till all day, a
  // printer) is left out unless asked for.
  const staff = el('input', { type: 'checkbox', id: 'hm-staff', title: "include the time of tracks the day's footfall makes staff" });
  const download = el('a', { class: 'button', id: 'hm-download', href: '#', download: `${site.site}-heatmap.png` }, el('button', { type: 'button' }, 'Download PNG'));
  const info = el('span', { class: 'muted', id: 'hm-info' });
  const ramp = el('canvas', { class: 'ramp', width: 180, height: 10 });
  const maxLabel = el('span', { id: 'hm-max' }, '–');
  const legend = el('div', { class: 'legend' }, '0', ramp, maxLabel);
  const mapEl = el('div', { class: 'map', id: 'hm-map' });
  main.append(
    el('div', { class: 'card toolbar' },
      el('label', {}, 'From', from), el('label', {}, 'To', to),
      el('label', {}, 'Hours from', h0), el('label', {}, 'to', h1),
      el('label', {}, 'Zone', zone), el('label', {}, 'Cell', cell), el('label', {}, staff, 'Include staff'),
      el('label', {}, 'Opacity', opacity),
      el('button', { class: 'primary', id: 'hm-show', onclick: () => load() }, 'Show'), download, legend, info),
    el('div', { class: 'card mapcard' }, mapEl));

  const rc = ramp.getContext('2d');
  for (let x = 0; x < 180; x++) { rc.fillStyle = `rgb(${colour(x / 179).join(',')})`; rc.fillRect(x, 0, 1, 10); }

  const m = siteMap(mapEl, site, { zoneLabels: true, shopFirst: true, label: `Heatmap of ${site.name || site.site}: where people spent time` });
  let overlay = null;
  opacity.addEventListener('input', () => overlay && overlay.setOpacity(Number(opacity.value)));

  function query() {
    const q = new URLSearchParams({ from: from.value, to: to.value, cell: cell.value });
    if (zone.value) q.set('zone', zone.value);
    if (Number(h0.value) !== 0 || Number(h1.value) !== 24) q.set('hours', `${h0.value}-${h1.value}`);
    if (staff.checked) q.set('staff', '1');
    return q;
  }

  async function load() {
    const q = query();
    download.href = sitePath(site.site, '/heatmap.png?' + q + '&download=1');
    let g;
    try { g = await api(sitePath(site.site, '/heatmap?' + q)); } catch (e) {
      // Say so where the answer would be, not only in a passing toast.
      if (overlay) { overlay.remove(); overlay = null; }
      info.textContent = 'The heatmap could not be loaded: ' + e.message;
      info.setAttribute('role', 'alert');
      main.dataset.heatmap = 'error';
      return;
    }
    info.removeAttribute('role');
    const c = document.createElement('canvas');
    const W = g.w, H = g.h;
    c.width = W; c.height = H;
    const cx = c.getContext('2d');
    const img = cx.createImageData(W, H);
    // sqrt scale: a few hot cells should not wash out the rest.
    const max = Math.sqrt(g.max || 1);
    for (let j = 0; j < H; j++) {
      for (let i = 0; i < W; i++) {
        const v = g.values[j * W + i];
        const o = ((H - 1 - j) * W + i) * 4; // row 0 of the grid is ymin: the image's bottom
        const f = v > 0 ? Math.sqrt(v) / max : 0;
        if (f < 0.02) { img.data[o + 3] = 0; continue; }
        const [r, gg, b] = colour(f);
        // Faint cells fade out, so that the plan shows where nobody went.
        img.data[o] = r; img.data[o + 1] = gg; img.data[o + 2] = b; img.data[o + 3] = Math.round(255 * Math.min(1, 0.1 + 1.5 * f));
      }
    }
    cx.putImageData(img, 0, 0);
    if (overlay) overlay.remove();
    overlay = L.imageOverlay(c.toDataURL(), rectBounds(g.bounds), { opacity: Number(opacity.value), className: 'heat', alt: 'Heatmap: the brighter, the more time people spent there' }).addTo(m.map);
    overlay.getElement()?.style.setProperty('image-rendering', g.cell >= 1 ? 'pixelated' : 'auto');
    maxLabel.textContent = g.max > 0 ? fmt.dur(g.max) + ' per cell' : '–';
    info.textContent = g.max > 0 ? `${W}×${H} cells of ${g.cell} m, ${g.staff ? 'staff included' : 'people (staff left out)'}` :
      'Nobody was seen here in these days and hours.';
    info.classList.toggle('empty', !(g.max > 0));
    window.passantHeatmap = { w: W, h: H, max: g.max, cell: g.cell, staff: g.staff ? 1 : 0 };
    main.dataset.heatmap = 'ready';
  }
  await load();
  return () => { m.map.remove(); delete window.passantHeatmap; };
}
