// sensors.js: every sensor's health: online or not, last batch, rate,
// drops, losses, clock skew, version, whether it transmits for
// self-calibration; refreshed every 5 s.
import { api, el, sitePath, fmt, siteTime, esc } from './api.js';
import { siteMap, ll } from './map.js';

export async function mount(main, ctx) {
  const site = ctx.site;
  const table = el('table', { id: 'sensor-table' });
  const summary = el('p', { class: 'muted', id: 'sensor-summary' });
  const alerts = el('ul', { class: 'alert-list', id: 'sensor-alerts' });
  const mapEl = el('div', { class: 'map', id: 'sensor-map', style: 'min-height:320px' });
  main.append(el('div', { class: 'card scroll' }, el('h2', {}, 'Sensors'), alerts, summary, table),
    el('div', { class: 'card mapcard', style: 'min-height:340px' }, mapEl));
  const m = siteMap(mapEl, site, { sensors: false, zoneLabels: false, shopFirst: true, label: 'Where the sensors are, green online, red not; the same as the table' });
  const marks = L.layerGroup().addTo(m.map);

  async function load() {
    const [hs, as] = await Promise.all([api(sitePath(site.site, '/sensors')), api('/api/alerts?open=1&site=' + encodeURIComponent(site.site))]);
    alerts.replaceChildren(...as.map(a => el('li', { 'data-alert': a.kind }, `⚠ ${a.message || a.kind + ' ' + (a.sensor || '')} · since ${siteTime(a.raised, site.timezone, { date: true, seconds: false })}`)));
    const online = hs.filter(h => h.online).length;
    summary.textContent = `${online} of ${hs.length} online`;
    const state = (h) => h.online ? 'online' : h.state === 'unknown' && !h.last_seen ? 'never seen' : 'offline';
    const clock = (h) => {
      if (!h.last_seen) return '–'; // no batch: no clock to judge
      const off = Math.abs(h.clock_offset_ms);
      const cls = h.clock === 'quarantined' || off > 5000 ? 'off' : off > 500 || h.clock === 'corrected' ? 'warn' : 'on';
      return el('span', { class: 'pill ' + cls }, `${h.clock_offset_ms > 0 ? '+' : ''}${Math.round(h.clock_offset_ms)} ms${h.clock && h.clock !== 'ok' ? ' · ' + h.clock : ''}`);
    };
    table.replaceChildren(
      // Late observations are stored and counted, only not located live;
      // refused ones broke the contract's checks.
      el('tr', {}, ...['Sensor', 'State', 'Last batch', 'Obs/s', 'Batches', 'Observations', 'Late or refused', 'Lost', 'Sensor drops', 'Clock', 'Version']
        .map((h, i) => el('th', { class: i >= 3 && i <= 8 ? 'num' : '', title: i === 6 ? 'Observations that came after their time was processed (stored and counted, not shown on the live map) or that broke the format' : undefined }, h))),
      ...hs.map(h => el('tr', { 'data-sensor': h.id },
        el('td', {}, h.id, h.label ? el('span', { class: 'muted' }, ' ' + h.label) : '', h.known ? '' : el('span', { class: 'pill warn' }, 'not in site')),
        el('td', {}, el('span', { class: 'pill ' + (h.online ? 'on' : 'off') }, state(h)),
          h.tx ? el('span', { class: 'pill', 'data-tx': h.tx.dev, title: `a probe request every ${Math.round(h.tx.every_ms / 1000)} s for self-calibration; ${h.tx.sent} sent` }, 'transmits') : '',
          // An epoch-key sensor that could not move its key (docs/sensor.md).
          h.beyond_key ? el('span', { class: 'pill warn', 'data-key-held': String(h.beyond_key),
            title: `${fmt.int(h.beyond_key)} frames dropped: they lie past the epoch of the key the sensor holds, which ` +
              (h.clock_trusted === false ? 'it moves only once its clock is synchronised: its clock is not synchronised (NTP), or run it with --clock-trusted'
                : 'it moves only once its own clock has reached that epoch: these frames were stamped ahead of the clock (a few, at an epoch change, are normal)') }, 'dropping frames') : ''),
        // Batches counted before a restart, none since: not "never".
        el('td', {}, !h.last_seen && h.batches ? 'not since the restart' : fmt.ago(h.last_seen, site.timezone)),
        ...[h.rate.toFixed(1), fmt.int(h.batches), fmt.int(h.observations), fmt.int(h.rejected), fmt.int(h.lost), fmt.int(h.dropped)].map(v => el('td', { class: 'num' }, v)),
        el('td', {}, clock(h)), el('td', {}, h.version || '–'))));
    marks.clearLayers();
    for (const h of hs) {
      if (!h.known) continue;
      L.circleMarker(ll(h.x, h.y), { radius: 9, color: '#fff', weight: 2, fillColor: h.online ? '#1f9d55' : '#d64545', fillOpacity: 1 })
        .bindTooltip(esc(`${h.id}: ${state(h)}${h.last_seen ? ` · ${h.rate.toFixed(1)} obs/s` : ''}`), { permanent: true, direction: 'right' }).addTo(marks);
    }
    main.dataset.sensors = 'ready';
  }
  await load();
  const timer = setInterval(() => load().catch(console.error), 5000);
  return () => { clearInterval(timer); m.map.remove(); };
}
