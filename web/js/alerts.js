// The alert inbox of the analyst map: open alerts newest first, priority colours, an optional
// sound, live updates (`event: alert` on /api/live), ack / dispatch / close, and a click that
// opens the alert on the map (location, cameras and units as they were when it fired).
import { h, getJSON, fmtTime, fmtAgo, toast } from './util.js';

export const PRIORITY_COLOR = { 1: '#e03131', 2: '#f08c00', 3: '#1c7ed6' };
const OPEN = 'new,acknowledged,dispatched';
const NEXT = { new: ['ack', 'dispatch', 'close'], acknowledged: ['dispatch', 'close'], dispatched: ['close'], closed: [] };
const LABEL = { ack: 'Acknowledge', dispatch: 'Dispatched', close: 'Close' };

/** A short two-tone beep (Web Audio: no sound file to ship). */
export function beep(priority = 2) {
  try {
    const ctx = beep.ctx || (beep.ctx = new AudioContext());
    const tones = priority === 1 ? [880, 660, 880] : [660];
    tones.forEach((f, i) => {
      const o = ctx.createOscillator(), g = ctx.createGain();
      o.frequency.value = f; o.connect(g); g.connect(ctx.destination);
      const t = ctx.currentTime + i * 0.18;
      g.gain.setValueAtTime(0.15, t); g.gain.exponentialRampToValueAtTime(0.001, t + 0.16);
      o.start(t); o.stop(t + 0.17);
    });
  } catch { /* no audio device: the inbox still shows it */ }
}

/** POST an alert action; returns the updated alert or null (with a toast). */
export async function act(id, action, body = {}) {
  const r = await getJSON(`/api/alerts/${id}/${action}`, { method: 'POST', body: JSON.stringify(body) });
  if (!r.ok) { toast(`Could not ${action} alert ${id}: ${r.error}`, 'error'); return null; }
  return r.data;
}

export class AlertInbox {
  constructor({ map, root, listEl, countEl, soundEl, onOpen }) {
    Object.assign(this, { map, root, listEl, countEl, soundEl, onOpen });
    this.alerts = new Map();
    this.soundEl.checked = localStorage.getItem('rtcc.alertSound') === 'on';
    this.soundEl.addEventListener('change', () => localStorage.setItem('rtcc.alertSound', this.soundEl.checked ? 'on' : 'off'));
  }

  async load() {
    const r = await getJSON(`/api/alerts?status=${OPEN}&limit=100`);
    if (!r.ok) { this.listEl.replaceChildren(h('li.empty', `Alerts unavailable: ${r.error}`)); return; }
    for (const a of r.data.reverse()) this.alerts.set(a.id, a);
    this.render();
  }

  /** An `alert` message from /api/live: a new alert, or a step of one we know. */
  pushed(a) {
    const isNew = !this.alerts.has(a.id) && a.status === 'new';
    this.alerts.set(a.id, a);
    this.render();
    if (isNew) {
      const li = this.listEl.querySelector(`li[data-id="${a.id}"]`);
      li?.classList.add('new');
      if (this.soundEl.checked) beep(a.priority);
    }
  }

  open() { return [...this.alerts.values()].filter(a => a.status !== 'closed').sort((x, y) => y.id - x.id); }

  render() {
    const items = this.open();
    this.countEl.textContent = String(items.length);
    this.countEl.dataset.p1 = String(items.some(a => a.priority === 1 && a.status === 'new'));
    this.listEl.replaceChildren(...(items.length ? items.map(a => this.item(a)) : [h('li.empty', 'No open alerts')]));
    const feats = items.filter(a => a.lon != null).map(a => ({ type: 'Feature', id: a.id,
      geometry: { type: 'Point', coordinates: [a.lon, a.lat] },
      properties: { id: a.id, priority: a.priority, color: PRIORITY_COLOR[a.priority] || '#adb5bd', status: a.status } }));
    this.map.getSource('alerts')?.setData({ type: 'FeatureCollection', features: feats });
  }

  item(a) {
    const color = PRIORITY_COLOR[a.priority] || '#adb5bd';
    const actions = (NEXT[a.status] || []).map(act_ => h('button', { type: 'button', 'data-action': act_,
      onclick: async e => { e.stopPropagation(); const upd = await act(a.id, act_); if (upd) { this.alerts.set(upd.id, upd); this.render(); } } },
      LABEL[act_]));
    const dead = (a.deliveries || []).filter(d => d.status === 'dead');
    const li = h('li.alert-item', { 'data-id': a.id, 'data-priority': a.priority, 'data-status': a.status },
      h('button.alert-main', { type: 'button', onclick: () => this.onOpen(a), 'aria-label': `P${a.priority} alert: ${a.title}` },
        h('span.alert-prio', `P${a.priority}`),
        h('span.alert-text', h('span.alert-title', a.title),
          h('span.alert-meta', a.address || a.zone || a.district || '', ' · ',
            h('time', { datetime: a.observed_at, title: fmtTime(a.observed_at, true) }, fmtAgo(a.observed_at)),
            a.match === 'possible' ? h('span.alert-possible', 'possible') : null,
            h('span.alert-status', a.status)))),
      h('div.alert-actions', actions),
      dead.length ? h('p.alert-dead', `Not delivered to ${dead.map(d => d.channel).join(', ')}: ${dead[0].last_error}`) : null);
    li.querySelector('.alert-prio').style.background = color;
    li.style.setProperty('--c', color);
    return li;
  }

  /** Open an alert by id (deep link /#alert=ID), fetching it if it is not in the inbox. */
  async openId(id) {
    let a = this.alerts.get(Number(id));
    if (!a) {
      const r = await getJSON(`/api/alerts/${id}`);
      if (!r.ok) { toast(`Alert ${id}: ${r.error}`, 'error'); return; }
      a = r.data;
    }
    this.onOpen(a);
  }
}

/** The manual BOLO entry: one plate appended to the `bolo` hotlist (POST /api/hotlists/bolo). */
export function boloForm(dialog, openButton) {
  const form = dialog.querySelector('form'), err = dialog.querySelector('#bolo-error');
  openButton.addEventListener('click', () => { form.reset(); err.textContent = ''; dialog.showModal(); form.plate.focus(); });
  dialog.querySelector('#bolo-cancel').addEventListener('click', () => dialog.close());
  form.addEventListener('submit', async e => {
    e.preventDefault();
    const row = { plate: form.plate.value, state: form.state.value, reason: form.reason.value,
      expires: form.expires.value || null, notes: form.notes.value || null, source: 'manual' };
    const r = await getJSON('/api/hotlists/bolo?mode=append', { method: 'POST', body: JSON.stringify([row]) });
    const why = !r.ok ? r.error : (r.data.rejected[0]?.reason);
    if (why) { err.textContent = why; return; }
    dialog.close();
    toast(`${row.plate.toUpperCase()} is on the BOLO list: every ALPR read of it raises an alert`, 'info', 6000);
  });
}
