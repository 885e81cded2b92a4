// The live picture: one EventSource on /api/live. New events go on the map (a GeoJSON overlay,
// drawn within a second, before any tile refresh) and at the top of the feed panel, which reads
// like a dispatcher's screen (type, priority, address, time ago). Incidents flash and queue for
// the analyst (attention.js); they never open the panel by themselves.
import { h, fmtTime, fmtAgo, getJSON, throttle, glyph } from './util.js';
import { isUrgent } from './attention.js';

const FEED_MAX = 200, MAP_MAX = 2000;
const INCIDENT_KINDS = new Set(['cad_incident', 'call', 'gunshot']);

export class LiveFeed {
  constructor({ map, catalog, layers, listEl, countEl, statusEl, prioEl, attention, onSelect, onProximity, onAlert }) {
    Object.assign(this, { map, catalog, layers, listEl, countEl, statusEl, prioEl, attention, onSelect, onProximity, onAlert });
    this.kinds = {};
    for (const l of catalog.layers) if (l.event_kind) this.kinds[l.event_kind] = { icon: l.style.icon, color: l.style.color, title: l.title, layer: l.id };
    this.features = [];
    this.flashes = [];
    this.refreshUnits = throttle(() => layers.refresh('units'), 5000);
    this.refreshEvents = throttle(kinds => kinds.forEach(k => this.kinds[k] && layers.refresh(this.kinds[k].layer)), 30000);
    this.refreshTasks = throttle(() => layers.refresh('tasks'), 2000);
    this.listEl.replaceChildren(h('li.empty', 'Waiting for live events…'));
    this.addresses = new Map(); // "lon,lat" rounded to ~1 m -> nearest address text (GET /api/reverse)
    this.lookups = [];
    this.prioEl?.addEventListener('change', () => this.filterRows());
    setInterval(() => this.tickAges(), 30000);
  }

  kindInfo(kind) { return this.kinds[kind] || { icon: '•', color: '#adb5bd', title: kind }; }

  /** Every message has an id; on a reconnect EventSource resumes after the last one by itself
   *  (Last-Event-ID). When the browser gives up (an error status while the server restarts) we open
   *  a new stream from the last id we saw (?since_id=). `resync` means this client fell behind
   *  (resume from its since_id at once) or asked for messages no longer kept ("expired": reload the
   *  layers, continue from the newest). */
  connect(sinceId) {
    if (!this.catalog.services.live) { this.setStatus('off', 'live stream unavailable'); return; }
    if (sinceId) this.lastId = sinceId;
    const es = new EventSource(this.lastId ? `/api/live?since_id=${encodeURIComponent(this.lastId)}` : '/api/live');
    this.es = es;
    const on = (type, fn) => es.addEventListener(type, m => { if (m.lastEventId) this.lastId = m.lastEventId; fn(m); });
    on('resync', m => {
      const r = JSON.parse(m.data);
      if (r.reason === 'expired') {
        this.refreshUnits();
        this.refreshEvents(Object.keys(this.kinds));
        this.refreshTasks();
        return;  // the server continues from the newest message on this stream
      }
      es.close();
      this.connect(r.since_id);
    });
    es.onopen = () => this.setStatus('on', 'live');
    es.onerror = () => {
      this.setStatus('wait', 'reconnecting…');
      if (es.readyState !== EventSource.CLOSED || this.es !== es) return;  // the browser retries by itself
      clearTimeout(this.retry);
      this.retry = setTimeout(() => { if (this.es === es) this.connect(); }, 2000 + Math.random() * 1000);
    };
    on('event', m => this.onEvent(JSON.parse(m.data)));
    on('unit', () => this.refreshUnits());
    on('camera', () => { this.layers.refresh('cameras'); this.layers.refresh('camera_cones'); });
    on('task', () => this.refreshTasks());
    on('proximity', m => this.onProximity(JSON.parse(m.data)));
    on('alert', m => this.onAlert?.(JSON.parse(m.data)));
  }

  setStatus(state, text) {
    this.statusEl.dataset.state = state;
    this.statusEl.textContent = text;
  }

