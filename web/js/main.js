// The analyst's map: wires the catalog layers, time window, live feed, proximity panel,
// address search and task form together. The map object is window.rtccMap (tests, console).
import { $, getJSON, setTimeZone, fmtTime, toast, emojiSupported } from './util.js';

document.documentElement.dataset.emoji = emojiSupported() ? 'yes' : 'no';
import { CatalogLayers, mlId, THEMES, applyTheme } from './maplayers.js';
import { buildLayerPanel } from './layerpanel.js';
import { TimeWindow } from './timewin.js';
import { LiveFeed } from './live.js';
import { ProximityPanel } from './proximity.js';
import { AddressSearch } from './search.js';
import { TaskForm } from './taskform.js';
import { AlertInbox, boloForm } from './alerts.js';
import { GeofenceDrawer } from './geofence.js';
import { Investigations, looksLikePlate } from './investigate.js';
import { Replay } from './replay.js';
import { Attention } from './attention.js';
import * as urlstate from './urlstate.js';
import { openCamera, openUnit } from './cards.js';
import { Display } from './display.js';
import { addTools } from './tools.js';
import { UnlocatedList } from './unlocated.js';

const EMPTY = { type: 'FeatureCollection', features: [] };

function addOverlays(map) {
  for (const id of ['live', 'flash', 'prox', 'prox-loc', 'alerts']) map.addSource(id, { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'prox-cones', type: 'fill', source: 'prox', filter: ['==', ['get', 'role'], 'cone'],
    paint: { 'fill-color': ['case', ['get', 'sees'], '#22b8cf', '#495057'], 'fill-opacity': ['case', ['get', 'sees'], 0.28, 0.1] } });
  map.addLayer({ id: 'prox-cone-edges', type: 'line', source: 'prox', filter: ['==', ['get', 'role'], 'cone'],
    paint: { 'line-color': ['case', ['get', 'sees'], '#66d9e8', '#868e96'], 'line-width': 1.2 } });
  map.addLayer({ id: 'prox-lines', type: 'line', source: 'prox', filter: ['in', ['get', 'role'], ['literal', ['line', 'route']]],
    layout: { 'line-cap': 'round', 'line-join': 'round' },
    paint: { 'line-color': '#69db7c', 'line-width': ['case', ['==', ['get', 'role'], 'route'], 3.5, 2],
      'line-dasharray': [2, 1.5], 'line-opacity': 0.9 } });
  map.addLayer({ id: 'prox-hl', type: 'line', source: 'prox', filter: ['==', ['get', 'id'], ''],
    paint: { 'line-color': '#fff3bf', 'line-width': 4 } });
  map.addLayer({ id: 'prox-points', type: 'circle', source: 'prox', filter: ['in', ['get', 'role'], ['literal', ['camera', 'unit']]],
    paint: { 'circle-radius': 6, 'circle-color': ['match', ['get', 'role'], 'unit', '#51cf66', '#22b8cf'],
      'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } });
  map.addLayer({ id: 'live-points', type: 'circle', source: 'live',
    paint: { 'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 4, 16, 8], 'circle-color': ['get', 'color'],
      'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1.5 } });
  map.addLayer({ id: 'flash', type: 'circle', source: 'flash',
    paint: { 'circle-radius': ['get', 'r'], 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': ['get', 'color'],
      'circle-stroke-width': 3, 'circle-stroke-opacity': ['get', 'o'] } });
  map.addLayer({ id: 'alert-points', type: 'circle', source: 'alerts',
    paint: { 'circle-radius': 10, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': ['get', 'color'],
      'circle-stroke-width': ['match', ['get', 'status'], 'new', 4, 2] } });
  map.addLayer({ id: 'prox-loc', type: 'circle', source: 'prox-loc',
    paint: { 'circle-radius': 9, 'circle-color': 'rgba(255,107,107,0.25)', 'circle-stroke-color': '#ff6b6b', 'circle-stroke-width': 3 } });
}

/** Run fn once the map has drawn its first complete view, or after `wait` ms, whichever is first. */
function afterFirstRender(map, fn, wait = 2000) {
  let done = false;
  const go = () => { if (!done) { done = true; fn(); } };
  if (map.loaded() && map.areTilesLoaded()) { go(); return; }
  map.once('idle', go);
  if (Number.isFinite(wait)) setTimeout(go, wait);
}

/** A map feature (tile or live overlay) as the target the panel and the task form understand. */
function targetFromFeature(f, catalog, lngLat) {
  const p = f.properties || {};
  const layerId = f.layer.metadata?.catalog;
  const layer = catalog.layers.find(l => l.id === layerId);
  const coords = f.geometry.type === 'Point' ? f.geometry.coordinates : [lngLat.lng, lngLat.lat];
  const id = p.id ?? f.id;
  if (!layer?.event_kind && !p.live) { // a task, a hexbin…: the panel is about the place, not an incident
    const what = p.title || p.name || p.callsign || (p.count != null ? `${p.count} events in this cell` : null);
    return { lon: coords[0], lat: coords[1], title: `${layer ? layer.title : 'Feature'}${id != null ? ' #' + id : ''}`,
      address: what, observed_at: p.created_at || p.observed_at || null };
  }
  return { id: id != null ? Number(id) : null, kind: p.kind || layer?.event_kind || null, event_type: p.type || p.event_type || null,
    address: p.address || null, observed_at: p.observed_at || null, priority: p.priority ?? null, district: p.district || null,
    attrs: { rounds: p.rounds, confidence: p.confidence }, lon: coords[0], lat: coords[1] };
}

async function start() {
  const cat = await getJSON('/api/layers');
  if (!cat.ok) { $('#map').append(`Cannot load the layer catalog: ${cat.error}`); return; }
  const catalog = cat.data;
  setTimeZone(catalog.timezone);
  document.title = `RTCC map · ${catalog.agency}`;
  $('#agency').textContent = catalog.agency;
  setInterval(() => { $('#clock').textContent = fmtTime(new Date().toISOString()); }, 1000);

  const deepAlert = /(?:^#|&)alert=(\d+)/.exec(location.hash)?.[1]; // /#alert=ID from a message
  if (deepAlert) history.replaceState(null, '', location.pathname + location.search);
  const [x0, y0, x1, y1] = catalog.extent || catalog.service_area;
  const map = new maplibregl.Map({
    container: 'map', bounds: [[x0, y0], [x1, y1]], fitBoundsOptions: { padding: 20 }, hash: 'map',
    style: { version: 8, sources: {}, layers: [{ id: 'background', type: 'background', paint: { 'background-color': THEMES.dark.background } }],
      ...(catalog.services.glyphs ? { glyphs: `${location.origin}/glyphs/{fontstack}/{range}.pbf` } : {}) },
    attributionControl: { compact: true }, maxPitch: 0, dragRotate: false,
  });
  window.rtccMap = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'bottom-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  map.on('error', e => { // tile errors must not break the map: count and show them, once
    window.rtccTileErrors = (window.rtccTileErrors || 0) + 1;
    if (window.rtccTileErrors === 1) toast(`Some map data failed to load (${e.error?.status || e.error?.message || 'error'})`, 'warn');
  });

  const layers = new CatalogLayers(map, catalog);
  const kindInfo = kind => {
    const l = catalog.layers.find(x => x.event_kind === kind);
    return l ? { icon: l.style.icon, color: l.style.color, title: l.title } : { icon: '•', color: '#adb5bd', title: kind || 'event' };
  };
  const taskForm = new TaskForm($('#task-dialog'), { onCreated: () => layers.refresh('tasks') });
  const panel = new ProximityPanel({ map, catalog, root: $('#detail'), kindInfo, onTask: t => taskForm.open(t) });
  let live;
  const select = (t, { fly = false, auto = false } = {}) => {
    if (t.lon == null) return;
    if (fly) map.flyTo({ center: [t.lon, t.lat], zoom: Math.max(map.getZoom(), 15) });
    if (t.id != null && t.kind) urlstate.select('incident', t.id);
    else if (t.searched) urlstate.select('address', t.searched);
    else urlstate.select('point', `${t.lon.toFixed(6)},${t.lat.toFixed(6)}`);
    panel.open(t, { auto });
  };
  panel.onClose = () => urlstate.clear();
  panel.onCamera = id => openCamera(ctx, id);
  panel.onUnit = id => openUnit(ctx, id);
  const display = new Display({ map, themeBtn: $('#theme-btn'), wallBtn: $('#wall-btn') });
  const attention = new Attention({ bannerEl: $('#attention'), badgeEl: $('#feed-new'), soundEl: $('#sound'),
    feedEl: $('#feed-list'), onOpen: (ev, o) => select(ev, o), onUrgent: ev => display.urgent(ev) });
  const ctx = { map, catalog, panel, kindInfo };

  // An alert opens where it happened, with the cameras and units as they were when it fired.
  const openAlert = a => {
    if (a.proximity && a.event?.id != null) panel.pushed({ event_id: a.event.id, ...a.proximity });
    select({ id: a.event?.id, kind: a.kind, event_type: a.title, address: a.address || a.zone, observed_at: a.observed_at,
      priority: a.event?.priority ?? null, district: a.district, lon: a.lon, lat: a.lat }, { fly: true });
    urlstate.select('alert', a.id); // the link to share is the alert's, as in its messages
  };
  const inbox = new AlertInbox({ map, root: $('#inbox'), listEl: $('#alert-list'), countEl: $('#alert-count'),
    soundEl: $('#alert-sound'), onOpen: openAlert });
  boloForm($('#bolo-dialog'), $('#bolo-open'));
  const inv = new Investigations({ map, catalog, kindInfo, select, taskForm });
  panel.actions = inv.actions();
  window.rtcc = { map, layers, panel, taskForm, catalog, select, inbox, inv, attention, urlstate, display };
  map.on('load', async () => {
    addOverlays(map);
    inv.addLayers();
    const replay = new Replay({ map, kindInfo });
    replay.addLayers();
    live = new LiveFeed({ map, catalog, layers, listEl: $('#feed-list'), countEl: $('#feed-count'),
      statusEl: $('#conn-status'), prioEl: $('#feed-prio'), attention, onSelect: (ev, o) => select(ev, o),
      onProximity: m => panel.pushed(m), onAlert: a => {
        inbox.pushed(a);
        // a P1 alert also raises the banner (the inbox keeps it either way); Enter opens the alert
        if (a.priority === 1 && a.status === 'new') {
          attention.raise({ id: `alert-${a.id}`, priority: 1, address: a.address || a.zone, lon: a.lon, lat: a.lat },
            `Alert: ${a.title}`, () => openAlert(a));
        }
      } });
    // Events with no position: placed by the analyst's click on the map (see consumeClick below).
    const unlocated = new UnlocatedList({ map, catalog, root: $('#unlocated'), listEl: $('#unlocated-list'),
      countEl: $('#unlocated-count'), onPlaced: ev => {
        const l = catalog.layers.find(x => x.event_kind === ev.kind);
        if (l) layers.refresh(l.id);
        select({ id: ev.id, kind: ev.kind, district: ev.district, lon: ev.lon, lat: ev.lat }, { fly: true });
      } });
    window.rtcc.unlocated = unlocated;
    window.rtcc.geofences = new GeofenceDrawer({ map, button: $('#draw-geofence'),
      onSaved: () => { layers.setVisible('geofences', true); layers.refresh('geofences'); } });
    const tw = new TimeWindow($('#timewin'), catalog.events_time_range, w => {
      layers.setDatetime(w.datetime); live.applyFilter(w.live);
      replay.update(w, tw.range()).then(() => tw.setNote(replay.describe()));
    });
    layers.datetime = tw.current().datetime;
    window.rtcc.timeWindow = tw;
    window.rtcc.replay = replay;
    buildLayerPanel($('#layer-list'), catalog, layers, map);
    $('#layer-list').addEventListener('change', () => live.applyFilter(tw.live));
    layers.addAll('prox-cones');
    display.apply();
    live.applyFilter(true);
    // The feed's stream and history, the alert inbox and the unlocated list start once the first
    // tiles are drawn (or after 2 s): asked before, their queries took the browser's six connections
    // and the server's time from the map's first tiles.
    afterFirstRender(map, () => {
      live.connect();
      live.loadHistory();
      inbox.load().then(() => { if (deepAlert) inbox.openId(deepAlert); });
      unlocated.start();
    });

    const assets = () => layers.clickable(['assets']);
    const clickable = () => ['live-points', ...layers.clickable(['events', 'analysis']), ...assets()];
    map.on('click', 'alert-points', e => { if (!unlocated.placing) inbox.openId(e.features[0].properties.id); });
    map.on('click', e => {
      if (unlocated.consumeClick(e)) return; // placing an unlocated event's pin
      if (map.queryRenderedFeatures(e.point, { layers: ['alert-points'] }).length) return;
      const f = map.queryRenderedFeatures([[e.point.x - 4, e.point.y - 4], [e.point.x + 4, e.point.y + 4]], { layers: clickable() })[0];
      if (!f) return;
      const lid = f.layer.metadata?.catalog;
      const fid = f.properties?.id ?? f.id;
      if (lid === 'cameras') openCamera(ctx, fid);
      else if (lid === 'units') openUnit(ctx, fid);
      else select(targetFromFeature(f, catalog, e.lngLat));
    });
    map.on('contextmenu', e => { e.preventDefault(); select({ lon: e.lngLat.lng, lat: e.lngLat.lat, title: 'Point on map' }); });
    map.on('mousemove', e => {
      const ids = clickable();
      const hit = ids.length && map.queryRenderedFeatures(e.point, { layers: ids }).length;
      map.getCanvas().style.cursor = hit ? 'pointer' : '';
    });
    urlstate.register('alert', id => inbox.openId(id)); // (a /#alert= link is opened by the inbox on load)
    urlstate.register('incident', id => openIncident(catalog, id, select));
    urlstate.register('camera', id => openCamera(ctx, id));
    urlstate.register('unit', id => openUnit(ctx, id));
    urlstate.register('point', v => { const [lon, lat] = v.split(',').map(Number);
      if (Number.isFinite(lon) && Number.isFinite(lat)) select({ lon, lat, title: 'Point on map' }, { fly: true }); });
    urlstate.register('address', v => search.run(v));
    document.body.dataset.ready = 'true';
    document.body.dataset.restored = (await urlstate.restore()) || '';
    // The tools' plugins (their scripts, and the drawing sources the measure tool adds to the style)
    // wait for the first complete render: added at once they doubled the time to a drawn map.
    afterFirstRender(map, () => addTools(map, { catalog, layers, timeWindow: tw })
      .catch(e => toast(`Map tools unavailable: ${e.message}`, 'warn')), Infinity);
  });

  const search = new AddressSearch({ form: $('#search'), input: $('#search-input'), list: $('#search-results'), catalog,
    isPlate: looksLikePlate, onPlate: q => window.rtcc.inv.searchPlate(q),
    onPick: c => {
      map.flyTo({ center: [c.lon, c.lat], zoom: 17, duration: 1200 });
      select({ lon: c.lon, lat: c.lat, title: c.normalized || 'Search result', searched: c.query || c.normalized,
        address: c.match_type ? `${c.match_type}, score ${c.score}` : null });
    } });

  for (const btn of document.querySelectorAll('[data-toggle]')) {
    btn.addEventListener('click', () => {
      const on = document.body.classList.toggle(btn.dataset.toggle);
      btn.setAttribute('aria-expanded', String(on));
      // hiding the feed hides the incident panel with it: its routes and cones go too
      if (btn.dataset.toggle === 'hide-feed' && on && panel.current) panel.close();
      setTimeout(() => map.resize(), 250);
    });
  }
  window.addEventListener('resize', () => map.resize());
}

/** `#incident=ID`: find the event in the incident layers (OGC items by id) and open it. */
async function openIncident(catalog, id, select) {
  const layers = catalog.layers.filter(l => ['cad_incident', 'call', 'gunshot', 'tip'].includes(l.event_kind));
  for (const l of layers) {
    const r = await getJSON(`/ogc/collections/${l.id}/items/${encodeURIComponent(id)}?f=json`);
    if (!r.ok || !r.data || !r.data.geometry) continue;
    const p = r.data.properties || {};
    select({ id: Number(id), kind: l.event_kind, event_type: p.type || null, address: p.address || null,
      observed_at: p.observed_at || null, priority: p.priority ?? null, district: p.district || null,
      attrs: { rounds: p.rounds, confidence: p.confidence },
      lon: r.data.geometry.coordinates[0], lat: r.data.geometry.coordinates[1] }, { fly: true });
    return;
  }
  toast(`Incident ${id} was not found (or has no location)`, 'warn');
}

start();
