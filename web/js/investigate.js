// Investigations in the map: the stated purpose (reason + case number) every plate query carries,
// plate search and trajectories, plates near an incident, co-travel, the correlation timeline, the
// tip form and the case view with its exports. One panel (#inv) above the proximity panel.
import { h, $, getJSON, fmtTime, fmtDist, toast, glyph } from './util.js';

const EMPTY = { type: 'FeatureCollection', features: [] };
const PLATE_RE = /^[A-Z0-9*?]{2,8}$/;

/** A search-box text that is a plate or plate pattern rather than an address: "7AB1234", "7AB*",
 *  "plate: abc" (no spaces; a digit or a wildcard, unless prefixed "plate:"). */
export function looksLikePlate(q) {
  const t = q.trim().toUpperCase();
  if (/^PLATE:/.test(t)) return PLATE_RE.test(t.slice(6).trim().replace(/[\s-]/g, ''));
  return PLATE_RE.test(t) && /[0-9*?]/.test(t) && !/^\d+$/.test(t);
}
const platePart = q => q.trim().toUpperCase().replace(/^PLATE:/, '').replace(/[\s-]/g, '');

const fmtOffset = s => { const m = Math.round(s / 60); return s === 0 ? 'T' : `${m < 0 ? '−' : '+'}${Math.abs(m) ? Math.abs(m) + ' min' : Math.abs(s) + ' s'}`; };

export class Investigations {
  constructor({ map, catalog, kindInfo, select, taskForm }) {
    Object.assign(this, { map, catalog, kindInfo, select, taskForm });
    document.head.append(h('link', { rel: 'stylesheet', href: '/static/css/investigate.css' }));
    this.root = h('section#inv.inv', { hidden: true, 'aria-live': 'polite', 'aria-label': 'Investigation' });
    $('#side').prepend(this.root);
    const nav = $('.topbar .nav');
    nav.append(h('button#inv-open.inv-open', { type: 'button', title: 'Investigate: plate search, cases, tips',
      onclick: () => this.home() }, 'Cases'));
    this.seq = 0;
  }

