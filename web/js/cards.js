// Cards for the things on the map that are not incidents: a camera (name, owner, status, view
// cone, stream, snapshot or contact) and a unit (status, assigned incident, position age). They open in the detail
// panel, are drawn on the map and are recorded in the URL (#camera=ID, #unit=ID).
import { h, $, getJSON, fmtAgo, fmtTime, viewCone } from './util.js';
import { safeUrl, contactLink } from './proximity.js';
import * as urlstate from './urlstate.js';

const OWNERS = { agency: 'Agency camera', partner: 'Partner camera', private: 'Registered private camera' };

function shell(ctx, { kind, id, title, icon, color, sub }) {
  const { panel } = ctx;
  panel.seq++;
  const badge = h('span.kind-badge', icon);
  badge.style.setProperty('--c', color);
  panel.root.hidden = false;
  document.body.classList.add('detail-open');
  panel.root.replaceChildren(
    h('header.detail-head', badge,
      h('div.dh-text', h('h2#detail-title', { tabindex: '-1' }, title), h('p.dh-sub', sub), h('p.dh-id', `${kind} ${id}`)),
      h('button.icon-btn', { type: 'button', 'aria-label': 'Close panel', title: 'Close (Esc)', onclick: () => panel.close() }, '✕')),
    h('div#detail-body', h('p.loading', 'Loading…')));
  panel.root.dataset.target = `${kind}:${id}`;
  panel.root.dataset.state = 'loading';
  return panel.seq;
}

async function feature(layer, id) {
  return getJSON(`/ogc/collections/${layer}/items/${encodeURIComponent(id)}?f=json`);
}

/** Open the card's shell, record it in the URL and fetch its feature: null when another card or
 * incident was opened meanwhile, or when it was not found (the card then says so). */
async function load(ctx, { kind, layer, id, ...shown }) {
  const { panel } = ctx;
  const seq = shell(ctx, { kind, id, ...shown });
  urlstate.select(kind, id);
  const r = await feature(layer, id);
  if (seq !== panel.seq) return null;
  if (!r.ok || !r.data?.geometry) {
    $('#detail-body', panel.root).replaceChildren(h('p.error', `${shown.title}: ${r.error || 'not found'}`));
    panel.root.dataset.state = 'error';
    return null;
  }
  const [lon, lat] = r.data.geometry.coordinates;
  panel.current = { lon, lat, card: kind, id };
  return r;
}

function facts(rows) {
  return h('dl.facts', rows.filter(([, v]) => v != null && v !== '').map(([k, v]) => [h('dt', k), h('dd', v)]));
}

export async function openCamera(ctx, id) {
  const { panel, map } = ctx;
  const r = await load(ctx, { kind: 'camera', layer: 'cameras', id, title: `Camera ${id}`, icon: '📷', color: '#0c8599',
    sub: 'camera registry' });
  if (!r) return;
  const p = r.data.properties || {};
  const pos = r.data.geometry.coordinates;
  $('#detail-title', panel.root).textContent = p.name || `Camera ${id}`;
  $('.dh-sub', panel.root).textContent = [OWNERS[p.owner] || p.owner, p.project, p.kind].filter(Boolean).join(' · ');
  const stream = safeUrl(p.stream_url), snapshot = safeUrl(p.snapshot_url);
  const links = [
    stream && h('a.stream#cam-stream', { href: stream, target: '_blank', rel: 'noopener' }, 'Open stream ↗'),
    snapshot && h('a.stream#cam-snapshot', { href: snapshot, target: '_blank', rel: 'noopener' }, 'Snapshot ↗')].filter(Boolean);
  $('#detail-body', panel.root).replaceChildren(
    h('p.cam-status', { 'data-status': p.status || '' }, `● ${p.status || 'status unknown'}`),
    facts([['Heading', p.heading_deg != null ? `${Math.round(p.heading_deg)}°` : 'none (PTZ / all round)'],
      ['Field of view', p.fov_deg != null ? `${Math.round(p.fov_deg)}°` : null],
      ['Range', p.range_m != null ? `${Math.round(p.range_m)} m` : null],
      ['Position', `${pos[1].toFixed(5)}, ${pos[0].toFixed(5)}`]]),
    h('div.detail-actions#cam-links', links.length ? links : [h('span.muted', 'No stream or snapshot in the registry: '), contactLink(p.contact)]));
  const cone = viewCone(pos, p.heading_deg, p.fov_deg, p.range_m ?? 150);
  map.getSource('prox')?.setData({ type: 'FeatureCollection', features: [
    { type: 'Feature', geometry: cone, properties: { role: 'cone', sees: true, id: String(id) } },
    { type: 'Feature', geometry: r.data.geometry, properties: { role: 'camera', sees: true, id: String(id) } }] });
  map.getSource('prox-loc')?.setData({ type: 'FeatureCollection', features: [] });
  panel.root.dataset.state = 'ready';
}

export async function openUnit(ctx, id) {
  const { panel, map, catalog } = ctx;
  const r = await load(ctx, { kind: 'unit', layer: 'units', id, title: `Unit ${id}`, icon: '🚓', color: '#2f9e44',
    sub: 'patrol unit' });
  if (!r) return;
  const p = r.data.properties || {};
  const pos = r.data.geometry.coordinates;
  const st = (catalog.layers.find(l => l.id === 'units')?.style.categories || []).find(c => c[0] === p.status);
  $('#detail-title', panel.root).textContent = p.callsign || `Unit ${id}`;
  $('.dh-sub', panel.root).textContent = [p.type, p.district ? `district ${p.district}` : null].filter(Boolean).join(' · ');
  const status = h('p.unit-status', { 'data-status': p.status || '' }, `● ${st ? st[2] : p.status || 'status unknown'}`);
  if (st) status.style.color = st[1];
  const age = p.position_age_s;
  // The incident the feed says the unit is assigned to: opens like any incident once it is in the
  // event store, else the CAD number alone.
  const assigned = p.incident_id == null ? null : p.incident_event_id != null
    ? h('a#unit-incident', { href: `#incident=${p.incident_event_id}`,
      onclick: e => { e.preventDefault(); urlstate.open('incident', p.incident_event_id); } }, `CAD ${p.incident_id} ↗`)
    : `CAD ${p.incident_id}`;
  $('#detail-body', panel.root).replaceChildren(status,
    facts([['Assigned incident', assigned],
      ['Position', `${pos[1].toFixed(5)}, ${pos[0].toFixed(5)}`],
      ['Position age', age != null ? `${fmtAgo(p.observed_at)}${age > 300 ? ' (stale)' : ''}` : null],
      ['Last report', p.observed_at ? fmtTime(p.observed_at, true) : null],
      ['Speed', p.speed_kmh != null ? `${Math.round(p.speed_kmh)} km/h` : null],
      ['Heading', p.heading_deg != null ? `${Math.round(p.heading_deg)}°` : null]]));
  map.getSource('prox')?.setData({ type: 'FeatureCollection', features: [
    { type: 'Feature', geometry: r.data.geometry, properties: { role: 'unit', id: String(id) } }] });
  map.getSource('prox-loc')?.setData({ type: 'FeatureCollection', features: [] });
  panel.root.dataset.state = 'ready';
}
