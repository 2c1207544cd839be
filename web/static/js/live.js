// live.js: the live floor map: dots that glide to each new fix, each with
// its uncertainty circle (radius = err, the 1-sigma error per axis), and the
// zone occupancy.
import { api, el, Live, sitePath, siteDoc, fmt, openNow, siteTime, esc } from './api.js';
import { siteMap, drawZones, drawSensors, ll } from './map.js';

// How a zone's kind reads in the occupancy list (an area needs no word).
const KIND = { outside: 'outside', store: 'whole shop' };

const GLIDE_MS = 450;      // how long a dot takes to move to its new fix
const STALE_MS = 120000;   // drop a dot not updated for this long (wall clock)
const QUIET_MS = 30000;    // fade a dot not updated for this long
const STALE_FEED_MS = 180000; // no fix at all for this long (event time) while open: warn

// haloOpacity keeps wide uncertainty circles faint, so that a crowd of
// uncertain fixes (out on the street) does not grey the map over.
const haloOpacity = (err) => Math.max(0.03, 0.18 * Math.min(1, (2.5 / Math.max(err, 0.1)) ** 2));

export async function mount(main, ctx) {
  let site = ctx.site;
  const mapEl = el('div', { class: 'map', id: 'live-map' });
  const status = el('span', { class: 'status', id: 'live-status' }, el('span', { class: 'dot' }), 'connecting…');
  const hours = el('span', { class: 'pill', id: 'live-open', style: 'margin-left:.5rem' });
  const showHours = () => {
    const o = openNow(site);
    hours.className = 'pill ' + (o.open ? 'on' : 'off');
    hours.textContent = o.open ? (o.until && o.until !== '24:00' ? `open until ${o.until}` : 'open') : 'closed now';
  };
  const inStore = el('div', { class: 'big', id: 'live-in-store' }, '0');
  const nTracks = el('span', { id: 'live-tracks' }, '0');
  const devices = el('span', {}, ' devices');
  const occList = el('ul', { class: 'occ-list', id: 'live-occupancy' });
  const PICK_HINT = 'Click a dot, or a phone in the list below, to see where it has been.';
  const picked = el('p', { class: 'hint', id: 'live-picked', role: 'status' }, PICK_HINT);
  // The dots as a table: what a mouse gets from a dot, for the keyboard
  // and screen readers (a dot on a canvas of paths is no stop for either).
  const listBody = el('tbody');
  const listCount = el('span', {}, '0');
  const list = el('details', { id: 'live-list', class: 'live-list' },
    el('summary', {}, 'Phones on the map as a list (', listCount, ')'),
    el('div', { class: 'live-list-scroll', tabindex: '0', role: 'region', 'aria-label': 'Phones on the map' },
      el('table', {},
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Phone'), el('th', { scope: 'col' }, 'Where'),
          el('th', { scope: 'col', class: 'num', 'aria-label': 'Uncertainty' }, '±'),
          el('th', { scope: 'col', class: 'num', 'aria-label': 'Last fix, how long ago' }, 'Age'))),
        listBody)));
  const lastFix = el('span', { class: 'muted', id: 'live-last' }, '–');
  // While the shop is open, positions stop only when the sensors or the
  // server's feed do: the map would look calm, not broken. Say so.
  const stale = el('p', { id: 'live-stale', role: 'status', hidden: true });
  const sparkEl = el('div', { id: 'live-spark', title: 'In the store, the last 15 minutes' });
  // Today's footfall so far: the Footfall page's "Today", the same report.
  const todayLine = el('p', { id: 'live-today' }, el('span', { class: 'muted' }, 'Today so far: …'));
  main.append(el('div', { class: 'grid2' },
    el('div', { class: 'card mapcard' }, mapEl),
    el('div', { class: 'card' },
      el('h2', {}, site.name || site.site), status, hours,
      el('p', { class: 'muted' }, 'In the store now'), inStore, sparkEl,
      todayLine,
      el('p', {}, nTracks, devices, ' on the map · last fix ', lastFix),
      stale,
      el('h2', {}, 'Zone occupancy'), occList, picked, list,
      el('p', { class: 'hint' }, 'Each dot is a phone (grey: outside the shop). The halo shows how sure its position is: the wider, the less sure (radius: 1 sigma per axis).'))));

  const m = siteMap(mapEl, site, { shopFirst: true, label: `Live floor map of ${site.name || site.site}: a dot per phone, its halo how sure the position is; the counts are beside the map` });
  const dots = L.layerGroup().addTo(m.map);
  const tracks = new Map();
  let sparkPlot = null;
  let occupancy = {};
  let synced = false; // a snapshot has come: the counts are the server's
  let latestT = 0;

  // age: how long before the newest fix p was made (event time; a
  // snapshot's quiet phones are drawn faded at once, as the sweep fades a
  // dot that has not moved for QUIET_MS).
  function upsert(p, animate, age = 0) {
    const now = performance.now();
    let tr = tracks.get(p.track);
    if (tr && p.t < tr.p.t) return; // an older fix than the one shown
    const inStoreZone = zoneKind(site, p.zone) !== 'outside' && p.zone !== '';
    const color = inStoreZone ? '#2f6fed' : '#8a94a6';
    if (!tr) {
      const halo = L.circle(ll(p.x, p.y), { radius: Math.max(p.err, 0.05), stroke: false, fillColor: color, fillOpacity: haloOpacity(p.err), interactive: false, className: 'halo' }).addTo(dots);
      const dot = L.circleMarker(ll(p.x, p.y), { radius: 5, weight: 1.5, color: '#fff', fillColor: color, fillOpacity: 1, className: 'dot' }).addTo(dots);
      dot.bindTooltip('', { direction: 'top' });
      tr = { halo, dot, from: [p.x, p.y], to: [p.x, p.y], t0: now, p, trail: [] };
      dot.on('click', (e) => { L.DomEvent.stop(e); pick(p.track); });
      tracks.set(p.track, tr);
    } else {
      const cur = position(tr, now);
      tr.from = animate ? cur : [p.x, p.y];
      tr.to = [p.x, p.y]; tr.t0 = now;
      tr.halo.setRadius(Math.max(p.err, 0.05));
      tr.halo.setStyle({ fillColor: color, fillOpacity: haloOpacity(p.err) });
      tr.dot.setStyle({ fillColor: color, fillOpacity: 1, opacity: 1 });
    }
    if (age > QUIET_MS) tr.dot.setStyle({ fillOpacity: 0.35, opacity: 0.35 });
    tr.p = p; tr.seen = Date.now(); tr.age0 = age;
    tr.trail.push(ll(p.x, p.y));
    if (tr.trail.length > 60) tr.trail.shift();
    if (selected === p.track) showPick();
    tr.dot.setTooltipContent(esc(`${p.track} · ±${p.err.toFixed(1)} m · ${p.zone || 'no zone'} · ${p.n} sensors`));
    tr.dot.getElement()?.setAttribute('data-track', p.track);
    latestT = Math.max(latestT, p.t);
  }

  // The picked track's recent path.
  let selected = null;
  const trail = L.polyline([], { color: '#d64545', weight: 2.5, opacity: 0.8, dashArray: '5 4', interactive: false, className: 'trail' }).addTo(m.map);
  function pick(id) { selected = id; showPick(); }
  function showPick() {
    for (const [id, r] of rows) r.btn.setAttribute('aria-pressed', String(id === selected));
    const tr = tracks.get(selected);
    if (!tr) { selected = null; trail.setLatLngs([]); picked.textContent = PICK_HINT; return; }
    trail.setLatLngs(tr.trail);
    const p = tr.p;
    picked.textContent = `${p.track}: ${p.zone || 'no zone'}, ±${p.err.toFixed(1)} m from ${p.n} sensors, last ${tr.trail.length} fixes shown`;
  }
  m.map.on('click', () => pick(null));

  function remove(id) {
    const tr = tracks.get(id);
    if (!tr) return;
    if (selected === id) { selected = null; setTimeout(showPick); }
    dots.removeLayer(tr.halo); dots.removeLayer(tr.dot); tracks.delete(id);
  }

  function position(tr, now) {
    const a = Math.min(1, (now - tr.t0) / GLIDE_MS);
    const e = a < 0.5 ? 2 * a * a : 1 - Math.pow(-2 * a + 2, 2) / 2; // ease in-out
    return [tr.from[0] + (tr.to[0] - tr.from[0]) * e, tr.from[1] + (tr.to[1] - tr.from[1]) * e];
  }

  let raf = 0;
  function frame() {
    const now = performance.now();
    for (const tr of tracks.values()) {
      if (now - tr.t0 > GLIDE_MS + 50) continue;
      const [x, y] = position(tr, now);
      tr.dot.setLatLng(ll(x, y)); tr.halo.setLatLng(ll(x, y));
    }
    raf = requestAnimationFrame(frame);
  }
  raf = requestAnimationFrame(frame);

  // The list's rows, by track, in the order of the track ids: a row stays
  // where it is while its phone moves, so that the focus stays on it.
  const rows = new Map();
  function renderList() {
    listCount.textContent = String(tracks.size);
    if (!list.open) return;
    const now = Date.now();
    for (const [id, r] of rows) if (!tracks.has(id)) { r.row.remove(); rows.delete(id); }
    for (const [id, tr] of tracks) {
      let r = rows.get(id);
      if (!r) {
        const btn = el('button', { type: 'button', class: 'linklike', 'aria-pressed': String(id === selected) }, id);
        btn.addEventListener('click', () => pick(id));
        r = { btn, where: el('td'), err: el('td', { class: 'num' }), age: el('td', { class: 'num' }) };
        r.row = el('tr', { 'data-track': id }, el('td', {}, btn), r.where, r.err, r.age);
        const after = [...rows.keys()].filter(k => k > id).sort()[0];
        listBody.insertBefore(r.row, after === undefined ? null : rows.get(after).row);
        rows.set(id, r);
      }
      const p = tr.p;
      const kind = zoneKind(site, p.zone);
      r.where.textContent = p.zone ? zoneName(site, p.zone) + (kind === 'outside' ? ' (outside)' : '') : 'no zone';
      r.err.textContent = `${p.err.toFixed(1)} m`;
      const age = (tr.age0 || 0) + now - tr.seen;
      r.age.textContent = age < 5000 ? 'now' : fmt.dur(age / 1000);
      r.row.classList.toggle('quiet', age > QUIET_MS);
    }
  }
  list.addEventListener('toggle', renderList);

  function renderOccupancy() {
    let store = 0;
    for (const z of site.zones) if (z.kind === 'store') store += occupancy[z.id] || 0;
    inStore.textContent = fmt.int(store);
    nTracks.textContent = String(tracks.size);
    devices.textContent = tracks.size === 1 ? ' device' : ' devices';
    lastFix.textContent = latestT ? siteTime(latestT, site.timezone) : '–';
    // (Only for a site with opening hours: without, a quiet night is no news.)
    const quiet = synced && site.open && Object.keys(site.open).length > 0 && openNow(site).open &&
      (!latestT || Date.now() - latestT > STALE_FEED_MS);
    stale.hidden = !quiet;
    if (quiet) {
      stale.replaceChildren(latestT ? `No new positions for ${fmt.dur((Date.now() - latestT) / 1000)} while the shop is open: ` : 'No positions yet while the shop is open: ',
        'are the sensors on? See ', el('a', { href: `#/sensors/${encodeURIComponent(site.site)}` }, 'Sensors'), '.');
    }
    occList.replaceChildren(...site.zones.map(z => el('li', { 'data-zone': z.id },
      el('span', {}, z.name || z.id, KIND[z.kind] ? el('span', { class: 'muted' }, ' · ' + KIND[z.kind]) : ''),
      el('span', { class: 'n' }, String(occupancy[z.id] || 0)))));
    for (const z of site.zones) {
      const layer = m.zoneLayers[z.id];
      if (layer && layer.getTooltip()) layer.setTooltipContent(esc(`${z.name || z.id} · ${occupancy[z.id] || 0}`));
    }
    if (sparkPlot) sample();
    renderList();
  }

  async function reloadSite() {
    site = siteDoc(await api(sitePath(site.site)));
    const i = ctx.sites.findIndex(s => s.site === site.site);
    if (i >= 0) ctx.sites[i] = site;
    drawZones(m, site); drawSensors(m, site); renderOccupancy();
  }

  const live = new Live(site.site, (msg) => {
    if (msg.type === 'snapshot') {
      synced = true;
      for (const id of [...tracks.keys()]) remove(id);
      for (const p of msg.tracks) upsert(p, false, msg.t ? msg.t - p.t : 0);
      occupancy = msg.occupancy || {};
    } else if (msg.type === 'update') {
      for (const p of msg.tracks) upsert(p, true);
      for (const id of msg.gone || []) remove(id);
      if (msg.occupancy) occupancy = msg.occupancy;
    } else if (msg.type === 'site') {
      reloadSite();
    }
    renderOccupancy();
  }, (up) => {
    status.className = 'status' + (up ? ' ok' : '');
    status.lastChild.textContent = up ? 'live' : 'reconnecting…';
  });

  // The store's occupancy over the last 15 minutes, sampled every 5 s.
  const spark = [[], []];
  sparkPlot = new uPlot({ width: 240, height: 70, legend: { show: false }, cursor: { show: false },
    axes: [{ show: false }, { size: 30, space: 12, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], font: '10px system-ui', ticks: { show: false }, grid: { stroke: '#eef0f4' } }],
    scales: { y: { range: (u, lo, hi) => [0, Math.max(4, hi)] } },
    series: [{}, { stroke: '#2f6fed', fill: 'rgba(47,111,237,.15)', width: 1.5, points: { show: false } }] }, spark, sparkEl);
  let lastSample = 0;
  function sample() {
    if (!synced) return; // no 0 before the first snapshot
    if (Date.now() - lastSample < 5000) return;
    lastSample = Date.now();
    spark[0].push(Date.now() / 1000); spark[1].push(Number(inStore.textContent.replace(/,/g, '')) || 0);
    while (spark[0].length > 180) { spark[0].shift(); spark[1].shift(); }
    sparkPlot.setData(spark);
  }

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [id, tr] of tracks) {
      if (now - tr.seen > STALE_MS) remove(id);
      else if (now - tr.seen > QUIET_MS) tr.dot.setStyle({ fillOpacity: 0.35, opacity: 0.35 });
    }
    renderOccupancy();
  }, 5000);

  // For tests and scripts: the fixes the map shows (the newest per track).
  window.passantLive = {
    site: site.site,
    tracks: () => [...tracks.values()].map(tr => ({ ...tr.p })),
    occupancy: () => ({ ...occupancy }),
    spark: () => spark[1].slice(),
    dotsOnMap: () => mapEl.querySelectorAll('path.dot').length,
    picked: () => selected,
  };
  renderOccupancy();
  showHours();
  const hoursTimer = setInterval(showHours, 60000);

  async function loadToday() {
    try {
      const T = (await api(sitePath(site.site, '/report'))).totals;
      // In the Footfall page's words, so that the two read alike.
      todayLine.replaceChildren('Today so far: ', el('b', { id: 'live-today-visitors' }, fmt.int(T.visitors)), ' visitors, ',
        fmt.int(T.passersby), ' passers-by, capture rate ', fmt.pct(T.capture_rate), ' · ',
        el('a', { href: `#/footfall/${encodeURIComponent(site.site)}` }, 'footfall'));
      if (window.passantLive) window.passantLive.today = T;
    } catch (e) {
      todayLine.replaceChildren(el('span', { class: 'muted' }, 'Today so far: not available (' + e.message + ')'));
    }
  }
  loadToday();
  const todayTimer = setInterval(loadToday, 60000);

  return () => {
    clearInterval(hoursTimer); clearInterval(todayTimer);
    live.close(); cancelAnimationFrame(raf); clearInterval(sweep); m.map.remove(); sparkPlot.destroy();
    delete window.passantLive;
  };
}

function zoneName(site, id) {
  const z = (site.zones || []).find(z => z.id === id);
  return z ? z.name || z.id : id;
}

function zoneKind(site, id) {
  const z = (site.zones || []).find(z => z.id === id);
  return z ? z.kind : '';
}
