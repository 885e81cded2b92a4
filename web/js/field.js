// /field: the officer's phone page. Alerts for the chosen district, newest first, each with place,
// what happened, camera and route links and a one-tap acknowledge; a small map shows the selected
// one; `event: alert` on /api/live keeps the list current. window.rtccField is for tests.
import { h, getJSON, fmtTime, fmtAgo, fmtDist, setTimeZone } from './util.js';
import { PRIORITY_COLOR, act, beep } from './alerts.js';

const $ = s => document.querySelector(s);
const state = { alerts: new Map(), district: localStorage.getItem('rtcc.field.district') || '', selected: null, map: null };
const EMPTY = { type: 'FeatureCollection', features: [] };

function visible() {
  return [...state.alerts.values()].filter(a => a.status !== 'closed' && (!state.district || a.district === state.district))
    .sort((x, y) => y.id - x.id);
}

function card(a) {
  const color = PRIORITY_COLOR[a.priority] || '#adb5bd';
  const cams = (a.proximity?.cameras || []).filter(c => c.stream_url).slice(0, 3);
  const units = (a.proximity?.units || []).slice(0, 2);
  const acked = a.status !== 'new';
  const li = h('li.card', { 'data-id': a.id, 'data-status': a.status, 'data-selected': String(state.selected === a.id),
    onclick: e => { if (!e.target.closest('a,button')) select(a.id); } },
    h('header', h('span.prio', `P${a.priority}`), h('h2', a.title), h('span.status', a.status)),
    h('p.where', a.address || (a.lat != null ? `${a.lat.toFixed(5)}, ${a.lon.toFixed(5)}` : 'location unknown'),
      a.district ? ` · ${a.district}` : ''),
    h('p.what', a.match === 'possible' ? h('span.possible', 'Possible match — verify the plate. ') : null,
      a.hotlist ? `${a.hotlist.reason} (${a.hotlist.list})` : a.rule),
    h('p.when', h('time', { datetime: a.observed_at }, `${fmtTime(a.observed_at)} · ${fmtAgo(a.observed_at)}`)),
    units.length ? h('p.units', 'Nearest: ', units.map(u => `${u.callsign} ${fmtDist(u.distance_m)}`).join(' · ')) : null,
    h('div.links',
      a.lat != null ? h('a', { href: `https://www.openstreetmap.org/directions?route=%3B${a.lat}%2C${a.lon}`, target: '_blank', rel: 'noopener' }, 'Route') : null,
      cams.map(c => h('a', { href: c.stream_url, target: '_blank', rel: 'noopener' }, `📷 ${c.name || c.id}`)),
      h('a', { href: `/#alert=${a.id}` }, 'Full map')),
    h('button.ack', { type: 'button', disabled: acked, 'aria-label': `Acknowledge alert ${a.id}`,
      onclick: async () => { const upd = await act(a.id, 'ack'); if (upd) upsert(upd); } },
      acked ? `${a.status[0].toUpperCase()}${a.status.slice(1)}${a.ack_by ? ' by ' + a.ack_by : ''}` : 'Acknowledge'));
  li.style.setProperty('--c', color);
  return li;
}

function render() {
  const items = visible();
  $('#alerts').replaceChildren(...(items.length ? items.map(card) : [h('li.empty', 'No open alerts for this district')]));
  const feats = items.filter(a => a.lon != null).map(a => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [a.lon, a.lat] },
    properties: { id: a.id, color: PRIORITY_COLOR[a.priority] || '#adb5bd', sel: a.id === state.selected } }));
  state.map?.getSource('alerts')?.setData({ type: 'FeatureCollection', features: feats });
}

function select(id, fly = true) {
  state.selected = id;
  const a = state.alerts.get(id);
  render();
  if (a?.lon != null && fly) state.map?.flyTo({ center: [a.lon, a.lat], zoom: 16 });
  document.querySelector(`li.card[data-id="${id}"]`)?.scrollIntoView({ block: 'nearest' });
}

function upsert(a, live = false) {
  const isNew = !state.alerts.has(a.id) && a.status === 'new';
  state.alerts.set(a.id, a);
  if (isNew && live && (!state.district || a.district === state.district)) {
    if (state.selected == null || state.alerts.get(state.selected)?.status !== 'new') state.selected = a.id;
    render();
    document.querySelector(`li.card[data-id="${a.id}"]`)?.classList.add('new');
    if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
    if (localStorage.getItem('rtcc.alertSound') === 'on') beep(a.priority);
    select(a.id);
    return;
  }
  render();
}

async function start() {
  const cat = await getJSON('/api/layers');
  const catalog = cat.ok ? cat.data : { layers: [], service_area: [-76.75, 39.15, -76.45, 39.4], timezone: undefined };
  setTimeZone(catalog.timezone);
  const [x0, y0, x1, y1] = catalog.extent || catalog.service_area;
  const map = new maplibregl.Map({ container: 'map', bounds: [[x0, y0], [x1, y1]], attributionControl: false,
    style: { version: 8, sources: {}, layers: [{ id: 'bg', type: 'background', paint: { 'background-color': '#0a0f15' } }] },
    dragRotate: false, maxPitch: 0 });
  state.map = map;
  window.rtccField = state;
  map.on('load', () => {
    for (const id of ['streets', 'districts']) {
      const l = catalog.layers.find(x => x.id === id);
      if (!l) continue;
      map.addSource(id, { type: 'vector', tiles: [location.origin + l.tiles], maxzoom: 16 });
      map.addLayer({ id, type: 'line', source: id, 'source-layer': id,
        paint: id === 'streets' ? { 'line-color': '#5c6b7a', 'line-width': ['interpolate', ['linear'], ['zoom'], 12, 0.4, 17, 4] }
          : { 'line-color': '#5c7cfa', 'line-width': 2, 'line-opacity': 0.7 } });
    }
    map.addSource('alerts', { type: 'geojson', data: EMPTY });
    map.addLayer({ id: 'alerts', type: 'circle', source: 'alerts', paint: { 'circle-color': ['get', 'color'],
      'circle-radius': ['case', ['get', 'sel'], 11, 7], 'circle-stroke-color': '#fff', 'circle-stroke-width': ['case', ['get', 'sel'], 3, 1.5] } });
    map.on('click', 'alerts', e => select(e.features[0].properties.id, false));
    render();
    document.body.dataset.ready = 'true';
  });

  const sel = $('#district');
  const d = await getJSON('/ogc/collections/districts/items?f=json&limit=100');
  for (const f of (d.ok && d.data?.features) || []) sel.append(h('option', { value: f.properties.name }, f.properties.name));
  sel.value = state.district;
  sel.addEventListener('change', () => { state.district = sel.value; localStorage.setItem('rtcc.field.district', sel.value); render(); });

  const r = await getJSON('/api/alerts?status=new,acknowledged,dispatched&limit=200');
  for (const a of (r.ok ? r.data : [])) state.alerts.set(a.id, a);
  const want = /alert=(\d+)/.exec(location.hash);
  state.selected = want ? Number(want[1]) : (visible()[0]?.id ?? null);
  render();
  if (state.selected != null) map.once('idle', () => select(state.selected));

  const es = new EventSource('/api/live?types=alert');
  const conn = $('#conn');
  es.onopen = () => { conn.dataset.state = 'on'; conn.textContent = 'live'; };
  es.onerror = () => { conn.dataset.state = 'wait'; conn.textContent = 'reconnecting…'; };
  es.addEventListener('alert', m => upsert(JSON.parse(m.data), true));
}

start();
