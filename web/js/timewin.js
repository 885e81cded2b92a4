// The time window: last 1 h / 24 h / 7 d (or more) ending now ("live"), or a replay of that window
// on the slider: it spans the chosen window (an hour, a shift, a day…) at one-minute steps, and the
// map shows what happened from the window's start up to the slider's minute. Tile layers follow it
// through an RFC 3339 interval in `datetime=`.
import { h, fmtTime } from './util.js';

export const WINDOWS = [['1h', 3600e3, '1 h'], ['24h', 86400e3, '24 h'], ['7d', 7 * 86400e3, '7 d'],
  ['30d', 30 * 86400e3, '30 d'], ['1y', 365 * 86400e3, '1 y'], ['all', null, 'All']];
const MINUTE = 60e3;
const iso = ms => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export class TimeWindow {
  constructor(root, timeRange, onChange) {
    this.onChange = onChange;
    this.win = localStorage.getItem('rtcc.window') || '24h';
    this.end = null; // null = live (now)
    this.min = timeRange && timeRange.min ? Date.parse(timeRange.min) : Date.now() - 365 * 86400e3;
    this.playing = null;
    this.buttons = WINDOWS.map(([k, , label]) => h('button.win', { type: 'button', 'data-win': k,
      'aria-pressed': String(k === this.win), onclick: () => this.setWindow(k) }, label));
    this.rangeEnd = null; // the replayed window is [rangeEnd - span, rangeEnd], fixed while replaying
    this.slider = h('input#replay', { type: 'range', min: 0, max: 1, value: 1, step: 1,
      'aria-label': 'Replay: minute of the time window', oninput: () => this.fromSlider() });
    this.label = h('output#replay-label', 'LIVE');
    this.note = h('output#replay-count.muted'); // what the replay feed counts (replay.js)
    this.liveBtn = h('button#live-btn.live', { type: 'button', title: 'Back to live', onclick: () => this.goLive() }, '● LIVE');
    this.playBtn = h('button#play-btn', { type: 'button', title: 'Replay forward', 'aria-label': 'Play replay',
      onclick: () => this.togglePlay() }, '▶');
    root.replaceChildren(h('div.wins', { role: 'group', 'aria-label': 'Time window' }, this.buttons),
      h('div.replay', this.playBtn, this.slider, this.label, this.note, this.liveBtn));
    setInterval(() => { if (this.end === null) this.emit(); }, 60e3); // live windows slide every minute
    this.sync();
  }

  get live() { return this.end === null; }
  get span() { return (WINDOWS.find(w => w[0] === this.win) || WINDOWS[1])[1]; }

  /** The replayed range [start|null, end] in ms: the chosen window ending when the replay began. */
  range() {
    const end = this.rangeEnd ?? Math.floor(Date.now() / MINUTE) * MINUTE;
    return [this.span == null ? Math.floor(this.min / MINUTE) * MINUTE : end - this.span, end];
  }

  /** The current window as [startMs|null, endMs] and its datetime= value (null: no filter). */
  current() {
    if (!this.live) {
      const [start] = this.range();
      return { start, end: this.end, live: false, datetime: `${iso(start)}/${iso(this.end)}`, win: this.win };
    }
    // Live windows slide in steps of 1/288 of their span (at least a minute): tile URLs, and so the
    // server's and the browser's tile caches, stay the same between steps.
    const q = Math.max(MINUTE, (this.span ?? 0) / 288);
    const end = Math.floor(Date.now() / q) * q;
    const start = this.span == null ? null : end - this.span;
    const datetime = start == null ? null : `${iso(start)}/..`;
    return { start, end, live: true, datetime, win: this.win };
  }

  setWindow(k) {
    this.win = k;
    localStorage.setItem('rtcc.window', k);
    if (!this.live) {
      const [a, b] = this.range();
      this.end = Math.min(Math.max(this.end, a), b);
    }
    this.sync(); this.emit();
  }

  fromSlider() {
    const v = +this.slider.value;
    if (v >= +this.slider.max) { this.goLive(); return; }
    if (this.live) this.rangeEnd = Math.floor(Date.now() / MINUTE) * MINUTE;
    this.end = this.range()[0] + v * MINUTE;
    this.sync(); this.emit();
  }

  goLive() { this.end = null; this.rangeEnd = null; this.stopPlay(); this.sync(); this.emit(); }

  togglePlay() {
    if (this.playing) { this.stopPlay(); return; }
    if (this.live) { this.rangeEnd = Math.floor(Date.now() / MINUTE) * MINUTE; this.end = this.range()[0]; }
    this.playBtn.textContent = '❚❚';
    this.playing = setInterval(() => {
      // one minute per tick for short windows; a long window still replays in about a minute
      const [a, b] = this.range();
      this.end += Math.max(1, Math.round((b - a) / MINUTE / 240)) * MINUTE;
      if (this.end >= b) { this.goLive(); return; }
      this.sync(); this.emit();
    }, 250);
  }

  stopPlay() { clearInterval(this.playing); this.playing = null; this.playBtn.textContent = '▶'; }

  sync() {
    for (const b of this.buttons) b.setAttribute('aria-pressed', String(b.dataset.win === this.win));
    const [a, b] = this.range();
    this.slider.max = String(Math.max(1, Math.round((b - a) / MINUTE)));
    if (this.live) { this.slider.value = this.slider.max; this.label.textContent = 'LIVE'; }
    else {
      this.slider.value = String(Math.round((this.end - a) / MINUTE));
      this.label.textContent = `${fmtTime(new Date(a).toISOString(), true)} → ${fmtTime(new Date(this.end).toISOString(), true)}`;
    }
    this.liveBtn.classList.toggle('on', this.live);
    document.body.dataset.timeWindow = this.win;
    document.body.dataset.live = String(this.live);
  }

  emit() { this.onChange(this.current()); }

  setNote(text) { this.note.textContent = this.live ? '' : text; }

  /** The window in words, for printed maps: 'last 24 h' or 'window to 03 Dec 2026, 10:00:00'. */
  describe() {
    const label = (WINDOWS.find(w => w[0] === this.win) || WINDOWS[1])[2];
    return this.live ? `time window: last ${label}` : `time window: ${label} to ${fmtTime(new Date(this.end).toISOString(), true)}`;
  }
}
