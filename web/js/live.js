// The live picture: one EventSource on /api/live. New events go on the map (a GeoJSON overlay,
// drawn within a second, before any tile refresh) and at the top of the feed panel; incidents
// flash and, when auto-open is on, open their proximity panel.
import { h, fmtTime, fmtAgo, getJSON, throttle, glyph } from './util.js';

const FEED_MAX = 200, MAP_MAX = 2000;
const INCIDENT_KINDS = new Set(['cad_incident', 'call', 'gunshot']);

export class LiveFeed {
  constructor({ map, catalog, layers, listEl, countEl, statusEl, autoOpenEl, onSelect, onProximity, onAlert }) {
    Object.assign(this, { map, catalog, layers, listEl, countEl, statusEl, autoOpenEl, onSelect, onProximity, onAlert });
    this.kinds = {};
    for (const l of catalog.layers) if (l.event_kind) this.kinds[l.event_kind] = { icon: l.style.icon, color: l.style.color, title: l.title, layer: l.id };
    this.features = [];
    this.flashes = [];
    this.count = 0;
    this.refreshUnits = throttle(() => layers.refresh('units'), 5000);
    this.refreshEvents = throttle(kinds => kinds.forEach(k => this.kinds[k] && layers.refresh(this.kinds[k].layer)), 30000);
    this.refreshTasks = throttle(() => layers.refresh('tasks'), 2000);
    this.listEl.replaceChildren(h('li.empty', 'Waiting for live events…'));
  }

  kindInfo(kind) { return this.kinds[kind] || { icon: '•', color: '#adb5bd', title: kind }; }

  connect() {
    if (!this.catalog.services.live) { this.setStatus('off', 'live stream unavailable'); return; }
    const es = new EventSource('/api/live');
    this.es = es;
    es.onopen = () => this.setStatus('on', 'live');
    es.onerror = () => this.setStatus(es.readyState === EventSource.CLOSED ? 'off' : 'wait', 'reconnecting…');
    es.addEventListener('event', m => this.onEvent(JSON.parse(m.data)));
    es.addEventListener('unit', () => this.refreshUnits());
    es.addEventListener('camera', () => { this.layers.refresh('cameras'); this.layers.refresh('camera_cones'); });
    es.addEventListener('task', () => this.refreshTasks());
    es.addEventListener('proximity', m => this.onProximity(JSON.parse(m.data)));
    es.addEventListener('alert', m => this.onAlert?.(JSON.parse(m.data)));
  }

  setStatus(state, text) {
    this.statusEl.dataset.state = state;
    this.statusEl.textContent = text;
  }

  onEvent(ev) {
    const receivedAt = Date.now(); // ms since the epoch: lets tests measure commit → browser delay
    this.count += 1;
    this.countEl.textContent = String(this.count);
    const info = this.kindInfo(ev.kind);
    if (ev.lon != null && ev.lat != null) {
      const f = { type: 'Feature', id: ev.id, geometry: { type: 'Point', coordinates: [ev.lon, ev.lat] },
        properties: { id: ev.id, kind: ev.kind, color: info.color, event_type: ev.event_type || '', priority: ev.priority,
          observed_at: ev.observed_at, address: ev.address || '', live: true } };
      this.features.unshift(f);
      if (this.features.length > MAP_MAX) this.features.length = MAP_MAX;
      this.map.getSource('live')?.setData({ type: 'FeatureCollection', features: this.features });
    }
    this.prepend(ev, info);
    const item = this.listEl.querySelector(`li[data-id="${ev.id}"]`);
    if (item) item.dataset.receivedAt = String(receivedAt);
    this.refreshEvents([ev.kind]);
    if (INCIDENT_KINDS.has(ev.kind) && ev.lon != null) {
      this.flash(ev);
      const li = this.listEl.querySelector(`li[data-id="${ev.id}"]`);
      if (li) li.dataset.flashed = 'true';
      if (this.autoOpenEl.checked) this.onSelect(ev, { auto: true });
    }
  }