  /** Map overlays for results (called once the style is loaded). */
  addLayers() {
    const m = this.map;
    m.addSource('inv', { type: 'geojson', data: EMPTY });
    m.addLayer({ id: 'inv-path', type: 'line', source: 'inv', filter: ['==', ['geometry-type'], 'LineString'],
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': '#ffd43b', 'line-width': 3, 'line-opacity': 0.85 } });
    m.addLayer({ id: 'inv-points', type: 'circle', source: 'inv', filter: ['==', ['geometry-type'], 'Point'],
      paint: { 'circle-radius': 6, 'circle-color': ['coalesce', ['get', 'color'], '#ffd43b'],
        'circle-stroke-color': ['case', ['get', 'misread'], '#ff0000', '#111'], 'circle-stroke-width': ['case', ['get', 'misread'], 3, 1.5] } });
  }

  /** Actions offered in the incident / point panel (ProximityPanel.actions). */
  actions() {
    return [
      { id: 'correlate', label: 'Correlate ±30 min', when: t => t.lon != null, run: t => this.correlate(t) },
      { id: 'plates-near', label: 'Plates near ±20 min', when: t => t.lon != null, run: t => this.near(t) },
      { id: 'tip-here', label: '+ Tip here', when: t => t.lon != null, run: t => this.tipForm(t) },
      { id: 'to-case', label: 'Add to case', when: t => t.id != null, run: t => this.addToCase(t) },
    ];
  }

  get reason() { return sessionStorage.getItem('rtcc.reason') || ''; }
  get caseNumber() { return sessionStorage.getItem('rtcc.case') || ''; }
  /** Security's one rule: plate data needs a reason and a case number. Given both here, every
   *  query of this panel carries them; else the purpose the session stated (ALPR button) applies. */
  get sessionPurpose() { return window.rtccUser?.purpose || null; }
  get hasPurpose() { return !!(this.reason && this.caseNumber) || !!this.sessionPurpose; }
  purposeParams() {
    return this.reason && this.caseNumber ? { reason: this.reason, case_number: this.caseNumber } : {};
  }

  open(title, ...body) {
    this.root.hidden = false;
    document.body.classList.add('inv-open');
    this.root.replaceChildren(
      h('header.inv-head', h('h2#inv-title', { tabindex: '-1' }, title),
        h('button.icon-btn', { type: 'button', 'aria-label': 'Close investigation panel', onclick: () => this.close() }, '✕')),
      this.purposeBar(), h('div#inv-body', ...body));
    return $('#inv-body', this.root);
  }

  close() {
    this.seq++;
    this.root.hidden = true;
    document.body.classList.remove('inv-open');
    this.map.getSource('inv')?.setData(EMPTY);
  }

  body(...els) { $('#inv-body', this.root)?.replaceChildren(...els.filter(Boolean)); }

  /** Reason and case number, asked once per browser session; every plate query carries them. */
  purposeBar() {
    const sp = this.sessionPurpose;
    const reason = h('input#inv-reason', { value: this.reason, maxlength: 500,
      placeholder: sp ? `Reason (this session: ${sp.reason})` : 'Reason (required for plate data)' });
    const cs = h('input#inv-case', { value: this.caseNumber, maxlength: 64,
      placeholder: sp ? `Case (this session: ${sp.case_number})` : 'Case number (required for plate data)' });
    const save = () => { sessionStorage.setItem('rtcc.reason', reason.value.trim()); sessionStorage.setItem('rtcc.case', cs.value.trim()); };
    reason.addEventListener('change', save); cs.addEventListener('change', save);
    return h('div.inv-purpose', { title: 'Plate reads are personal data: every query is audited with this reason and case number' },
      h('label', 'Reason ', reason), h('label', 'Case ', cs));
  }

  needReason() {
    if (this.hasPurpose) return false;
    this.body(h('p.error#inv-need-reason', 'State the reason and the case number above: plate reads are personal data and every query is audited with both.'));
    $(this.reason ? '#inv-case' : '#inv-reason', this.root)?.focus();
    return true;
  }

  home() {
    const q = h('input#inv-plate', { placeholder: 'Plate or pattern: 7AB1234, 7AB*, *AB12?', maxlength: 20 });
    const n = h('input#inv-case-open', { placeholder: 'Case number', value: this.caseNumber, maxlength: 64 });
    this.open('Investigate',
      h('form.inv-row', { onsubmit: e => { e.preventDefault(); this.searchPlate(q.value); } }, q, h('button.primary', 'Search plate')),
      h('form.inv-row', { onsubmit: e => { e.preventDefault(); this.openCase(n.value.trim()); } }, n, h('button', 'Open case')),
      h('div.inv-row', h('button#inv-tip-btn', { type: 'button', onclick: () => this.tipForm(null) }, '+ New tip')));
    q.focus();
  }

  draw(features) {
    this.drawn = features; // what the map shows (tests, console)
    this.map.getSource('inv')?.setData({ type: 'FeatureCollection', features });
    const pts = features.filter(f => f.geometry.type === 'Point').map(f => f.geometry.coordinates);
    if (pts.length) {
      const b = pts.reduce((a, p) => [Math.min(a[0], p[0]), Math.min(a[1], p[1]), Math.max(a[2], p[0]), Math.max(a[3], p[1])], [180, 90, -180, -90]);
      this.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 80, maxZoom: 16, duration: 600 });
    }
  }

  point(lon, lat, props) { return { type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: props }; }

  async searchPlate(text) {
    const q = platePart(text || '');
    const seq = ++this.seq;
    this.open(`Plate ${q}`, h('p.loading', 'Searching plate reads…'));
    if (this.needReason()) return;
    const r = await getJSON(`/api/alpr/search?${new URLSearchParams({ plate: q, limit: 200, ...this.purposeParams() })}`);
    if (seq !== this.seq) return;
    if (!r.ok) { this.body(h('p.error', r.error)); return; }
    const reads = r.data.reads;
    this.root.dataset.state = 'plate';
    this.draw(reads.map(x => this.point(x.lon, x.lat, { id: x.id, color: '#1971c2' })));
    const plates = [...new Set(reads.map(x => x.plate))];
    this.body(
      h('p.inv-sum', `${reads.length}${r.data.next_offset != null ? '+' : ''} reads, ${plates.length} plate${plates.length === 1 ? '' : 's'}, newest first`),
      reads.length ? h('ul.inv-list#inv-reads', reads.map(x => h('li.inv-read', { 'data-id': x.id, 'data-plate': x.plate },
        h('span.pl-main', h('b', x.plate), ` ${x.state || ''}`,
          h('span.pl-sub', `${fmtTime(x.observed_at, true)} · ${x.camera_name || x.camera_id || 'camera ?'}${x.direction ? ' · ' + x.direction : ''}`)),
        h('span.pl-num', x.confidence != null ? `${Math.round(x.confidence * 100)}%` : ''),
        x.image_url ? h('a', { href: x.image_url, target: '_blank', rel: 'noopener' }, 'image') : null,
        h('button.sm', { type: 'button', onclick: () => this.trajectory(x.plate) }, 'Path'),
        h('button.sm', { type: 'button', onclick: () => this.cotravel(x.plate) }, 'Co-travel'))))
        : h('p.muted#inv-nomatch', `No reads match ${q}.`));
  }

