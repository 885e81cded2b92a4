// The proximity panel: for an incident, a right-clicked point or a searched address, the cameras
// that can see it (view cones drawn, stream/contact link), the nearest available units with ETA
// (route drawn when the API gives one, else a straight line) and recent events nearby.
import { pct } from './live.js';
import { h, $, getJSON, glyph, fmtDist, fmtEta, fmtTime, fmtAgo, destination, viewCone } from './util.js';


const EMPTY = { type: 'FeatureCollection', features: [] };
const DEFAULT_RANGE_M = 150; // metres: cameras with no published range (server default too)

const isStraight = u => u.eta_method === 'straight_line' || u.straight_line || u.routed === false;

/** A URL we may put in an href: http, https or rtsp only (never javascript: or data:). */
export function safeUrl(u) {
  if (typeof u !== 'string') return null;
  // a path on this server ('/static/demo/camera.html?id=…') resolves to it; anything else must be an
  // absolute URL (javascript:, data: and plain text such as a phone number are never links)
  const sameOrigin = u.startsWith('/') && !u.startsWith('//');
  try {
    const p = sameOrigin ? new URL(u, location.origin) : new URL(u);
    return ['http:', 'https:', 'rtsp:'].includes(p.protocol) ? p.href : null;
  } catch { return null; }
}

/** A stream or contact: a link when it is a URL, e-mail or phone number, else the text itself. */
export function contactLink(contact) {
  if (!contact) return h('span.muted', 'no link');
  if (safeUrl(contact)) return h('a.stream', { href: safeUrl(contact), target: '_blank', rel: 'noopener' }, 'Contact ↗');
  if (/^[^\s@]+@[^\s@]+$/.test(contact)) return h('a.stream', { href: `mailto:${contact}` }, 'E-mail');
  if (/^\+?[\d() .-]{7,}$/.test(contact)) return h('a.stream', { href: `tel:${contact.replace(/[^\d+]/g, '')}` }, contact);
  return h('span.contact', { title: 'contact' }, contact);
}

export class ProximityPanel {
  constructor({ map, catalog, root, onTask, kindInfo }) {
    Object.assign(this, { map, catalog, root, onTask, kindInfo });
    this.current = null;
    this.cache = new Map(); // event id -> proximity result pushed on /api/live
    this.seq = 0;
    document.addEventListener('keydown', e => { if (e.key === 'Escape' && this.current && !document.querySelector('dialog[open]')) this.close(); });
  }

  /** Open for a target {lon, lat, id?, kind?, event_type?, address?, observed_at?, title?}. */
  async open(target, { auto = false } = {}) {
    const seq = ++this.seq;
    this.current = target;
    this.extent = null;
    this.root.hidden = false;
    document.body.classList.add('detail-open');
    this.renderShell(target);
    if (!auto) $('#detail-title', this.root)?.focus();
    this.drawLocation(target);
    if (!this.catalog.services.nearest) {
      this.setBody(h('p.notice', 'Proximity service not available on this server yet: cameras, units and ETA cannot be computed.'));
      this.root.dataset.state = 'unavailable';
      return;
    }
    const pushed = target.id != null && this.cache.get(String(target.id));
    let res;
    if (pushed) res = { ok: true, data: pushed };
    else {
      const q = new URLSearchParams({ lon: target.lon.toFixed(7), lat: target.lat.toFixed(7) });
      if (target.id != null && target.kind) q.set('event_id', String(target.id)); // not in its own "recent nearby"
      res = await getJSON(`/api/nearest?${q}`);
    }
    if (seq !== this.seq) return; // another target was opened meanwhile
    if (!res.ok) {
      this.setBody(h('p.error', `Proximity lookup failed: ${res.error}`));
      this.root.dataset.state = 'error';
      return;
    }
    this.render(res.data);
  }

  /** A `proximity` message from /api/live: keep it, and show it when it is for the open incident. */
  pushed(msg) {
    const id = msg.event_id ?? msg.incident_id ?? msg.id;
    if (id == null) return;
    this.cache.set(String(id), msg);
    if (this.cache.size > 200) this.cache.delete(this.cache.keys().next().value);
    if (this.current && String(this.current.id) === String(id)) this.render(msg);
  }

