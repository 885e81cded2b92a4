// "Needs location": events whose address the geocoder could not place (the records-only OGC
// collection unlocated_events). The analyst picks one, clicks the map where it happened, and
// POST /api/events/{id}/location gives it its position (audited; its tiles are flushed server-side),
// so it leaves this list and appears on its layer. Shown to roles holding events:locate.
import { h, getJSON, fmtAgo, toast, glyph } from './util.js';

const ITEMS = '/ogc/collections/unlocated_events/items?f=json&limit=50&sortby=-observed_at';
const POLL_MS = 60000; // new unlocated events are rare; a minute is soon enough

export class UnlocatedList {
  constructor({ map, catalog, root, listEl, countEl, onPlaced }) {
    Object.assign(this, { map, catalog, root, listEl, countEl, onPlaced });
    this.placing = null; // {id, kind, row, note} while the next map click places that event
    document.addEventListener('keydown', e => { if (e.key === 'Escape' && this.placing) this.cancel(); });
  }

  async start() {
    // Only for those who may place them (the layer's readers are the same roles): no 403 to show.
    const me = window.rtccUser || (await getJSON('/api/me')).data;
    if (!me?.permissions?.includes('events:locate')) return;
    this.load();
    this.timer = setInterval(() => { if (!this.placing) this.load(); }, POLL_MS);
  }

  async load() {
    // The first OGC request of a server process builds its configuration: give it time, and retry
    // soon after a failure (a refusal means the role has no such list: nothing to show).
    const r = await getJSON(ITEMS, { timeout: 30000 });
    clearTimeout(this.retry);
    if (!r.ok) {
      if ([401, 403].includes(r.status)) this.root.hidden = true;
      else this.retry = setTimeout(() => this.load(), 5000);
      return;
    }
    this.render(r.data.features || [], r.data.numberMatched);
  }

  render(features, total) {
    const n = total ?? features.length;
    this.countEl.textContent = String(n);
    this.root.hidden = n === 0;
    this.listEl.replaceChildren(...features.map(f => this.row(f)));
  }

  row(f) {
    const p = f.properties || {};
    const layer = this.catalog.layers.find(l => l.event_kind === p.kind);
    const what = [p.type, p.priority != null ? `P${p.priority}` : null].filter(Boolean).join(' · ');
    const btn = h('button.place-pin', { type: 'button', title: 'Then click the map where it happened' }, 'Place pin');
    const badge = h('span.kind-badge.sm', { title: layer?.title || p.kind, 'aria-hidden': 'true' }, glyph(layer?.style.icon, layer?.title || p.kind));
    badge.style.setProperty('--c', layer?.style.color || '#868e96');
    const li = h('li.unlocated-item', { dataset: { id: String(f.id), kind: p.kind || '' } },
      h('div.ul-main', badge,
        h('span.ul-text',
          h('span.ul-addr', p.address || '(no address)'),
          h('span.ul-meta', [what, p.observed_at ? fmtAgo(p.observed_at) : null, p.feed_id].filter(Boolean).join(' · '))),
        btn));
    btn.addEventListener('click', () => (this.placing?.id === f.id ? this.cancel() : this.begin(f, li)));
    return li;
  }

  begin(f, li) {
    this.cancel();
    const note = h('input.ul-note', { type: 'text', maxlength: '500', placeholder: 'why here (optional)', 'aria-label': 'Note' });
    li.append(h('div.ul-placing', note));
    li.classList.add('placing');
    li.querySelector('.place-pin').textContent = 'Cancel';
    this.placing = { id: f.id, kind: f.properties?.kind, row: li, note };
    this.map.getCanvas().style.cursor = 'crosshair';
    document.body.dataset.placing = String(f.id);
    toast(`Click the map where ${f.properties?.address || 'it'} happened (Esc cancels)`, 'info', 6000);
  }

  cancel() {
    if (!this.placing) return;
    const { row } = this.placing;
    row.classList.remove('placing');
    row.querySelector('.ul-placing')?.remove();
    row.querySelector('.place-pin').textContent = 'Place pin';
    this.placing = null;
    this.map.getCanvas().style.cursor = '';
    delete document.body.dataset.placing;
  }

  /** The map's click handler asks first: true when the click placed (or tried to place) an event. */
  consumeClick(e) {
    if (!this.placing) return false;
    this.place(this.placing, e.lngLat.lng, e.lngLat.lat);
    return true;
  }

  async place({ id, note }, lon, lat) {
    const r = await getJSON(`/api/events/${id}/location`, { method: 'POST',
      body: JSON.stringify({ lon, lat, note: note.value.trim() || null }) });
    if (!r.ok) { toast(`Event ${id} not placed: ${r.error}`, 'error', 8000); return; } // stays in placing mode
    this.cancel();
    toast(`Event ${id} placed${r.data.district ? ` in ${r.data.district}` : ''}`, 'info');
    await this.load();
    this.onPlaced?.(r.data);
  }
}
