// What happened minute by minute while the time window is replayed: the window's events come from
// GET /api/replay (time order, keyset pages) once per replayed window, and the slider's minute
// then only filters them in the browser: the last TRAIL minutes before it are drawn as fading
// rings over the tile layers, and the label counts what happened so far. Scrubbing or playing
// costs no request. Plate reads are included when the session stated its purpose (server rule).
import { getJSON } from './util.js';

const EMPTY = { type: 'FeatureCollection', features: [] };
const TRAIL = 10 * 60e3;      // ms of events highlighted before the slider's minute
const PAGE = 5000;
const MAX_EVENTS = 50000;     // a day of a busy city; beyond it the tiles still show everything
const MAX_SPAN = 7 * 86400e3; // longer windows (30 d, 1 y, all) replay through the tiles alone

export class Replay {
  constructor({ map, kindInfo }) {
    Object.assign(this, { map, kindInfo });
    this.key = null;            // the loaded window `${from}/${to}`
    this.times = [];            // observed_at in ms, ascending (binary search for counts)
    this.loading = null;
    this.shown = [];            // ids drawn now (tests, console)
  }

  addLayers() {
    this.map.addSource('replay', { type: 'geojson', data: EMPTY });
    this.map.addLayer({ id: 'replay-trail', type: 'circle', source: 'replay', filter: ['==', ['get', 't'], -1],
      paint: { 'circle-radius': 9, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': ['get', 'color'],
        'circle-stroke-width': 2.5, 'circle-stroke-opacity': ['get', 'fresh'] } });
  }

  /** The time window changed (TimeWindow's onChange value and its replayed range). */
  async update(w, range) {
    const [from, to] = range;
    if (w.live || to - from > MAX_SPAN) { this.clear(); return; }
    const key = `${from}/${to}`;
    if (key !== this.key) await this.load(key, from, to);
    if (key !== this.key) return; // a newer window was asked for meanwhile
    this.at(w.end);
  }

  async load(key, from, to) {
    this.key = key;
    this.events = [];
    this.times = [];
    this.truncated = false;
    const iso = ms => new Date(ms).toISOString();
    let after = null;
    do {
      const q = new URLSearchParams({ from: iso(from), to: iso(to), limit: PAGE, ...(after ? { after } : {}) });
      const r = await getJSON(`/api/replay?${q}`, { timeout: 30000 });
      if (this.key !== key) return;
      if (!r.ok) { this.error = r.error; break; }
      this.events.push(...r.data.events);
      after = r.data.next;
      this.alprOmitted = r.data.alpr_omitted;
    } while (after && this.events.length < MAX_EVENTS);
    this.truncated = !!after;
    this.times = this.events.map(e => Date.parse(e.observed_at));
    const data = { type: 'FeatureCollection', features: this.events.map((e, i) => ({ type: 'Feature', id: e.id,
      geometry: { type: 'Point', coordinates: [e.lon, e.lat] },
      properties: { id: e.id, kind: e.kind, t: this.times[i], color: this.kindInfo(e.kind).color } })) };
    this.map.getSource('replay')?.setData(data);
    document.body.dataset.replayLoaded = String(this.events.length);
  }

  /** Events of [end - TRAIL, end], fading with age; and how many happened since the window began. */
  at(end) {
    const lo = end - TRAIL;
    const first = lowerBound(this.times, lo), last = lowerBound(this.times, end + 1);
    this.shown = this.events.slice(first, last).map(e => e.id);
    this.count = last;
    if (this.map.getLayer('replay-trail')) {
      this.map.setFilter('replay-trail', ['all', ['>=', ['get', 't'], lo], ['<=', ['get', 't'], end]]);
      this.map.setPaintProperty('replay-trail', 'circle-stroke-opacity',
        ['interpolate', ['linear'], ['get', 't'], lo, 0.15, end, 1]);
    }
    document.body.dataset.replayShown = String(this.shown.length);
  }

  /** The label's addition: 'n events so far' (and a note when the window held too many). */
  describe() {
    if (!this.key || this.count == null) return '';
    return ` · ${this.count.toLocaleString()} events${this.truncated ? '+' : ''} so far`;
  }

  clear() {
    if (this.key === null) return;
    this.key = null; this.events = []; this.times = []; this.shown = []; this.count = null;
    this.map.getSource('replay')?.setData(EMPTY);
    delete document.body.dataset.replayLoaded;
  }
}

function lowerBound(a, x) {
  let lo = 0, hi = a.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (a[mid] < x) lo = mid + 1; else hi = mid; }
  return lo;
}
