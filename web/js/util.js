// Small shared helpers: fetch with timeout, DOM building, time and distance formatting, geodesy.

/** fetch JSON; never throws: {ok, status, data, error} so callers degrade with a message. */
export async function getJSON(url, opts = {}) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), opts.timeout ?? 15000);
  try {
    const r = await fetch(url, { ...opts, signal: opts.signal ?? ctl.signal,
      headers: { Accept: 'application/json', ...(opts.body ? { 'Content-Type': 'application/json' } : {}), ...(opts.headers || {}) } });
    let data = null;
    const txt = await r.text();
    try { data = txt ? JSON.parse(txt) : null; } catch { data = null; }
    if (!r.ok) return { ok: false, status: r.status, data, error: (data && data.detail) || `${r.status} ${r.statusText}` };
    return { ok: true, status: r.status, data };
  } catch (e) {
    return { ok: false, status: 0, data: null, error: e.name === 'AbortError' ? 'request timed out' : String(e.message || e) };
  } finally { clearTimeout(timer); }
}

/** h('div.cls#id', {attr}, ...children): tiny element builder (text is always escaped). */
export function h(tag, attrs, ...kids) {
  const m = /^([a-z0-9]+)?((?:[.#][\w-]+)*)$/i.exec(tag);
  const el = document.createElement(m[1] || 'div');
  for (const part of (m[2] || '').match(/[.#][\w-]+/g) || []) {
    if (part[0] === '.') el.classList.add(part.slice(1)); else el.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) { kids.unshift(attrs); attrs = null; }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat(Infinity)) {
    if (k == null || k === false) continue;
    el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

let _tz = undefined;
const _formats = new Map(); // one Intl.DateTimeFormat per (zone, with date): making one costs ~1 ms
export function setTimeZone(tz) { _tz = tz; }
export function fmtTime(iso, withDate = false) {
  if (!iso) return '';
  const key = `${_tz}|${withDate}`;
  let f = _formats.get(key);
  if (!f) {
    const opt = { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, timeZone: _tz };
    if (withDate) Object.assign(opt, { year: 'numeric', month: 'short', day: '2-digit' });
    f = new Intl.DateTimeFormat('en-GB', opt);
    _formats.set(key, f);
  }
  return f.format(new Date(iso));
}
export function fmtAgo(iso) {
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400 * 2) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
export const fmtDist = m => m == null ? '–' : (m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(1)} km`);
export function fmtEta(s) {
  if (s == null) return '–';
  const t = Math.round(s), m = Math.floor(t / 60), r = t % 60; // round first: 839.6 s is 14 min 00 s, not 13 min 60 s
  return m ? `${m} min ${String(r).padStart(2, '0')} s` : `${r} s`;
}
export function fmtDuration(mins) {
  if (mins == null) return '–';
  const h = Math.floor(mins / 60), m = Math.round(mins % 60);
  return h ? `${h} h ${String(m).padStart(2, '0')}` : `${m} min`;
}

const R = 6371008.8; // mean Earth radius, metres
const rad = d => d * Math.PI / 180, deg = r => r * 180 / Math.PI;

/** Point at `dist` metres on bearing `brg` degrees (clockwise from north) from [lon, lat] (sphere). */
export function destination([lon, lat], brg, dist) {
  const d = dist / R, b = rad(brg), p1 = rad(lat), l1 = rad(lon);
  const p2 = Math.asin(Math.sin(p1) * Math.cos(d) + Math.cos(p1) * Math.sin(d) * Math.cos(b));
  const l2 = l1 + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(p1), Math.cos(d) - Math.sin(p1) * Math.sin(p2));
  return [deg(l2), deg(p2)];
}

/** A camera's view cone: heading ± fov/2 out to range metres, or a circle with no heading. */
export function viewCone(center, heading, fov, range) {
  const ring = [];
  if (heading == null || fov == null || fov >= 360) {
    for (let i = 0; i <= 48; i++) ring.push(destination(center, i * 7.5, range));
  } else {
    ring.push(center);
    for (let i = 0; i <= 16; i++) ring.push(destination(center, heading - fov / 2 + fov * i / 16, range));
    ring.push(center);
  }
  return { type: 'Polygon', coordinates: [ring] };
}

export function debounce(fn, ms) {
  let t; return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}
export function throttle(fn, ms) {
  let last = 0, t = null;
  return (...a) => {
    const now = Date.now(), wait = last + ms - now;
    if (wait <= 0) { last = now; fn(...a); }
    else if (!t) t = setTimeout(() => { t = null; last = Date.now(); fn(...a); }, wait);
  };
}

export function toast(msg, kind = 'info', ms = 4000) {
  let box = document.getElementById('toasts');
  if (!box) { box = h('div#toasts', { role: 'status', 'aria-live': 'polite' }); document.body.append(box); }
  const el = h(`div.toast.${kind}`, msg);
  box.append(el);
  setTimeout(() => el.remove(), ms);
}

/** Colour emoji available? (headless/kiosk machines often lack the font): else show letters. */
export function emojiSupported() {
  try {
    const c = document.createElement('canvas'); c.width = c.height = 20;
    const g = c.getContext('2d', { willReadFrequently: true });
    g.textBaseline = 'top'; g.font = '16px sans-serif'; g.fillText('\u{1F6A8}', 0, 0);
    const d = g.getImageData(0, 0, 20, 20).data;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] && (Math.abs(d[i] - d[i + 1]) > 30 || Math.abs(d[i + 1] - d[i + 2]) > 30)) return true;
  } catch { /* no canvas: assume not */ }
  return false;
}

/** The glyph for a kind badge: the catalog's emoji, or the title's initial without an emoji font. */
export function glyph(icon, title) {
  if (icon && document.documentElement.dataset.emoji === 'yes') return icon;
  return (title || '?').trim().charAt(0).toUpperCase();
}