  close() {
    this.seq++;
    this.current = null;
    this.onClose?.();
    this.root.hidden = true;
    document.body.classList.remove('detail-open');
    this.map.getSource('prox')?.setData(EMPTY);
    this.map.getSource('prox-loc')?.setData(EMPTY);
  }

  renderShell(t) {
    const info = t.kind ? this.kindInfo(t.kind) : null;
    const title = t.title || t.event_type || (info ? info.title : 'Location');
    const a = t.attrs || {};
    const sub = [t.address, t.observed_at ? `${fmtTime(t.observed_at, true)} (${fmtAgo(t.observed_at)})` : null,
      t.priority != null ? `priority ${t.priority}` : null,
      a.rounds != null ? `${a.rounds} round${Number(a.rounds) === 1 ? '' : 's'}` : null,
      a.confidence != null ? `${pct(a.confidence)}% confidence` : null, t.district].filter(Boolean).join(' · ');
    const badge = info ? h('span.kind-badge', glyph(info.icon, info.title)) : h('span.kind-badge', '◎');
    badge.style.setProperty('--c', info ? info.color : '#4dabf7');
    this.root.replaceChildren(
      h('header.detail-head', badge,
        h('div.dh-text', h('h2#detail-title', { tabindex: '-1' }, title),
          h('p.dh-sub', sub || `${t.lat.toFixed(5)}, ${t.lon.toFixed(5)}`),
          t.address ? null : h('p.dh-near#detail-near', { 'aria-live': 'polite' }),
          t.id != null ? h('p.dh-id', `${t.kind || 'event'} #${t.id}`) : null),
        h('button.icon-btn', { type: 'button', 'aria-label': 'Close panel', title: 'Close (Esc)', onclick: () => this.close() }, '✕')),
      h('div.detail-actions',
        h('button#task-btn.primary', { type: 'button', onclick: () => this.onTask(t) }, t.id != null ? '+ Task for this incident' : '+ Task here'),
        h('button', { type: 'button', onclick: () => this.map.flyTo({ center: [t.lon, t.lat], zoom: Math.max(this.map.getZoom(), 16) }) }, 'Zoom to'),
        h('button', { type: 'button', title: 'Fit the cameras and units found', onclick: () => this.fitAll() }, 'Show all'),
        // other parts of the client add their own (investigations: correlate, plates near, tip, case)
        (this.actions || []).filter(a => !a.when || a.when(t)).map(a =>
          h('button', { type: 'button', 'data-action': a.id, onclick: () => a.run(t) }, a.label))),
      h('div#detail-body', h('p.loading', 'Finding cameras and units…')));
    this.root.dataset.state = 'loading';
    this.root.dataset.target = t.id != null ? String(t.id) : `${t.lon.toFixed(5)},${t.lat.toFixed(5)}`;
    if (!t.address) this.nearAddress(t);
  }

  /** A point that came without an address (a gunshot, a unit, a right-click): the nearest one, to radio. */
  async nearAddress(t) {
    if (!this.catalog.services.reverse) return;
    const seq = this.seq;
    const q = new URLSearchParams({ lon: t.lon.toFixed(7), lat: t.lat.toFixed(7) });
    const r = await getJSON(`/api/reverse?${q}`);
    const el = $('#detail-near', this.root);
    if (seq !== this.seq || !el || !r.ok || !r.data || r.data.lon == null) return;
    const away = r.data.distance_m >= 1 ? ` (${fmtDist(r.data.distance_m)} away)` : '';
    el.textContent = `near ${r.data.normalized}${away}`;
    t.near = r.data.normalized;
    el.dataset.address = r.data.normalized;
  }

  /** Replace each routed unit's straight line by its drive path from /api/route, as it arrives. */
  drawRoutes(units, loc, feats) {
    const seq = this.seq;
    units.filter(u => !u.route && u.lon != null && u.eta_method !== 'straight_line').slice(0, 5).forEach(async u => {
      const q = new URLSearchParams({ from: `${u.lon},${u.lat}`, to: `${loc[0]},${loc[1]}` });
      const r = await getJSON(`/api/route?${q}`);
      if (!r.ok || seq !== this.seq || !r.data || !r.data.geometry) return;
      const i = feats.findIndex(f => f.properties.role === 'line' && f.properties.id === String(u.id));
      if (i < 0) return;
      feats[i] = { type: 'Feature', geometry: r.data.geometry, properties: { role: 'route', id: String(u.id) } };
      this.map.getSource('prox')?.setData({ type: 'FeatureCollection', features: feats });
    });
  }