  async trajectory(plate) {
    const seq = ++this.seq;
    this.open(`Trajectory ${plate}`, h('p.loading', 'Loading reads…'));
    if (this.needReason()) return;
    const r = await getJSON(`/api/alpr/trajectory?${new URLSearchParams({ plate, ...this.purposeParams() })}`);
    if (seq !== this.seq) return;
    if (!r.ok) { this.body(h('p.error', r.error)); return; }
    const d = r.data;
    this.root.dataset.state = 'trajectory';
    this.draw([d.path, ...d.reads.map(x => this.point(x.lon, x.lat, { id: x.id, misread: x.probable_misread, color: '#ffd43b' }))]);
    const legs = new Map(d.legs.map(l => [l.to_id, l]));
    this.body(
      h('p.inv-sum', `${d.count} reads at ${d.stops.length} stops · ${d.gaps} gap${d.gaps === 1 ? '' : 's'} · ${d.probable_misreads} probable misread${d.probable_misreads === 1 ? '' : 's'}`),
      h('ol.inv-list#inv-stops', d.stops.map(s => {
        const leg = legs.get(s.read_ids[0]);
        return h('li.inv-stop', { 'data-camera': s.camera_id || '' },
          leg ? h('div.inv-leg', { 'data-gap': String(leg.gap), 'data-impossible': String(leg.impossible) },
            `${fmtDist(leg.distance_m)} in ${Math.round(leg.seconds / 60)} min${leg.speed_kmh != null ? ` · ${Math.round(leg.speed_kmh)} km/h` : ''}`,
            leg.gap ? h('b.flag', ' gap') : null, leg.impossible ? h('b.flag.bad', ' impossible: probable misread') : null) : null,
          h('span.pl-main', h('b', s.camera_name || s.camera_id || 'unknown camera'),
            h('span.pl-sub', s.reads > 1 ? `${fmtTime(s.first_seen, true)} – ${fmtTime(s.last_seen)} (${s.reads} reads)` : fmtTime(s.first_seen, true))));
      })),
      h('button', { type: 'button', onclick: () => this.cotravel(plate) }, `Co-travel with ${plate}`));
  }

  async cotravel(plate) {
    const seq = ++this.seq;
    this.open(`Co-travel with ${plate}`, h('p.loading', 'Looking for plates at the same cameras…'));
    if (this.needReason()) return;
    const r = await getJSON(`/api/alpr/cotravel?${new URLSearchParams({ plate, window_s: 120, min_cameras: 2, ...this.purposeParams() })}`);
    if (seq !== this.seq) return;
    if (!r.ok) { this.body(h('p.error', r.error)); return; }
    this.root.dataset.state = 'cotravel';
    const ps = r.data.plates;
    this.body(h('p.inv-sum', `${r.data.target_reads} reads of ${plate}; plates seen at 2 or more of the same cameras within ±2 min:`),
      ps.length ? h('ul.inv-list#inv-cotravel', ps.map(p => h('li', { 'data-plate': p.plate },
        h('span.pl-main', h('b', p.plate), h('span.pl-sub', `${p.shared_cameras} shared cameras · ${p.reads} reads · ±${p.mean_offset_s} s on average`)),
        h('button.sm', { type: 'button', onclick: () => this.trajectory(p.plate) }, 'Path'))))
        : h('p.muted', 'No plate travelled with it.'));
  }

