// Attention without hijack: new incidents never replace what the analyst is looking at. They
// queue in the feed (a count badge of unseen ones); a P1 incident raises a banner (and, when
// switched on, a short tone) that the analyst opens with one key or click. Keys: n / p walk the
// feed, Enter or o opens the banner's incident, ? lists the shortcuts.
import { h, $ } from './util.js';

export const SHORTCUTS = [
  ['/', 'search an address, intersection or plate'],
  ['n', 'next incident in the feed (older)'],
  ['p', 'previous incident in the feed (newer)'],
  ['o  or  Enter', 'open the incident in the banner'],
  ['Esc', 'dismiss the banner, close the panel'],
  ['?', 'this list'],
];

/** An event that deserves a banner: a priority-1 incident or a gunshot (always urgent). */
export function isUrgent(ev) {
  return ev.kind === 'gunshot' || (ev.priority != null && Number(ev.priority) === 1 && ev.kind !== 'alpr_read');
}

export class Attention {
  constructor({ bannerEl, badgeEl, soundEl, feedEl, onOpen, onUrgent }) {
    Object.assign(this, { bannerEl, badgeEl, soundEl, feedEl, onOpen, onUrgent });
    this.pending = null;      // the event the banner offers
    this.unseen = new Set();  // ids of incidents queued and not yet opened
    this.cursor = null;       // id of the feed row n/p last moved to
    this.badgeEl.addEventListener('click', () => this.step(+1, { newestUnseen: true }));
    document.addEventListener('keydown', e => this.onKey(e));
    this.renderBadge();
  }

  /** A new incident arrived on the live stream. */
  queued(ev, urgent) {
    this.unseen.add(String(ev.id));
    this.renderBadge();
    if (urgent) this.raise(ev);
  }

  seen(id) {
    if (id == null) return;
    this.unseen.delete(String(id));
    this.feedEl.querySelector(`li[data-id="${CSS.escape(String(id))}"]`)?.classList.remove('unseen');
    this.renderBadge();
  }

  renderBadge() {
    const n = this.unseen.size;
    this.badgeEl.hidden = n === 0;
    this.badgeEl.textContent = `${n} new`;
    this.badgeEl.title = `${n} incident${n === 1 ? '' : 's'} not opened yet (n: next)`;
  }

  /** Offer `ev` in the banner; `open` (default: open it as an incident) runs on Enter or click. */
  raise(ev, what = null, open = null) {
    this.pending = ev;
    this.pendingOpen = open;
    const title = what || ev.title || ev.event_type || ev.kind;
    const where = ev.address || (ev.lat != null ? `${ev.lat.toFixed(5)}, ${ev.lon.toFixed(5)}` : '');
    this.bannerEl.replaceChildren(
      h('span.ab-prio', ev.priority != null ? `P${ev.priority}` : '!'),
      h('span.ab-text', h('strong', title), where ? ` · ${where}` : ''),
      h('button.primary', { type: 'button', onclick: () => this.openPending() }, 'Open (Enter)'),
      h('button', { type: 'button', 'aria-label': 'Dismiss', onclick: () => this.dismiss() }, '✕'));
    this.bannerEl.hidden = false;
    this.bannerEl.dataset.id = String(ev.id ?? '');
    if (this.soundEl?.checked) beep();
    this.onUrgent?.(ev);
  }

  openPending() {
    const ev = this.pending, open = this.pendingOpen;
    this.dismiss();
    if (!ev) return;
    if (open) { open(); return; }
    this.seen(ev.id);
    this.onOpen(ev, { fly: true });
  }

  dismiss() { this.pending = null; this.bannerEl.hidden = true; }

  /** Move through the feed's incidents: +1 older, -1 newer. */
  step(dir, { newestUnseen = false } = {}) {
    const rows = [...this.feedEl.querySelectorAll('li.feed-item:not([hidden])')];
    if (!rows.length) return;
    let i;
    if (newestUnseen) i = rows.findIndex(r => r.classList.contains('unseen'));
    else {
      const at = rows.findIndex(r => r.dataset.id === this.cursor);
      i = at < 0 ? 0 : Math.min(Math.max(at + dir, 0), rows.length - 1);
    }
    if (i < 0) return;
    const row = rows[i];
    this.cursor = row.dataset.id;
    for (const r of rows) r.classList.toggle('cursor', r === row);
    row.scrollIntoView({ block: 'nearest' });
    row.querySelector('button')?.click();
  }

  onKey(e) {
    const t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey || document.querySelector('dialog[open]:not(#shortcuts)')) return;
    if (typingIn(t)) return; // a key typed into the search box or a form is text, not a command
    if (e.key === 'n') { this.step(+1); e.preventDefault(); }
    else if (e.key === 'p') { this.step(-1); e.preventDefault(); }
    else if ((e.key === 'o' || e.key === 'Enter') && this.pending && !(t && t.tagName === 'BUTTON')) { this.openPending(); e.preventDefault(); }
    else if (e.key === 'Escape' && this.pending) this.dismiss();
    else if (e.key === '?') { toggleShortcuts(); e.preventDefault(); }
  }
}

function typingIn(t) {
  if (!t) return false;
  if (t.isContentEditable || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT') return true;
  return t.tagName === 'INPUT' && !['checkbox', 'radio', 'button', 'range', 'submit'].includes(t.type);
}

function toggleShortcuts() {
  let d = $('#shortcuts');
  if (!d) {
    d = h('dialog#shortcuts', { 'aria-labelledby': 'sc-title' },
      h('h2#sc-title', 'Keyboard shortcuts'),
      h('dl.shortcuts', SHORTCUTS.map(([k, v]) => [h('dt', h('kbd', k)), h('dd', v)])),
      h('form', { method: 'dialog' }, h('button', 'Close')));
    document.body.append(d);
  }
  if (d.open) d.close(); else d.showModal();
}

let audio;
/** A short two-tone chime (Web Audio: no sound file to ship). */
function beep() {
  try {
    audio = audio || new AudioContext();
    const t0 = audio.currentTime;
    for (const [f, dt] of [[880, 0], [660, 0.18]]) {
      const o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = f; g.gain.setValueAtTime(0.15, t0 + dt); g.gain.exponentialRampToValueAtTime(0.001, t0 + dt + 0.16);
      o.connect(g).connect(audio.destination); o.start(t0 + dt); o.stop(t0 + dt + 0.17);
    }
  } catch { /* no audio device: the banner is enough */ }
}
