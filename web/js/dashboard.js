// The command-staff dashboard: KPIs and charts from GET /api/dashboard, the recent tasks from
// GET /api/tasks, filterable by period, activity and crime type (kept in the URL), refreshed
// live whenever a task changes (`event: task` on /api/live). Chart.js is the global `Chart`.
import { h, $, getJSON, debounce, fmtTime, fmtDuration, setTimeZone, toast } from './util.js';

const OUTCOME_COLORS = { suspect_identified: '#4dabf7', vehicle_located: '#3bc9db', arrest: '#51cf66', case_cleared: '#94d82d', no_result: '#868e96' };
const form = $('#filters');
const state = { meta: null, data: null, tasks: [], charts: {}, loads: 0, prevTotals: null };

Chart.defaults.color = '#8595a6';
Chart.defaults.borderColor = '#1f2b38';
Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
Chart.defaults.animation.duration = 300;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.datasets.bar.maxBarThickness = 36;

const localDate = d => new Date(d.getTime() - d.getTimezoneOffset() * 60e3).toISOString().slice(0, 10);

/** The filter form as API query parameters. */
function params() {
  const f = form.elements, q = new URLSearchParams();
  const period = f.period.value;
  if (period === 'custom') {
    if (f.start.value) q.set('start', f.start.value);
    if (f.end.value) q.set('end', f.end.value);
  } else if (period !== 'all') {
    q.set('start', localDate(new Date(Date.now() - (+period - 1) * 86400e3)));
  }
  if (f.activity.value) q.set('activity', f.activity.value);
  if (f.crime_type.value) q.set('crime_type', f.crime_type.value);
  return q;
}

function saveUrl() {
  const f = form.elements, q = new URLSearchParams();
  for (const k of ['period', 'start', 'end', 'interval', 'activity', 'crime_type']) if (f[k].value) q.set(k, f[k].value);
  history.replaceState(null, '', `?${q}`);
}

function restoreUrl() {
  const q = new URLSearchParams(location.search), f = form.elements;
  for (const k of ['period', 'start', 'end', 'interval', 'activity', 'crime_type']) {
    if (!q.has(k)) continue;
    if (f[k].tagName === 'SELECT' && ![...f[k].options].some(o => o.value === q.get(k))) f[k].append(h('option', { value: q.get(k) }, q.get(k)));
    f[k].value = q.get(k);
  }
  form.classList.toggle('custom-on', f.period.value === 'custom');
}

async function loadMeta() {
  const r = await getJSON('/api/tasks/meta');
  state.meta = r.ok ? r.data : { activity_types: [], outcomes: [], crime_types: [] };
  $('#f-activity').append(...state.meta.activity_types.map(a => h('option', { value: a.code }, a.label)));
  $('#f-crime').append(...state.meta.crime_types.map(c => h('option', { value: c }, c)));
}

async function reload() {
  const q = params();
  const iv = form.elements.interval.value;
  const [d, t] = await Promise.all([getJSON(`/api/dashboard?${q}&interval=${iv}`), getJSON(`/api/tasks?${q}&limit=100`)]);
  if (!d.ok) { toast(`Dashboard failed: ${d.error}`, 'warn'); return; }
  state.data = d.data;
  state.tasks = t.ok ? t.data.tasks : [];
  $('#csv').href = `/api/tasks.csv?${q}`;
  render();
  state.loads += 1;
  document.body.dataset.loads = String(state.loads);
  document.body.dataset.tasks = String(d.data.totals.tasks);
}

function setKpi(id, text, changed) {
  const el = $(id);
  el.textContent = text;
  if (changed) { el.parentElement.classList.remove('bump'); void el.offsetWidth; el.parentElement.classList.add('bump'); }
}

