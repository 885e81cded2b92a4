// Address search (keyboard first: "/" focuses it, arrows pick, Enter goes): the geocoder's
// candidates, best first; choosing one flies there and opens the proximity panel.
// "39.29, -76.61" (lat, lon) also works, with or without a geocoder.
import { h, getJSON, debounce } from './util.js';

const COORDS = /^\s*(-?\d{1,2}\.\d+)\s*[, ]\s*(-?\d{1,3}\.\d+)\s*$/;

export class AddressSearch {
  constructor({ form, input, list, catalog, onPick, isPlate, onPlate }) {
    Object.assign(this, { form, input, list, catalog, onPick, isPlate, onPlate });
    this.items = [];
    this.active = -1;
    this.seq = 0;
    const suggest = debounce(() => this.query(false), 300);
    input.addEventListener('input', () => { if (input.value.trim().length >= 4) suggest(); else this.show([]); });
    input.addEventListener('keydown', e => this.key(e));
    form.addEventListener('submit', e => { e.preventDefault(); this.active >= 0 ? this.pick(this.active) : this.query(true); });
    document.addEventListener('keydown', e => {
      if (e.key === '/' && !/^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName)) { e.preventDefault(); input.focus(); input.select(); }
    });
    input.addEventListener('blur', () => setTimeout(() => this.show([]), 200));
  }

  async query(go) {
    const q = this.input.value.trim();
    if (!q) return;
    if (this.onPlate && this.isPlate(q)) { // "7AB1234", "7AB*": a plate search, not an address
      if (go) { this.show([]); this.onPlate(q); } else this.message(`Enter: search plate reads for ${q.toUpperCase()}`);
      return;
    }
    const m = COORDS.exec(q);
    if (m) {
      const lat = +m[1], lon = +m[2];
      this.show([{ lon, lat, normalized: `${lat}, ${lon}`, match_type: 'coordinates', score: 1 }]);
      if (go) this.pick(0);
      return;
    }
    if (!this.catalog.services.geocode) { this.message('Geocoder not available on this server (coordinates "lat, lon" work).'); return; }
    if (!go && this.going) return; // Enter was pressed: a late suggestion must not cancel the search
    if (go) this.going = true;
    const seq = ++this.seq;
    this.form.dataset.state = 'loading';
    // Low-scoring candidates too: an ambiguous text ('751 PRATT ST': E or W?) is the analyst's call.
    const r = await getJSON(`/api/geocode?${new URLSearchParams({ q, min_score: '0', limit: '5' })}`);
    if (go) this.going = false;
    if (seq !== this.seq) return;
    this.form.dataset.state = '';
    if (!r.ok) { this.message(`Search failed: ${r.error}`); return; }
    const cands = (Array.isArray(r.data) ? r.data : (r.data.candidates || r.data.results || [])).filter(c => c.lon != null);
    if (!cands.length) {
      // the batch form answers with the geocoder's reason ('house number 99999 not found on ...')
      const why = await getJSON('/api/geocode', { method: 'POST', body: JSON.stringify([q]) });
      if (seq !== this.seq) return;
      const reason = why.ok && why.data && why.data[0] ? why.data[0].reason : null;
      this.message(`No match for “${q}”${reason ? ': ' + reason : ''}`);
      return;
    }
    this.show(cands);
    if (go && cands[0].ok !== false) this.pick(0);   // an uncertain best waits for a pick
  }

  message(text) {
    this.items = [];
    this.list.replaceChildren(h('li.msg', { role: 'option', 'aria-disabled': 'true' }, text));
    this.list.hidden = false;
  }

  show(items) {
    this.items = items;
    this.active = -1;
    this.list.hidden = !items.length;
    const uncertain = items.length && items[0].ok === false ? items[0].reason : null;
    this.list.replaceChildren(
      ...(uncertain ? [h('li.msg', { role: 'option', 'aria-disabled': 'true' }, `Which one? ${uncertain}`)] : []),
      ...items.map((c, i) => h(c.ok === false ? 'li.uncertain' : 'li', { role: 'option', id: `sr-${i}`, 'aria-selected': 'false',
        'data-ok': String(c.ok !== false), title: c.reason || '', onmousedown: e => { e.preventDefault(); this.pick(i); } },
      h('span.sr-addr', c.normalized || c.address || `${c.lat}, ${c.lon}`),
      h('span.sr-meta', `${c.match_type || ''}${c.score != null ? ' · ' + Math.round(c.score * 100) + '%' : ''}`))));
    this.input.setAttribute('aria-expanded', String(!!items.length));
  }

  key(e) {
    if (!this.items.length) { if (e.key === 'Escape') this.input.blur(); return; }
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      this.active = (this.active + (e.key === 'ArrowDown' ? 1 : -1) + this.items.length) % this.items.length;
      [...this.list.querySelectorAll('li[id^="sr-"]')].forEach((li, i) => li.setAttribute('aria-selected', String(i === this.active)));
      this.input.setAttribute('aria-activedescendant', `sr-${this.active}`);
    } else if (e.key === 'Escape') { this.show([]); }
  }

  /** Search for a text as if typed and entered (a shared `#address=` link). */
  run(text) { this.input.value = text; return this.query(true); }

  pick(i) {
    const c = this.items[i];
    if (!c) return;
    this.show([]);
    const typed = this.input.value;
    this.input.value = c.normalized || this.input.value;
    this.onPick({ ...c, query: c.match_type === 'coordinates' ? null : typed });
  }
}
