// editor.js: the site editor: upload the floor plan and set where it lies
// (its scale), place sensors and draw zones by clicking, save as a new
// version, or revert to an old one.
import { api, el, sitePath, siteDoc, toast, fmt, HTTPError, siteTime, esc } from './api.js';
import { siteMap, drawZones, ll, rectBounds } from './map.js';

const r1 = (v) => Math.round(v * 10) / 10;

export async function mount(main, ctx) {
  const res = await fetch(sitePath(ctx.siteId), { credentials: 'same-origin' });
  if (!res.ok) throw new HTTPError(res.status, (await res.json()).error);
  let version = Number(res.headers.get('X-Site-Version')) || 0;
  const draft = siteDoc(await res.json());
  if (ctx.stale && ctx.stale()) return null; // left while the site came: main is the next view's
  let mode = 'none';
  let pending = []; // zone vertices being drawn
  let dirty = false;

  const mapEl = el('div', { class: 'map', id: 'ed-map', style: 'cursor:crosshair' });
  const panel = el('div', { class: 'card scroll', id: 'ed-panel' });
  main.append(el('div', { class: 'grid2' }, el('div', { class: 'card mapcard' }, mapEl), panel));
  const m = siteMap(mapEl, draft, { zoneLabels: true, sensors: false, shopFirst: true, map: { doubleClickZoom: false } });
  const sensorLayer = L.layerGroup().addTo(m.map);
  const drawLayer = L.layerGroup().addTo(m.map);

  // Inputs.
  const num = (id, v, step = 0.1) => el('input', { type: 'number', id, value: v, step, style: 'width:5.5em' });
  // Without a plan, its bottom-left corner starts at the origin (when the map
  // holds it), as most floor frames are drawn.
  const b0 = draft.bounds, origin = b0[0][0] <= 0 && b0[0][1] <= 0 && b0[1][0] > 0 && b0[1][1] > 0;
  const pb = draft.plan ? draft.plan.bounds : origin ? [[0, 0], [b0[1][0], b0[1][1]]] : b0.map(p => [...p]);
  const px0 = num('ed-plan-x0', pb[0][0]), py0 = num('ed-plan-y0', pb[0][1]), px1 = num('ed-plan-x1', pb[1][0]), py1 = num('ed-plan-y1', pb[1][1]);
  const planWidth = num('ed-plan-width', r1(pb[1][0] - pb[0][0]));
  const bx0 = num('ed-b-x0', draft.bounds[0][0]), by0 = num('ed-b-y0', draft.bounds[0][1]), bx1 = num('ed-b-x1', draft.bounds[1][0]), by1 = num('ed-b-y1', draft.bounds[1][1]);
  const file = el('input', { type: 'file', id: 'ed-plan-file', accept: 'image/png,image/jpeg,image/webp,image/svg+xml' });
  const sensorID = el('input', { type: 'text', id: 'ed-sensor-id', style: 'width:6em' });
  const sensorZ = num('ed-sensor-z', 2.5);
  const zoneID = el('input', { type: 'text', id: 'ed-zone-id', style: 'width:8em' });
  const zoneKind = el('select', { id: 'ed-zone-kind' }, ...['area', 'store', 'outside'].map(k => el('option', { value: k }, k)));
  const btnSensor = el('button', { id: 'ed-mode-sensor', onclick: () => setMode(mode === 'sensor' ? 'none' : 'sensor') }, 'Place sensors');
  const btnZone = el('button', { id: 'ed-mode-zone', onclick: () => setMode(mode === 'zone' ? 'none' : 'zone') }, 'Draw zone');
  const btnFinish = el('button', { id: 'ed-zone-finish', disabled: true, onclick: () => finishZone() }, 'Finish zone');
  const btnMeasure = el('button', { id: 'ed-measure', onclick: () => setMode(mode === 'measure' ? 'none' : 'measure') }, 'Scale by a known distance');
  const realDist = num('ed-measure-m', 5);
  let measure = [];
  const save = el('button', { class: 'primary', id: 'ed-save', onclick: () => saveSite() }, 'Save as new version');
  const verLabel = el('span', { id: 'ed-version', class: 'muted' });
  const sensorList = el('ul', { class: 'list-edit', id: 'ed-sensors' });
  const zoneList = el('ul', { class: 'list-edit', id: 'ed-zones' });
  const versions = el('ul', { class: 'list-edit', id: 'ed-versions' });
  const help = el('p', { class: 'hint', id: 'ed-help' });

  panel.append(
    el('h2', {}, 'Floor plan'), el('div', { class: 'toolbar' }, el('label', {}, 'Image', file)),
    el('div', { class: 'toolbar' }, el('label', {}, 'Left x', px0), el('label', {}, 'Bottom y', py0), el('label', {}, 'Right x', px1), el('label', {}, 'Top y', py1)),
    el('div', { class: 'toolbar' }, el('label', {}, 'Scale: plan width, m', planWidth),
      el('button', { onclick: () => applyPlan() }, 'Apply')),
    el('p', { class: 'hint' }, 'Set the plan\'s width in metres to scale it; its height follows the image\'s aspect ratio. ' +
      'Or click two points on the plan whose distance you know (a wall, a door) and give it.'),
    el('div', { class: 'toolbar' }, el('label', {}, 'Known distance, m', realDist), btnMeasure),
    el('h2', {}, 'Map bounds'),
    el('div', { class: 'toolbar' }, el('label', {}, 'x min', bx0), el('label', {}, 'y min', by0), el('label', {}, 'x max', bx1), el('label', {}, 'y max', by1)),
    el('h2', { style: 'margin-top:1rem' }, 'Sensors'), el('div', { class: 'toolbar' }, el('label', {}, 'Next id', sensorID), el('label', {}, 'Height z, m', sensorZ), btnSensor),
    sensorList,
    el('h2', {}, 'Zones'), el('div', { class: 'toolbar' }, el('label', {}, 'Zone id', zoneID), el('label', {}, 'Kind', zoneKind), btnZone, btnFinish),
    help, zoneList,
    el('div', { class: 'toolbar' }, save, verLabel),
    el('h2', { style: 'margin-top:1rem' }, 'Versions'), versions);

  function nextID(prefix, list) {
    for (let i = 1; ; i++) if (!list.some(x => x.id === prefix + i)) return prefix + i;
  }

  function setMode(mm) {
    if (mode === 'zone' && mm !== 'zone') { pending = []; drawPending(); }
    if (mm === 'measure' && !draft.plan) { toast('Upload a floor plan first', true); mm = 'none'; }
    measure = [];
    mode = mm;
    btnSensor.classList.toggle('active', mode === 'sensor');
    btnZone.classList.toggle('active', mode === 'zone');
    btnMeasure.classList.toggle('active', mode === 'measure');
    help.textContent = mode === 'zone' ? 'Click the corners of the zone on the map, then Finish zone (or click the first corner).' :
      mode === 'sensor' ? 'Click the map where a sensor hangs; drag a sensor to move it.' :
      mode === 'measure' ? 'Click the two ends of the known distance on the plan.' : '';
  }

  function changed() { dirty = true; verLabel.textContent = `version ${version} · unsaved changes`; }

  function drawSensors() {
    sensorLayer.clearLayers();
    for (const s of draft.sensors) {
      const mk = L.marker(ll(s.x, s.y), { draggable: true, title: `sensor ${s.id}`,
        icon: L.divIcon({ className: 'sensor-icon', html: esc(s.id), iconSize: [22, 16] }) }).addTo(sensorLayer);
      mk.on('dragend', () => { const p = mk.getLatLng(); s.x = r1(p.lng); s.y = r1(p.lat); changed(); renderLists(); });
    }
  }

  // Sensors and zones are listed with their editable fields; a zone picked
  // from the list shows handles on its corners to drag.
  const field = (value, onchange, attrs = {}) => {
    const i = el('input', { type: 'text', value: value ?? '', style: 'width:6.5em', ...attrs });
    i.addEventListener('change', () => { onchange(i.value); changed(); });
    return i;
  };
  function renderLists() {
    const del = (label, fn) => el('button', { class: 'x', title: `remove ${label}`, 'aria-label': `remove ${label}`, onclick: fn }, '✕');
    sensorList.replaceChildren(...draft.sensors.map((s, i) => el('li', { 'data-sensor': s.id },
      el('span', { title: `at (${s.x}, ${s.y}); drag it on the map to move it`, style: 'min-width:2.5em' }, s.id),
      field(s.label, v => { s.label = v.trim() || undefined; }, { placeholder: 'label', 'aria-label': `label of ${s.id}` }),
      field(s.z, v => { s.z = Number(v) || 0; }, { type: 'number', step: 0.1, style: 'width:4em', title: 'height, m', 'aria-label': `height of ${s.id}` }),
      del(s.id, () => { draft.sensors.splice(i, 1); changed(); drawSensors(); renderLists(); }))));
    zoneList.replaceChildren(...draft.zones.map((z, i) => {
      const kind = el('select', { 'aria-label': `kind of ${z.id}` }, ...['area', 'store', 'outside'].map(k => el('option', { value: k, selected: k === z.kind }, k)));
      kind.addEventListener('change', () => { z.kind = kind.value; changed(); drawZones(m, draft); });
      return el('li', { 'data-zone': z.id, class: editing === z.id ? 'editing' : '' },
        el('a', { href: '#', title: 'move its corners', style: 'min-width:4em', onclick: (e) => { e.preventDefault(); editZone(editing === z.id ? null : z.id); } }, z.id),
        field(z.name, v => { z.name = v.trim() || undefined; drawZones(m, draft); }, { placeholder: 'name', 'aria-label': `name of ${z.id}` }), kind,
        del(z.id, () => { draft.zones.splice(i, 1); if (editing === z.id) editZone(null); changed(); drawZones(m, draft); renderLists(); }));
    }));
    if (!sensorID.value || draft.sensors.some(s => s.id === sensorID.value)) sensorID.value = nextID('s', draft.sensors);
    if (!zoneID.value || draft.zones.some(z => z.id === zoneID.value)) zoneID.value = nextID('zone-', draft.zones);
    verLabel.textContent = `version ${version}` + (dirty ? ' · unsaved changes' : '');
  }

  // Corner handles of the zone being edited.
  let editing = null;
  const handles = L.layerGroup().addTo(m.map);
  function editZone(id) {
    editing = id; handles.clearLayers();
    const z = draft.zones.find(z => z.id === id);
    if (z) {
      z.polygon.forEach((p, k) => {
        const h = L.marker(ll(p[0], p[1]), { draggable: true, title: `${z.id} corner ${k + 1}`,
          icon: L.divIcon({ className: 'corner-handle', iconSize: [12, 12] }) }).addTo(handles);
        h.on('drag', () => { const q = h.getLatLng(); z.polygon[k] = [r1(q.lng), r1(q.lat)]; m.zoneLayers[z.id]?.setLatLngs(z.polygon.map(p => ll(p[0], p[1]))); });
        h.on('dragend', () => { changed(); drawZones(m, draft); });
      });
    }
    renderLists();
  }

  function drawPending() {
    drawLayer.clearLayers();
    btnFinish.disabled = pending.length < 3;
    if (!pending.length) return;
    L.polyline(pending.map(p => ll(p[0], p[1])), { color: '#d64545', dashArray: '4 4' }).addTo(drawLayer);
    pending.forEach((p, i) => {
      const c = L.circleMarker(ll(p[0], p[1]), { radius: i ? 4 : 7, color: '#d64545', fillOpacity: 1 }).addTo(drawLayer);
      if (i === 0) c.on('click', (e) => { L.DomEvent.stop(e); finishZone(); });
    });
  }

  function finishZone() {
    if (pending.length < 3) return toast('A zone needs at least 3 corners', true);
    const id = zoneID.value.trim();
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id) || draft.zones.some(z => z.id === id)) return toast(`Zone id "${id}" is not valid or taken`, true);
    draft.zones.push({ id, kind: zoneKind.value, polygon: pending });
    pending = []; drawPending(); drawZones(m, draft); changed(); renderLists(); setMode('none');
  }

  m.map.on('click', (e) => {
    const x = r1(e.latlng.lng), y = r1(e.latlng.lat);
    if (mode === 'sensor') {
      const id = sensorID.value.trim();
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(id) || draft.sensors.some(s => s.id === id)) return toast(`Sensor id "${id}" is not valid or taken`, true);
      draft.sensors.push({ id, x, y, z: Number(sensorZ.value) || 2.5 });
      changed(); drawSensors(); renderLists();
    } else if (mode === 'zone') {
      pending.push([x, y]); drawPending();
    } else if (mode === 'measure') {
      measure.push([e.latlng.lng, e.latlng.lat]);
      if (measure.length === 2) {
        const d = Math.hypot(measure[1][0] - measure[0][0], measure[1][1] - measure[0][1]);
        const want = Number(realDist.value);
        if (d > 0 && want > 0) {
          // Scale the plan about its bottom-left corner.
          const f = want / d, b = draft.plan.bounds;
          px0.value = b[0][0]; py0.value = b[0][1];
          px1.value = r1(b[0][0] + (b[1][0] - b[0][0]) * f); py1.value = r1(b[0][1] + (b[1][1] - b[0][1]) * f);
          planWidth.value = r1(Number(px1.value) - Number(px0.value));
          imgAspect = null;
          applyPlan();
          toast(`Plan scaled by ${f.toFixed(3)}: it is now ${planWidth.value} m wide`);
        }
        setMode('none');
      }
    }
  });

  let imgAspect = null;
  async function applyPlan() {
    let w = Number(planWidth.value);
    if (imgAspect && w > 0) {
      px1.value = r1(Number(px0.value) + w);
      py1.value = r1(Number(py0.value) + w / imgAspect);
    }
    const b = [[Number(px0.value), Number(py0.value)], [Number(px1.value), Number(py1.value)]];
    if (!(b[1][0] > b[0][0] && b[1][1] > b[0][1])) return toast('The plan\'s right/top must exceed its left/bottom', true);
    draft.plan = { image: draft.plan?.image || 'plan', bounds: b };
    if (m.planLayer) m.planLayer.remove();
    m.planLayer = L.imageOverlay(sitePath(draft.site, '/plan') + '?v=' + Date.now(), rectBounds(b), { opacity: 0.9 }).addTo(m.map);
    m.planLayer.bringToBack();
    changed();
  }

  file.addEventListener('change', async () => {
    const f = file.files[0];
    if (!f) return;
    try {
      await api(sitePath(draft.site, '/plan'), { method: 'PUT', headers: { 'Content-Type': f.type || 'application/octet-stream' }, body: f });
      const img = new Image();
      img.src = URL.createObjectURL(f);
      await img.decode().catch(() => {});
      if (img.naturalWidth && img.naturalHeight) imgAspect = img.naturalWidth / img.naturalHeight;
      toast('Plan uploaded; set its scale and save');
      await applyPlan();
    } catch (e) { toast(e.message, true); }
  });

  async function loadVersions() {
    const vs = await api(sitePath(draft.site, '/versions'));
    versions.replaceChildren(...vs.slice(0, 20).map(v => el('li', {}, `v${v.version} · ${v.source} · ${siteTime(v.created, draft.timezone, { date: true, seconds: false })}${v.note ? ' · ' + v.note : ''}`,
      v.version === version ? el('span', { class: 'pill on' }, 'current') :
        el('button', { onclick: async () => {
          try {
            const r = await api(sitePath(draft.site, '/revert'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ version: v.version }) });
            toast(`Reverted: now version ${r.version.version}`); await ctx.reloadSites(); ctx.go('editor', draft.site); location.reload();
          } catch (e) { toast(e.message, true); }
        } }, 'revert to this'))));
  }

  async function saveSite() {
    draft.bounds = [[Number(bx0.value), Number(by0.value)], [Number(bx1.value), Number(by1.value)]];
    try {
      const r = await api(sitePath(draft.site), { method: 'PUT', headers: { 'Content-Type': 'application/json', 'If-Match': `"v${version}"` }, body: JSON.stringify(draft) });
      version = r.version.version; dirty = false;
      toast(`Saved as version ${version}`);
      const i = ctx.sites.findIndex(s => s.site === draft.site);
      if (i >= 0) ctx.sites[i] = siteDoc(r.site);
      renderLists(); loadVersions();
      main.dataset.saved = String(version);
    } catch (e) { toast(e.message, true); }
  }

  drawSensors(); renderLists(); setMode('none'); loadVersions();
  // For tests: where a site point is on the page.
  window.passantEditor = {
    pagePoint: (x, y) => { const p = m.map.latLngToContainerPoint(ll(x, y)); const r = mapEl.getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; },
    draft: () => JSON.parse(JSON.stringify(draft)),
  };
  const beforeUnload = (e) => { if (dirty) { e.preventDefault(); e.returnValue = ''; } };
  window.addEventListener('beforeunload', beforeUnload);
  return () => { window.removeEventListener('beforeunload', beforeUnload); m.map.remove(); delete window.passantEditor; };
}
