// The task form (a modal dialog), opened from an incident's panel pre-filled with the incident id,
// its crime type and location; the analyst's name is remembered on this machine.
import { eventTitle } from './live.js';
import { h, $, getJSON, toast } from './util.js';

/** What the task is about, in words: the incident's type and details, and where (its own address,
 * else the nearest one the panel found): 'Gunshot · 3 rounds – near 400 E PRATT ST'. */
export function taskTitle(t) {
  const where = t.address || (t.near ? `near ${t.near}` : null);
  const what = t.id != null ? eventTitle(t, { title: t.kind || 'Incident' }) : (t.near ? 'Point' : (t.title || 'Point on map'));
  return `${what}${where ? ' – ' + where : ''}`;
}

export class TaskForm {
  constructor(dialog, { onCreated }) {
    this.dialog = dialog;
    this.onCreated = onCreated;
    this.meta = null;
    this.form = $('form', dialog);
    this.form.addEventListener('submit', e => { e.preventDefault(); this.submit(); });
    $('#tf-cancel', dialog).addEventListener('click', () => dialog.close());
  }

  async loadMeta() {
    if (this.meta) return this.meta;
    const r = await getJSON('/api/tasks/meta');
    this.meta = r.ok ? r.data : { activity_types: [], outcomes: [], crime_types: [] };
    $('#tf-activities', this.dialog).replaceChildren(...this.meta.activity_types.map(a =>
      h('label.chip', h('input', { type: 'checkbox', name: 'activity_types', value: a.code }), a.label)));
    $('#tf-outcome', this.dialog).replaceChildren(h('option', { value: '' }, 'Still open'),
      ...this.meta.outcomes.map(o => h('option', { value: o.code }, o.label)));
    $('#tf-crimes', this.dialog).replaceChildren(...this.meta.crime_types.map(c => h('option', { value: c })));
    return this.meta;
  }

  async open(t) {
    await this.loadMeta();
    const f = this.form;
    f.reset();
    f.elements.analyst.value = localStorage.getItem('rtcc.analyst') || '';
    f.elements.title.value = taskTitle(t);
    f.elements.incident_ids.value = t.id != null ? String(t.id) : '';
    f.elements.crime_type.value = t.event_type || '';
    f.elements.lon.value = t.lon != null ? t.lon.toFixed(6) : '';
    f.elements.lat.value = t.lat != null ? t.lat.toFixed(6) : '';
    $('#tf-where', this.dialog).textContent = t.lon != null ? `${t.lat.toFixed(5)}, ${t.lon.toFixed(5)}` : 'no location';
    $('#tf-error', this.dialog).textContent = '';
    this.dialog.showModal();
    (f.elements.analyst.value ? f.elements.requested_by : f.elements.analyst).focus();
  }

  async submit() {
    const f = this.form, el = f.elements;
    const ids = el.incident_ids.value.split(/[ ,;]+/).filter(Boolean).map(Number);
    if (ids.some(n => !Number.isInteger(n))) { $('#tf-error', this.dialog).textContent = 'Incident ids are numbers, comma-separated.'; return; }
    const body = {
      analyst: el.analyst.value.trim(), title: el.title.value.trim(), requested_by: el.requested_by.value.trim() || null,
      incident_ids: ids, activity_types: [...f.querySelectorAll('input[name=activity_types]:checked')].map(x => x.value),
      crime_type: el.crime_type.value.trim() || null, minutes_spent: +el.minutes_spent.value || 0,
      notes: el.notes.value.trim() || null, outcome: el.outcome.value || null,
      lon: el.lon.value ? +el.lon.value : null, lat: el.lat.value ? +el.lat.value : null,
    };
    localStorage.setItem('rtcc.analyst', body.analyst);
    const btn = $('#tf-submit', this.dialog);
    btn.disabled = true;
    const r = await getJSON('/api/tasks', { method: 'POST', body: JSON.stringify(body) });
    btn.disabled = false;
    if (!r.ok) { $('#tf-error', this.dialog).textContent = r.error; return; }
    this.dialog.close();
    toast(`Task #${r.data.id} created`, 'ok');
    document.body.dataset.lastTask = String(r.data.id);
    this.onCreated?.(r.data);
  }
}