  setBody(...els) { $('#detail-body', this.root).replaceChildren(...els.filter(Boolean)); }

  drawLocation(t) {
    this.map.getSource('prox')?.setData(EMPTY);
    this.map.getSource('prox-loc')?.setData({ type: 'FeatureCollection', features: [
      { type: 'Feature', geometry: { type: 'Point', coordinates: [t.lon, t.lat] }, properties: {} }] });
  }

  render(d) {
    const t = this.current;
    const loc = d.location && d.location.lon != null ? [d.location.lon, d.location.lat] : [t.lon, t.lat];
    const feats = [];
    const cams = (d.cameras || []).map(c => {
      // Camera position: given, or back along the bearing (camera → location) by its distance.
      const pos = c.lon != null ? [c.lon, c.lat]
        : (c.bearing_deg != null && c.distance_m != null ? destination(loc, c.bearing_deg + 180, c.distance_m) : null);
      if (pos) {
        const cone = c.cone || viewCone(pos, c.heading_deg, c.fov_deg, c.range_m ?? DEFAULT_RANGE_M);
        feats.push({ type: 'Feature', geometry: cone, properties: { role: 'cone', sees: !!c.sees_location, id: String(c.id) } });
        feats.push({ type: 'Feature', geometry: { type: 'Point', coordinates: pos }, properties: { role: 'camera', sees: !!c.sees_location, id: String(c.id) } });
      }
      return c;
    });
    const units = (d.units || []).map(u => {
      const pos = u.lon != null ? [u.lon, u.lat] : null;
      const route = u.route && (u.route.type ? u.route : (Array.isArray(u.route) ? { type: 'LineString', coordinates: u.route } : null));
      if (route) feats.push({ type: 'Feature', geometry: route, properties: { role: 'route', id: String(u.id) } });
      else if (pos) feats.push({ type: 'Feature', geometry: { type: 'LineString', coordinates: [pos, loc] }, properties: { role: 'line', id: String(u.id) } });
      if (pos) feats.push({ type: 'Feature', geometry: { type: 'Point', coordinates: pos }, properties: { role: 'unit', id: String(u.id) } });
      return u;
    });
    this.map.getSource('prox')?.setData({ type: 'FeatureCollection', features: feats });
    this.drawRoutes(units, loc, feats);
    const seeing = cams.filter(c => c.sees_location).length;
    const recent = (d.recent || []).filter(r => t.id == null || String(r.id) !== String(t.id)); // not the incident itself
    const straight = units.some(u => isStraight(u));
    const body = [
      d.location && d.location.source === 'geocoded' && d.location.geocode
        ? h('p.geo-note', `Geocoded: ${d.location.geocode.normalized || ''} (${d.location.geocode.match_type || ''}, score ${d.location.geocode.score ?? ''})`) : null,
      h('section.prox-sec#prox-cameras', h('h3', 'Cameras ', h('span.count', `${seeing} of ${cams.length} see it`)),
        cams.length ? h('ul.prox-list', cams.map(c => this.cameraItem(c))) : h('p.muted', 'No camera within range.')),
      h('section.prox-sec#prox-units', h('h3', 'Nearest available units ', h('span.count', String(units.length))),
        units.length ? h('ul.prox-list', units.map(u => this.unitItem(u))) : h('p.muted', 'No available unit with a fresh position nearby.'),
        straight ? h('p.footnote#eta-note', '* straight-line estimate: no drive route was found for this unit (off the street network or too far), so the ETA assumes a straight line at city speed.') : null),
      h('section.prox-sec#prox-recent', h('h3', 'Recent nearby ', h('span.count', String(recent.length))),
        recent.length ? h('ul.prox-list', recent.map(r => this.recentItem(r))) : h('p.muted', 'Nothing recent nearby.')),
    ];
    this.setBody(...body);
    this.root.dataset.state = 'ready';
    this.extent = feats.filter(f => f.geometry.type === 'Point').map(f => f.geometry.coordinates).concat([loc]);
  }

