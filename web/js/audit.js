// The audit log page (supervisors): GET /api/audit with the form's filters, kept in the URL.
const form = document.getElementById('audit-filter');
const body = document.querySelector('#audit-table tbody');
const err = document.getElementById('audit-error');

function cell(text) { const td = document.createElement('td'); td.textContent = text ?? ''; return td; }

async function load() {
  const q = new URLSearchParams();
  for (const [k, v] of new FormData(form)) {
    if (!v) continue;
    q.set(k, (k === 'start' || k === 'end') ? new Date(v).toISOString() : v);
  }
  history.replaceState(null, '', `/audit${q.toString() ? '?' + q : ''}`);
  const r = await fetch(`/api/audit?${q}`, { headers: { Accept: 'application/json' } });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) { err.textContent = data.detail || `error ${r.status}`; return; }
  err.textContent = '';
  body.replaceChildren(...data.entries.map(e => {
    const tr = document.createElement('tr');
    tr.append(cell(e.seq), cell(new Date(e.at).toLocaleString()), cell(e.who), cell(e.role), cell(e.action),
      cell(e.resource), cell(e.reason), cell(e.case_number), cell(e.client), cell(JSON.stringify(e.detail)));
    return tr;
  }));
  document.body.dataset.ready = 'true';
}

for (const [k, v] of new URLSearchParams(location.search)) if (form.elements[k] && k !== 'start' && k !== 'end') form.elements[k].value = v;
form.addEventListener('submit', e => { e.preventDefault(); load(); });
load();
