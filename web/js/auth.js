// Who is signed in, loaded before the page's modules: sends the session's CSRF token with every
// state-changing request, shows the user and a sign-out button, hides what the role cannot do
// (html.can-<permission> classes, see auth.css), and asks once per session for the reason and case
// number that plate data (ALPR) needs. A classic script so fetch is wrapped before any module runs.
(() => {
  const cookie = name => (document.cookie.split('; ').find(c => c.startsWith(name + '=')) || '').slice(name.length + 1);
  const csrf = () => decodeURIComponent(cookie('rtcc_csrf'));
  const plainFetch = window.fetch.bind(window);
  window.fetch = (input, init = {}) => {
    const method = (init.method || (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const url = new URL(input instanceof Request ? input.url : input, location.href);
    if (!['GET', 'HEAD', 'OPTIONS'].includes(method) && url.origin === location.origin && csrf()) {
      const headers = new Headers(init.headers || (input instanceof Request ? input.headers : undefined));
      headers.set('X-CSRF-Token', csrf());
      init = { ...init, headers };
    }
    return plainFetch(input, init);
  };

  function el(tag, attrs = {}, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
    }
    e.append(...kids);
    return e;
  }

  function purposeDialog(me) {
    const reason = el('input', { name: 'reason', required: '', minlength: '3', maxlength: '500', placeholder: 'e.g. investigation: stolen vehicle' });
    const cases = el('input', { name: 'case_number', required: '', maxlength: '64', pattern: '[A-Za-z0-9][A-Za-z0-9._/-]*', placeholder: 'e.g. 25-004211' });
    const err = el('p', { class: 'error', role: 'alert' });
    const form = el('form', { method: 'dialog', class: 'purpose-form' },
      el('h2', {}, 'Plate data (ALPR)'),
      el('p', { class: 'muted' }, 'Plate reads are personal data. State why you need them and for which case or incident: every read this session is recorded with your name, this reason and case number.'),
      el('label', {}, 'Reason ', reason), el('label', {}, 'Case or incident number ', cases), err,
      el('div', { class: 'actions' }, el('button', { type: 'button', id: 'purpose-cancel' }, 'Not now'),
        el('button', { type: 'submit', class: 'primary', id: 'purpose-submit' }, 'Show plate data')));
    const dlg = el('dialog', { id: 'purpose-dialog' }, form);
    form.querySelector('#purpose-cancel').addEventListener('click', () => dlg.close());
    form.addEventListener('submit', async e => {
      e.preventDefault();
      const r = await fetch('/api/session/purpose', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ reason: reason.value, case_number: cases.value }) });
      if (r.ok) { location.reload(); return; }
      const body = await r.json().catch(() => ({}));
      err.textContent = body.detail || `refused (${r.status})`;
    });
    document.body.append(dlg);
    return dlg;
  }

  async function start() {
    const r = await plainFetch('/api/me', { headers: { Accept: 'application/json' } });
    if (r.status === 401) { location.href = `/login?next=${encodeURIComponent(location.pathname + location.search + location.hash)}`; return; }
    if (!r.ok) return;
    const me = await r.json();
    window.rtccUser = me;
    for (const p of me.permissions) document.documentElement.classList.add('can-' + p.replace(':', '-'));
    document.documentElement.dataset.role = me.role;
    const bar = document.querySelector('.topbar') || document.body;
    const box = el('span', { id: 'user-box', class: 'user-box' },
      el('span', { id: 'user-name', title: `role: ${me.role}` }, `${me.name} · ${me.role}`));
    if (me.permissions.includes('alpr:read') && me.via === 'session') {
      const label = me.purpose ? `ALPR: ${me.purpose.case_number}` : 'ALPR: state purpose';
      const btn = el('button', { type: 'button', id: 'purpose-btn', class: me.purpose ? 'purpose set' : 'purpose',
        title: me.purpose ? `Reason: ${me.purpose.reason}` : 'Plate data needs a reason and case number' }, label);
      let dlg = null;
      btn.addEventListener('click', () => { dlg = dlg || purposeDialog(me); dlg.showModal(); });
      box.append(btn);
    }
    if (me.permissions.includes('audit:read') && !document.querySelector('.nav a[href="/audit"]')) {
      document.querySelector('.nav')?.append(el('a', { href: '/audit' }, 'Audit'));
    }
    if (me.via === 'session') {
      const out = el('form', { method: 'post', action: '/logout', class: 'logout' },
        el('button', { type: 'submit', id: 'logout-btn' }, 'Sign out'));
      out.addEventListener('submit', async e => { e.preventDefault(); await fetch('/logout', { method: 'POST' }); location.href = '/login'; });
      box.append(out);
    }
    bar.append(box);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
