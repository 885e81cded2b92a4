// Shareable state: what the analyst has open lives in the URL hash beside the map position
// (`#map=z/lat/lon&incident=123`, `camera=ID`, `unit=ID`, `address=TEXT`, `point=lon,lat`, and
// `alert=ID` for the alerts module), so a copied link opens the same view. One selection at a time.
const KEYS = new Set();
const handlers = new Map();

/** A module says how to reopen its selection: fn(value) is called when the page opens on it. */
export function register(key, fn) { KEYS.add(key); handlers.set(key, fn); }

function params() { return new URLSearchParams(location.hash.replace(/^#/, '')); }

function write(p) {
  const s = p.toString().replace(/%2F/gi, '/').replace(/%2C/gi, ',');
  history.replaceState(history.state, '', `${location.pathname}${location.search}${s ? '#' + s : ''}`);
}

/** Record the selection (replaces any other selection key). */
export function select(key, value) {
  const p = params();
  for (const k of KEYS) p.delete(k);
  if (value != null && value !== '') p.set(key, String(value));
  write(p);
}

export function clear() { select(null, null); }

/** Open a selection as if its link had been followed (e.g. a unit card's assigned incident). */
export function open(key, value) { return handlers.get(key)?.(String(value)); }

/** Reopen the selection named in the URL, if any (after the map and modules are ready). */
export async function restore() {
  const p = params();
  for (const [key, fn] of handlers) {
    const v = p.get(key);
    if (v != null && v !== '') { await fn(v); return key; }
  }
  return null;
}
