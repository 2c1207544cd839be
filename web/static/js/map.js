// map.js: a Leaflet map of a site in its own metres (L.CRS.Simple: lat = y,
// lng = x), with the floor plan, zones and sensors.
import { sitePath, esc } from './api.js';

export const ll = (x, y) => L.latLng(y, x);
export const rectBounds = (r) => L.latLngBounds(ll(r[0][0], r[0][1]), ll(r[1][0], r[1][1]));

const zoneColors = { outside: '#8a94a6', store: '#2f6fed', area: '#9b59b6' };

// shopBounds is the shop in a site: its zones other than the street
// outside, and its sensors, with 1.5 m around, within the site's bounds;
// the site's bounds when it has none of those.
export function shopBounds(site) {
  const b = site.bounds;
  const pts = (site.zones || []).filter(z => z.kind !== 'outside').flatMap(z => z.polygon).concat((site.sensors || []).map(s => [s.x, s.y]));
  if (!pts.length) return b;
  const xs = pts.map(p => p[0]), ys = pts.map(p => p[1]);
  const box = [[Math.max(b[0][0], Math.min(...xs) - 1.5), Math.max(b[0][1], Math.min(...ys) - 1.5)],
    [Math.min(b[1][0], Math.max(...xs) + 1.5), Math.min(b[1][1], Math.max(...ys) + 1.5)]];
  return box[1][0] > box[0][0] && box[1][1] > box[0][1] ? box : b;
}

// siteMap draws site into the element; it returns {map, zoneLayers, sensorLayer, planLayer}.
// With opts.shopFirst, a narrow map (a phone) shows the shop rather than the
// whole site: a 10 m shop in a 30 m site with its street would be a
// thumbnail; the street stays a pan (or a pinch) away.
export function siteMap(elem, site, opts = {}) {
  const fit = () => rectBounds(opts.shopFirst && elem.clientWidth < 560 ? shopBounds(site) : site.bounds);
  // Leaflet makes the map a keyboard stop (arrows pan, +/- zoom): name it.
  elem.setAttribute('role', 'region');
  elem.setAttribute('aria-label', opts.label || `Floor map of ${site.name || site.site}`);
  const map = L.map(elem, { crs: L.CRS.Simple, minZoom: -5, maxZoom: 6, zoomSnap: 0.25, attributionControl: false, ...opts.map });
  map.fitBounds(fit(), { padding: [10, 10] });
  const out = { map, zoneLayers: {}, planLayer: null, sensorLayer: L.layerGroup().addTo(map), zoneGroup: L.layerGroup().addTo(map) };
  if (site.plan) {
    out.planLayer = L.imageOverlay(sitePath(site.site, '/plan') + '?v=' + Date.now(), rectBounds(site.plan.bounds), { opacity: 0.9, alt: 'Floor plan' }).addTo(map);
    out.planLayer.on('error', () => out.planLayer.remove());
  }
  drawZones(out, site, opts);
  if (opts.sensors !== false) drawSensors(out, site);
  // Keep the map in step with its box; refit until the user moves it.
  let touched = false;
  map.on('zoomstart movestart', (e) => { if (e.hard === undefined && out.fitting !== true) touched = true; });
  const ro = new ResizeObserver(() => {
    map.invalidateSize({ pan: false });
    if (!touched) { out.fitting = true; map.fitBounds(fit(), { padding: [10, 10], animate: false }); out.fitting = false; }
  });
  ro.observe(elem);
  map.on('unload', () => ro.disconnect());
  return out;
}

export function drawZones(out, site, opts = {}) {
  out.zoneGroup.clearLayers(); out.zoneLayers = {};
  for (const z of site.zones || []) {
    const poly = L.polygon(z.polygon.map(p => ll(p[0], p[1])), {
      color: zoneColors[z.kind] || '#555', weight: z.kind === 'area' ? 1.5 : 1, fillOpacity: z.kind === 'area' ? 0.08 : 0.03,
      dashArray: z.kind === 'outside' ? '4 4' : null, className: 'zone zone-' + z.id, interactive: !!opts.zoneClick,
    }).addTo(out.zoneGroup);
    if (opts.zoneLabels !== false) poly.bindTooltip(esc(z.name || z.id), { permanent: true, direction: 'center', className: 'zone-label' });
    if (opts.zoneClick) poly.on('click', () => opts.zoneClick(z));
    out.zoneLayers[z.id] = poly;
  }
}

export function drawSensors(out, site) {
  out.sensorLayer.clearLayers();
  for (const s of site.sensors || []) {
    L.marker(ll(s.x, s.y), {
      icon: L.divIcon({ className: 'sensor-icon', html: esc(s.id), iconSize: [22, 16] }), title: `sensor ${s.id}`, keyboard: false,
    }).addTo(out.sensorLayer);
  }
}