function render() {
  const d = state.data, t = d.totals, prev = state.prevTotals;
  const ch = k => prev && prev[k] !== t[k];
  setKpi('#k-tasks', t.tasks, ch('tasks'));
  setKpi('#k-open', t.open, ch('open'));
  setKpi('#k-closed', t.closed, ch('closed'));
  setKpi('#k-time', fmtDuration(t.minutes), ch('minutes'));
  setKpi('#k-solve', t.solve_rate == null ? '–' : `${Math.round(t.solve_rate * 100)} %`, ch('solve_rate'));
  $('#k-solve-sub').textContent = `${t.solved} solved of ${t.closed} closed`;
  // a task closed after 4 minutes reads '4 min', not '0.1 h' (or '0.0 h')
  setKpi('#k-ttc', t.avg_hours_to_close == null ? '–' : fmtDuration(+t.avg_hours_to_close * 60), ch('avg_hours_to_close'));
  state.prevTotals = t;
  $('#iv-label').textContent = d.filters.interval;

  const label = p => d.filters.interval === 'month' ? p.slice(0, 7) : p.slice(5);
  chart('period', {
    data: { labels: d.by_period.map(p => label(p.period)), datasets: [
      { type: 'bar', label: 'Tasks', data: d.by_period.map(p => p.tasks), backgroundColor: '#1c7ed6', yAxisID: 'y', order: 2 },
      { type: 'bar', label: 'Solved', data: d.by_period.map(p => p.solved), backgroundColor: '#2f9e44', yAxisID: 'y', order: 3 },
      { type: 'line', label: 'Hours', data: d.by_period.map(p => +(p.minutes / 60).toFixed(1)), borderColor: '#fcc419',
        backgroundColor: '#fcc419', yAxisID: 'y1', tension: 0.25, pointRadius: 2, order: 1 }] },
    options: { scales: { y: { beginAtZero: true, title: { display: true, text: 'tasks' }, ticks: { precision: 0 } },
      y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: 'hours' } } },
      interaction: { mode: 'index', intersect: false } } });
  chart('activity', {
    type: 'bar',
    data: { labels: d.by_activity.map(a => a.label), datasets: [
      { label: 'Tasks', data: d.by_activity.map(a => a.tasks), backgroundColor: '#4dabf7' },
      { label: 'Hours', data: d.by_activity.map(a => +(a.minutes / 60).toFixed(1)), backgroundColor: '#fcc419' }] },
    options: { indexAxis: 'y', scales: { x: { beginAtZero: true } } } });
  const anyOutcome = d.by_outcome.some(o => o.tasks > 0);
  $('#c-outcome').parentElement.dataset.empty = anyOutcome ? '' : 'No closed task in this selection';
  chart('outcome', {
    type: 'doughnut',
    data: { labels: d.by_outcome.map(o => o.label), datasets: [{ data: d.by_outcome.map(o => o.tasks),
      backgroundColor: d.by_outcome.map(o => OUTCOME_COLORS[o.code] || '#adb5bd'), borderColor: '#111821' }] },
    options: { plugins: { legend: { position: 'right' } }, cutout: '60%' } });
  const crimes = d.by_crime_type.slice(0, 12);
  chart('crime', {
    type: 'bar',
    data: { labels: crimes.map(c => c.crime_type), datasets: [
      // one colour per series (as in the other charts): a per-crime palette gave one 'Tasks' bar the 'Solved' green
      { label: 'Tasks', data: crimes.map(c => c.tasks), backgroundColor: '#1c7ed6' },
      { label: 'Solved', data: crimes.map(c => c.solved), backgroundColor: '#2f9e4499', borderColor: '#51cf66', borderWidth: 1 }] },
    options: { indexAxis: 'y', scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } } });
  renderTable();
}

function chart(name, cfg) {
  const c = state.charts[name];
  if (c) { c.data = cfg.data; Object.assign(c.options, cfg.options || {}); c.update(); return; }
  state.charts[name] = new Chart($(`#c-${name}`), cfg);
}

function renderTable() {
  const labels = Object.fromEntries((state.meta?.activity_types || []).map(a => [a.code, a.label]));
  const outcomes = Object.fromEntries((state.meta?.outcomes || []).map(o => [o.code, o.label]));
  const seen = new Set([...document.querySelectorAll('#tasks tbody tr')].map(tr => tr.dataset.id));
  $('#t-count').textContent = String(state.tasks.length);
  $('#tasks tbody').replaceChildren(...state.tasks.map(t => h(`tr${seen.size && !seen.has(String(t.id)) ? '.new' : ''}`, { 'data-id': t.id },
    h('td.num', t.id), h('td.num', fmtTime(t.created_at, true)), h('td', t.title || h('span.muted', '(untitled)'),
      t.incident_ids.length ? h('div.muted', `incidents ${t.incident_ids.join(', ')}`) : null),
    h('td', t.analyst), h('td', t.requested_by || ''),
    h('td', t.activity_types.map(a => h('span.tag', labels[a] || a))), h('td', t.crime_type || ''),
    h('td.num', fmtDuration(t.minutes_spent)),
    h('td', t.status === 'closed' ? h('span.st-closed', outcomes[t.outcome] || t.outcome) : closeForm(t)))));
}

function closeForm(t) {
  const sel = h('select', { 'aria-label': `Outcome of task ${t.id}` }, (state.meta?.outcomes || []).map(o => h('option', { value: o.code }, o.label)));
  return h('span.close-form', h('span.st-open', 'open'), sel, h('button', { type: 'button', onclick: async () => {
    const r = await getJSON(`/api/tasks/${t.id}/close`, { method: 'POST', body: JSON.stringify({ outcome: sel.value }) });
    if (!r.ok) toast(`Close failed: ${r.error}`, 'warn'); else toast(`Task #${t.id} closed`, 'ok');
    reload();
  } }, 'Close'));
}

function connect() {
  const st = $('#conn-status');
  const es = new EventSource('/api/live?types=task');
  es.onopen = () => { st.dataset.state = 'on'; st.textContent = 'live'; };
  es.onerror = () => { st.dataset.state = 'wait'; st.textContent = 'reconnecting…'; };
  es.addEventListener('task', debounce(reload, 300));
}

async function start() {
  const cat = await getJSON('/api/layers');
  if (cat.ok) setTimeZone(cat.data.timezone);
  await loadMeta();
  restoreUrl();
  form.addEventListener('change', () => {
    form.classList.toggle('custom-on', form.elements.period.value === 'custom');
    saveUrl(); reload();
  });
  form.addEventListener('submit', e => e.preventDefault());
  await reload();
  connect();
  window.rtccDashboard = { state, reload };
}

start();