  async near(t) {
    const seq = ++this.seq;
    this.open(`Plates near ${t.event_type || t.title || 'this point'}`, h('p.loading', 'Finding plates read nearby…'));
    if (this.needReason()) return;
    const q = t.id != null ? { event_id: t.id } : { lon: t.lon, lat: t.lat, ...(t.observed_at ? { at: t.observed_at } : {}) };
    const r = await getJSON(`/api/alpr/near?${new URLSearchParams({ ...q, radius_m: 300, minutes: 20, ...this.purposeParams() })}`);
    if (seq !== this.seq) return;
    if (!r.ok) { this.body(h('p.error', r.error)); return; }
    this.root.dataset.state = 'near';
    const ps = r.data.plates;
    this.draw([this.point(r.data.lon, r.data.lat, { color: '#ff6b6b' }),
      ...ps.flatMap(p => p.sightings.map(s => this.point(s.lon, s.lat, { color: '#1971c2' })))]);
    this.body(h('p.inv-sum', `${ps.length} plates within 300 m and ±20 min of ${fmtTime(r.data.at, true)}, closest first`),
      ps.length ? h('ol.inv-list#inv-near', ps.map(p => h('li', { 'data-plate': p.plate },
        h('span.pl-main', h('b', p.plate), ` ${p.state || ''}`, h('span.pl-sub', `${fmtDist(p.nearest_m)} · ${fmtOffset(p.closest_s)} · ${p.reads} reads`)),
        h('button.sm', { type: 'button', onclick: () => this.trajectory(p.plate) }, 'Path'))))
        : h('p.muted', 'No plate read nearby in that window.'));
  }

  async correlate(t) {
    const seq = ++this.seq;
    this.open(`Around ${t.event_type || t.title || 'this point'}`, h('p.loading', 'Correlating every feed…'));
    const q = t.id != null ? { event_id: t.id } : { lon: t.lon, lat: t.lat, ...(t.observed_at ? { at: t.observed_at } : {}) };
    const r = await getJSON(`/api/correlate?${new URLSearchParams({ ...q, radius_m: 500, minutes: 30, ...this.purposeParams() })}`);
    if (seq !== this.seq) return;
    if (!r.ok) { this.body(h('p.error', r.error)); return; }
    const d = r.data;
    this.root.dataset.state = 'correlate';
    const color = k => this.kindInfo(k).color;
    this.draw([this.point(d.lon, d.lat, { color: '#ff6b6b' }),
      ...d.events.filter(e => e.lon != null).map(e => this.point(e.lon, e.lat, { id: e.id, color: color(e.kind) })),
      ...d.units.map(u => this.point(u.lon, u.lat, { color: '#2f9e44' }))]);
    const items = [...d.events.map(e => ({ ...e, t: e.offset_s })), ...d.units.map(u => ({ ...u, kind: 'unit', t: u.offset_s }))]
      .sort((a, b) => a.t - b.t);
    this.body(
      h('p.inv-sum', `${d.events.length} events and ${d.units.length} units within 500 m and ±30 min`),
      d.alpr_omitted ? h('p.notice', d.alpr_omitted) : null,
      this.timelineStrip(items, d.minutes * 60),
      h('ol.inv-list.inv-timeline#inv-timeline', items.map(e => {
        const info = e.kind === 'unit' ? { icon: '🚓', color: '#2f9e44', title: 'Unit' } : this.kindInfo(e.kind);
        const badge = h('span.kind-badge.sm', glyph(info.icon, info.title));
        badge.style.setProperty('--c', info.color);
        const open = e.kind !== 'unit' && e.lon != null ? () => this.select({ id: e.id, kind: e.kind, event_type: e.type, address: e.address,
          observed_at: e.observed_at, lon: e.lon, lat: e.lat }, { fly: true }) : null;
        return h('li', { 'data-kind': e.kind, tabindex: open ? '0' : null, onclick: open },
          h('span.inv-off', fmtOffset(e.t)), badge,
          h('span.pl-main', h('span.pl-title', e.kind === 'unit' ? (e.callsign || e.unit_id) : (e.plate || e.type || e.text || info.title)),
            h('span.pl-sub', [e.address, e.kind === 'unit' ? e.status : null, fmtTime(e.observed_at)].filter(Boolean).join(' · '))),
          h('span.pl-num', fmtDist(e.distance_m)));
      })));
  }