  /** Seed the feed with the latest incidents (OGC API items, newest first), below any live ones. */
  async loadHistory(n = 25) {
    if (!this.catalog.services.ogc) return;
    const layers = this.catalog.layers.filter(l => ['cad_incident', 'call', 'gunshot'].includes(l.event_kind));
    const pages = await Promise.all(layers.map(l =>
      getJSON(`/ogc/collections/${l.id}/items?f=json&sortby=-observed_at&limit=${n}`).then(r => ({ l, r }))));
    const evs = [];
    for (const { l, r } of pages) {
      if (!r.ok || !r.data || !Array.isArray(r.data.features)) continue;
      for (const f of r.data.features) {
        if (!f.geometry) continue;
        const p = f.properties || {};
        evs.push({ id: f.id, kind: l.event_kind, event_type: p.type, priority: p.priority, address: p.address,
          district: p.district, observed_at: p.observed_at, lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1] });
      }
    }
    evs.sort((a, b) => (a.observed_at < b.observed_at ? 1 : -1));
    const shown = new Set([...this.listEl.querySelectorAll('li.feed-item')].map(li => li.dataset.id));
    for (const ev of evs.slice(0, n)) if (!shown.has(String(ev.id))) this.add(ev, this.kindInfo(ev.kind), false);
  }

  prepend(ev, info) { this.add(ev, info, true); }

  add(ev, info, live) {
    this.listEl.querySelector('li.empty')?.remove();
    const title = ev.event_type || (ev.plate ? `Plate ${ev.plate}` : info.title);
    const where = ev.address || (ev.lon != null ? `${ev.lat.toFixed(5)}, ${ev.lon.toFixed(5)}` : 'no location');
    const badge = h('span.kind-badge', { title: info.title, 'aria-hidden': 'true' }, glyph(info.icon, info.title));
    badge.style.setProperty('--c', info.color);
    const li = h('li.feed-item.new', { 'data-id': ev.id, 'data-kind': ev.kind },
      h('button', { type: 'button', onclick: () => this.onSelect(ev, { fly: true }),
        'aria-label': `${info.title}: ${title} at ${where}` },
        badge,
        h('span.fi-main', h('span.fi-title', title, ev.priority != null ? h('span.prio', { 'data-p': ev.priority }, `P${ev.priority}`) : null),
          h('span.fi-where', where)),
        h('span.fi-meta', h('time', { datetime: ev.observed_at, title: fmtTime(ev.observed_at, true) },
          live ? fmtTime(ev.observed_at) : fmtAgo(ev.observed_at)),
          h('span.fi-kind', info.title), ev.district ? h('span.fi-dist', ev.district) : null)));
    if (!live) { li.classList.remove('new'); li.classList.add('earlier'); this.listEl.append(li); return; }
    this.listEl.prepend(li);
    setTimeout(() => li.classList.remove('new'), 4000);
    while (this.listEl.children.length > FEED_MAX) this.listEl.lastElementChild.remove();
  }

  /** A ring that grows and fades over 3 s around a new incident. */
  flash(ev) {
    this.flashes.push({ t0: performance.now(), coords: [ev.lon, ev.lat], color: this.kindInfo(ev.kind).color });
    if (this.flashes.length === 1) requestAnimationFrame(t => this.animate(t));
  }

  animate(now) {
    this.flashes = this.flashes.filter(f => now - f.t0 < 3000);
    const src = this.map.getSource('flash');
    const feats = this.flashes.map(f => {
      const p = (now - f.t0) / 3000;
      return { type: 'Feature', geometry: { type: 'Point', coordinates: f.coords },
        properties: { r: 6 + 34 * p, o: 1 - p, color: f.color } };
    });
    src?.setData({ type: 'FeatureCollection', features: feats });
    if (this.flashes.length) requestAnimationFrame(t => this.animate(t));
  }

  /** Hide live points of event kinds whose layer is switched off, and all of them during replay. */
  applyFilter(live) {
    const on = Object.entries(this.kinds).filter(([, v]) => this.layers.visible.get(v.layer)).map(([k]) => k);
    if (!this.map.getLayer('live-points')) return;
    this.map.setFilter('live-points', ['in', ['get', 'kind'], ['literal', on]]);
    this.map.setLayoutProperty('live-points', 'visibility', live ? 'visible' : 'none');
  }
}