  /** Fit the map to the location and everything found (on request: the map never jumps by itself). */
  fitAll() {
    const pts = this.extent || [];
    if (pts.length < 2) return;
    const b = pts.reduce((a, p) => [Math.min(a[0], p[0]), Math.min(a[1], p[1]), Math.max(a[2], p[0]), Math.max(a[3], p[1])],
      [Infinity, Infinity, -Infinity, -Infinity]);
    this.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 60, maxZoom: 17, duration: 600 });
  }

  highlight(id) { this.map.setFilter('prox-hl', ['==', ['get', 'id'], id == null ? '' : String(id)]); }

  cameraItem(c) {
    const link = safeUrl(c.stream_url) ? h('a.stream', { href: safeUrl(c.stream_url), target: '_blank', rel: 'noopener' }, 'Stream ↗')
      : safeUrl(c.snapshot_url) ? h('a.stream', { href: safeUrl(c.snapshot_url), target: '_blank', rel: 'noopener' }, 'Snapshot ↗')
      : contactLink(c.contact);
    return h('li.cam', { 'data-camera': c.id, 'data-sees': String(!!c.sees_location), tabindex: '0', role: 'button',
      title: 'Open the camera card', onclick: e => { if (!e.target.closest('a')) this.onCamera?.(c.id); },
      onkeydown: e => { if (e.key === 'Enter') this.onCamera?.(c.id); },
      onmouseenter: () => this.highlight(c.id), onmouseleave: () => this.highlight(null) },
      h('span.sees', { title: c.sees_location ? 'the location is inside its view cone' : 'nearby, but not looking at it' }, c.sees_location ? '◉ sees' : '○'),
      h('span.pl-main', h('span.pl-title', c.name || c.id), h('span.pl-sub', [c.owner, c.bearing_deg != null ? `bearing ${Math.round(c.bearing_deg)}°` : null].filter(Boolean).join(' · '))),
      h('span.pl-num', fmtDist(c.distance_m)), link);
  }

  unitItem(u) {
    const straight = isStraight(u);
    return h('li.unit', { 'data-unit': u.id, tabindex: '0', role: 'button', title: 'Open the unit card',
      onclick: () => this.onUnit?.(u.id), onkeydown: e => { if (e.key === 'Enter') this.onUnit?.(u.id); },
      onmouseenter: () => this.highlight(u.id), onmouseleave: () => this.highlight(null) },
      h('span.status', { 'data-status': u.status }, u.status || ''),
      h('span.pl-main', h('span.pl-title', u.callsign || u.id),
        h('span.pl-sub', `${fmtDist(u.distance_m)} away · position ${u.position_age_s != null ? u.position_age_s + ' s' : '?'} old`)),
      h('span.pl-num.eta', { title: straight ? 'straight-line estimate (not routed)' : 'drive time over the street network' },
        `ETA ${fmtEta(u.eta_s)}${straight ? ' *' : ''}`));
  }

  recentItem(r) {
    const info = this.kindInfo(r.kind);
    const badge = h('span.kind-badge.sm', glyph(info.icon, info.title));
    badge.style.setProperty('--c', info.color);
    const open = r.lon != null ? () => this.open({ id: r.id, kind: r.kind, event_type: r.type || r.event_type, address: r.address,
      observed_at: r.observed_at, priority: r.priority, lon: r.lon, lat: r.lat }) : null;
    return h('li.recent', { 'data-id': r.id, tabindex: open ? '0' : null, role: open ? 'button' : null, onclick: open,
      onkeydown: open ? e => { if (e.key === 'Enter') open(); } : null }, badge,
      h('span.pl-main', h('span.pl-title', r.event_type || r.type || r.plate || info.title),
        h('span.pl-sub', [r.address, r.observed_at ? fmtAgo(r.observed_at) : null].filter(Boolean).join(' · '))),
      h('span.pl-num', fmtDist(r.distance_m)));
  }
}