  /** Events on a ±T axis (seconds from the incident), one dot each, coloured by kind. */
  timelineStrip(items, span) {
    const W = 300, NS = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', `0 0 ${W} 34`); svg.setAttribute('class', 'inv-strip'); svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', 'timeline');
    const el = (tag, a) => { const e = document.createElementNS(NS, tag); for (const [k, v] of Object.entries(a)) e.setAttribute(k, v); svg.append(e); return e; };
    el('line', { x1: 4, x2: W - 4, y1: 17, y2: 17, stroke: '#495057' });
    el('line', { x1: W / 2, x2: W / 2, y1: 4, y2: 30, stroke: '#ff6b6b', 'stroke-width': 2 });
    for (const it of items) {
      const x = 4 + (W - 8) * (it.t + span) / (2 * span);
      el('circle', { cx: x.toFixed(1), cy: 17, r: 4, fill: it.kind === 'unit' ? '#2f9e44' : this.kindInfo(it.kind).color, opacity: 0.85 });
    }
    return svg;
  }

  tipForm(t) {
    const field = (label, input) => h('label', label, input);
    const f = h('form.inv-tip#inv-tip-form',
      field('Source', h('select', { name: 'source' }, ['phone', 'web', 'social', 'walkin', 'text', 'email', 'other'].map(s => h('option', { value: s }, s)))),
      field('What was said', h('textarea', { name: 'text', rows: 4, required: true, maxlength: 20000 })),
      field('Links (space or comma separated)', h('input', { name: 'links', placeholder: 'https://…' })),
      field('Media links', h('input', { name: 'media', placeholder: 'https://…' })),
      field('Address (optional, geocoded)', h('input', { name: 'address', maxlength: 300 })),
      h('div.inv-row', field('Credibility', h('select', { name: 'credibility' }, ['unverified', 'low', 'medium', 'high'].map(s => h('option', { value: s }, s)))),
        h('label.chk', h('input', { type: 'checkbox', name: 'anonymous' }), ' anonymous')),
      field('Reporter (not stored if anonymous)', h('input', { name: 'reporter', maxlength: 200 })),
      h('div.inv-row', field('Case number', h('input', { name: 'case_number', value: this.caseNumber, maxlength: 64 })),
        field('Task number', h('input', { name: 'task_id', inputmode: 'numeric', pattern: '[0-9]*', maxlength: 12, placeholder: 'optional' }))),
      h('p.muted', t && t.lon != null ? `At ${t.lat.toFixed(5)}, ${t.lon.toFixed(5)} (unless an address is given)` : 'No place unless an address is given'),
      h('p.error#inv-tip-error', { role: 'alert' }),
      h('button.primary#inv-tip-submit', 'Save tip'));
    f.addEventListener('submit', async e => {
      e.preventDefault();
      const v = Object.fromEntries(new FormData(f));
      const row = { id: `web-${crypto.randomUUID()}`, observed_at: new Date().toISOString(), source: v.source, text: v.text,
        links: v.links || null, media: v.media || null, credibility: v.credibility, anonymous: !!v.anonymous,
        reporter: v.anonymous ? null : (v.reporter || null), case_number: v.case_number || null, address: v.address || null };
      if (!v.address && t && t.lon != null) { row.lon = t.lon; row.lat = t.lat; }
      const r = await getJSON('/api/ingest/tip', { method: 'POST', body: JSON.stringify([row]) });
      const why = !r.ok ? r.error : (r.data.rejected[0]?.reason || null);
      if (why) { $('#inv-tip-error', f).textContent = why; return; }
      const warn = r.data.warnings && r.data.warnings[0] ? ` (${r.data.warnings[0].reason})` : '';
      toast(`Tip saved${warn}`, warn ? 'warn' : 'ok');
      document.body.dataset.lastTip = row.id;
      const tip = await this.tipEvent(row.id);
      const linked = tip && v.task_id ? await this.linkToTask(tip, v.task_id) : null;
      this.open('Tip saved', h('p#inv-tip-saved', `Saved${warn}.`),
        linked ? h(`p#inv-tip-task${linked.ok ? '' : '.error'}`, linked.ok ? `Linked to task ${v.task_id}.` : `Not linked to task ${v.task_id}: ${linked.error}`) : null,
        h('div.inv-row', row.case_number ? h('button', { type: 'button', onclick: () => this.openCase(row.case_number) }, `Open case ${row.case_number}`) : null,
          tip && this.taskForm ? h('button#inv-tip-new-task', { type: 'button', onclick: () => this.taskForm.open(tip) }, 'New task from this tip') : null));
    });
    this.open('New tip', f);
    $('textarea', f).focus();
  }

  /** The stored tip (its event id, place and text) by the id the form gave it. */
  async tipEvent(feedId) {
    const r = await getJSON(`/ogc/collections/tips/items?${new URLSearchParams({ feed_id: feedId, f: 'json', limit: 1 })}`);
    const f = r.ok && r.data.features && r.data.features[0];
    if (!f) return null;
    const [lon, lat] = f.geometry ? f.geometry.coordinates : [null, null];
    return { id: Number(f.id ?? f.properties.id), kind: 'tip', event_type: 'Tip', title: 'Tip', address: f.properties.address || null,
      observed_at: f.properties.observed_at, lon, lat };
  }

  /** A tip belongs to a task as the task's other incidents do: its id joins the task's incident_ids. */
  async linkToTask(tip, taskId) {
    const t = await getJSON(`/api/tasks/${encodeURIComponent(taskId)}`);
    if (!t.ok) return t;
    if (t.data.incident_ids.includes(tip.id)) return t;
    return getJSON(`/api/tasks/${encodeURIComponent(taskId)}`, { method: 'PATCH',
      body: JSON.stringify({ incident_ids: [...t.data.incident_ids, tip.id] }) });
  }

  async addToCase(t) {
    let n = this.caseNumber;
    if (!n) { this.open('Add to case', h('p.error', 'Enter the case number above first.')); $('#inv-case', this.root)?.focus(); return; }
    await getJSON('/api/cases', { method: 'POST', body: JSON.stringify({ case_number: n }) });
    const r = await getJSON(`/api/cases/${encodeURIComponent(n)}/items`, { method: 'POST', body: JSON.stringify({ events: [t.id] }) });
    if (!r.ok) { toast(r.error, 'warn'); return; }
    toast(`Added to case ${n}`, 'ok');
    this.openCase(n);
  }

  async openCase(n) {
    if (!n) return;
    const seq = ++this.seq;
    this.open(`Case ${n}`, h('p.loading', 'Loading the case…'));
    const r = await getJSON(`/api/cases/${encodeURIComponent(n)}`);
    if (seq !== this.seq) return;
    if (!r.ok) { this.body(h('p.error#inv-case-error', r.error)); return; }
    const c = r.data, s = c.summary;
    this.root.dataset.state = 'case';
    this.draw(c.events.filter(e => e.lon != null).map(e => this.point(e.lon, e.lat, { id: e.id, color: this.kindInfo(e.kind).color })));
    const note = h('textarea', { rows: 2, maxlength: 20000, placeholder: 'Add a note…' });
    const labels = { gpkg: 'GeoPackage', kml: 'KML', kmz: 'KMZ', pdf: 'PDF report', takzip: 'TAK package' };
    this.body(
      c.case.title ? h('p', h('b', c.case.title)) : null,
      h('p.inv-sum', `${s.events} events (${s.located} located) · ${s.tasks} tasks · ${s.notes} notes · ${s.searches} plate searches`),
      h('p.inv-exports#inv-exports', 'Export: ', Object.entries(c.exports).map(([f, url]) =>
        h('a.btn', { href: url, download: '', 'data-format': f }, labels[f] || f))),
      h('h3', 'Events'),
      h('ol.inv-list#inv-case-events', c.events.map(e => h('li', { 'data-id': e.id, 'data-kind': e.kind },
        h('span.pl-main', h('span.pl-title', e.plate || e.type || (e.attrs && e.attrs.text) || e.kind),
          h('span.pl-sub', [fmtTime(e.observed_at, true), e.address].filter(Boolean).join(' · ')))))),
      h('h3', 'Notes'),
      h('ul.inv-list#inv-notes', c.notes.map(x => h('li', h('span.pl-main', x.text, h('span.pl-sub', `${x.author} · ${fmtTime(x.at, true)}`))))),
      h('form.inv-row', { onsubmit: async e => {
        e.preventDefault();
        if (!note.value.trim()) return;
        const w = await getJSON(`/api/cases/${encodeURIComponent(n)}/notes`, { method: 'POST', body: JSON.stringify({ text: note.value.trim() }) });
        if (w.ok) this.openCase(n); else toast(w.error, 'warn');
      } }, note, h('button', 'Add note')),
      c.searches.length ? h('h3', 'Plate searches') : null,
      c.searches.length ? h('ul.inv-list', c.searches.map(x => h('li', h('span.pl-main', `${x.plate || ''} (${x.action})`,
        h('span.pl-sub', `${x.by} · ${fmtTime(x.at, true)} · ${x.reason || ''}`))))) : null);
  }
}