  onEvent(ev) {
    const receivedAt = Date.now(); // ms since the epoch: lets tests measure commit → browser delay
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
      if (li) { li.dataset.flashed = 'true'; li.classList.add('unseen'); }
      this.attention?.queued(ev, isUrgent(ev));
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
        evs.push({ id: f.id, kind: l.event_kind, event_type: p.type, priority: p.priority, address: p.address, attrs: { rounds: p.rounds, confidence: p.confidence },
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
    const title = eventTitle(ev, info);
    const where = ev.address || (ev.lon != null ? 'locating address…' : 'no location');
    const badge = h('span.kind-badge', { title: info.title, 'aria-hidden': 'true' }, glyph(info.icon, info.title));
    badge.style.setProperty('--c', info.color);
    const li = h('li.feed-item.new', { 'data-id': ev.id, 'data-kind': ev.kind, 'data-p': ev.priority ?? '' },
      h('button', { type: 'button', onclick: () => { this.attention?.seen(ev.id); this.onSelect(ev, { fly: true }); },
        'aria-label': `${info.title}: ${title} at ${where}` },
        badge,
        h('span.fi-main', h('span.fi-title', title, ev.priority != null ? h('span.prio', { 'data-p': ev.priority }, `P${ev.priority}`) : null),
          h('span.fi-where', where)),
        h('span.fi-meta', h('time', { datetime: ev.observed_at, title: fmtTime(ev.observed_at, true) }, fmtAgo(ev.observed_at)),
          h('span.fi-kind', info.title), ev.district ? h('span.fi-dist', ev.district) : null)));
    if (!ev.address && ev.lon != null) this.locate(ev, li);
    li.hidden = !this.rowVisible(li);
    if (!live) { li.classList.remove('new'); li.classList.add('earlier'); this.listEl.append(li); }
    else {
      this.listEl.prepend(li);
      setTimeout(() => li.classList.remove('new'), 4000);
      while (this.listEl.children.length > FEED_MAX) this.listEl.lastElementChild.remove();
    }
    this.countRows();
  }

  /** The feed counter is what the feed holds now (history and live), filtered as shown. */
  countRows() {
    const all = this.listEl.querySelectorAll('li.feed-item');
    const shown = [...all].filter(li => !li.hidden).length;
    this.countEl.textContent = String(shown);
    this.countEl.title = shown === all.length ? `${shown} events in the feed` : `${shown} of ${all.length} events shown (filters)`;
  }

  /** Rows follow the layer panel (a kind whose layer is off is hidden) and the priority filter. */
  rowVisible(li) {
    const k = this.kinds[li.dataset.kind];
    if (k && this.layers.visible.get(k.layer) === false) return false;
    const max = Number(this.prioEl?.value || 0);
    if (max && !(li.dataset.p !== '' && Number(li.dataset.p) <= max)) return false;
    return true;
  }

  filterRows() {
    for (const li of this.listEl.querySelectorAll('li.feed-item')) li.hidden = !this.rowVisible(li);
    this.countRows();
  }

  tickAges() {
    for (const t of this.listEl.querySelectorAll('li.feed-item time[datetime]')) t.textContent = fmtAgo(t.getAttribute('datetime'));
  }

  /** A row without an address shows the nearest one (as the panel does), two lookups at a time. */
  locate(ev, li) {
    const key = `${ev.lon.toFixed(5)},${ev.lat.toFixed(5)}`;
    const show = txt => { const el = li.querySelector('.fi-where'); if (el) { el.textContent = txt; el.dataset.near = 'true'; } };
    if (this.addresses.has(key)) { show(this.addresses.get(key)); return; }
    this.lookups.push(async () => {
      const r = await getJSON(`/api/reverse?lon=${ev.lon.toFixed(7)}&lat=${ev.lat.toFixed(7)}`);
      const txt = r.ok && r.data && r.data.normalized ? `near ${r.data.normalized}` : `${ev.lat.toFixed(5)}, ${ev.lon.toFixed(5)}`;
      this.addresses.set(key, txt);
      ev.near = txt;
      show(txt);
    });
    this.pump();
  }

  pump() {
    while ((this.running || 0) < 2 && this.lookups.length) {
      this.running = (this.running || 0) + 1;
      this.lookups.shift()().finally(() => { this.running -= 1; this.pump(); });
    }
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
    this.filterRows();
    const on = Object.entries(this.kinds).filter(([, v]) => this.layers.visible.get(v.layer)).map(([k]) => k);
    if (!this.map.getLayer('live-points')) return;
    this.map.setFilter('live-points', ['in', ['get', 'kind'], ['literal', on]]);
    this.map.setLayoutProperty('live-points', 'visibility', live ? 'visible' : 'none');
  }
}

/** What a dispatcher calls it: the CAD type, a plate, or the kind with its telling details. */
export function eventTitle(ev, info) {
  const a = ev.attrs || {};
  if (ev.kind === 'gunshot') {
    const bits = [a.rounds != null ? `${a.rounds} round${Number(a.rounds) === 1 ? '' : 's'}` : null,
      a.confidence != null ? `${pct(a.confidence)}% confidence` : null].filter(Boolean);
    return `Gunshot${bits.length ? ' · ' + bits.join(', ') : ''}`;
  }
  return ev.event_type || (ev.plate ? `Plate ${ev.plate}` : info.title);
}

/** Confidence as a whole percent: stored as a fraction 0-1 (ingest turns feeds' 0-100 into that). */
export const pct = c => Math.round(Number(c) <= 1 ? Number(c) * 100 : Number(c));
