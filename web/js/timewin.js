// The time window: last 1 h / 24 h / 7 d (or more) ending now ("live"), or a past window chosen
// on the replay slider. Tile layers follow it through an RFC 3339 interval in `datetime=`.
import { h, fmtTime } from './util.js';

export const WINDOWS = [['1h', 3600e3, '1 h'], ['24h', 86400e3, '24 h'], ['7d', 7 * 86400e3, '7 d'],
  ['30d', 30 * 86400e3, '30 d'], ['1y', 365 * 86400e3, '1 y'], ['all', null, 'All']];
const STEPS = 1000;
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
    this.slider = h('input#replay', { type: 'range', min: 0, max: STEPS, value: STEPS, step: 1,
      'aria-label': 'Replay: end of the time window', oninput: () => this.fromSlider() });
    this.label = h('output#replay-label', 'LIVE');
    this.liveBtn = h('button#live-btn.live', { type: 'button', title: 'Back to live', onclick: () => this.goLive() }, '● LIVE');
    this.playBtn = h('button#play-btn', { type: 'button', title: 'Replay forward', 'aria-label': 'Play replay',
      onclick: () => this.togglePlay() }, '▶');
    root.replaceChildren(h('div.wins', { role: 'group', 'aria-label': 'Time window' }, this.buttons),
      h('div.replay', this.playBtn, this.slider, this.label, this.liveBtn));
    setInterval(() => { if (this.end === null) this.emit(); }, 60e3); // live windows slide every minute
    this.sync();
  }

  get live() { return this.end === null; }
  get span() { return (WINDOWS.find(w => w[0] === this.win) || WINDOWS[1])[1]; }

  /** The current window as [startMs|null, endMs] and its datetime= value (null: no filter). */
  current() {
    // Live windows slide in steps of 1/288 of their span (at least a minute): tile URLs, and so the
    // server's and the browser's tile caches, stay the same between steps.
    const q = Math.max(60e3, (this.span ?? 0) / 288);
    const end = this.end ?? Math.floor(Date.now() / q) * q;
    const start = this.span == null ? null : end - this.span;
    let datetime = null;
    if (this.live) datetime = start == null ? null : `${iso(start)}/..`;
    else datetime = `${start == null ? '..' : iso(start)}/${iso(end)}`;
    return { start, end, live: this.live, datetime, win: this.win };
  }

  setWindow(k) {
    this.win = k;
    localStorage.setItem('rtcc.window', k);
    this.sync(); this.emit();
  }

  fromSlider() {
    const v = +this.slider.value;
    if (v >= STEPS) { this.goLive(); return; }
    const now = Date.now();
    this.end = Math.round(this.min + (now - this.min) * v / STEPS);
    this.sync(); this.emit();
  }

  goLive() { this.end = null; this.stopPlay(); this.sync(); this.emit(); }

  togglePlay() {
    if (this.playing) { this.stopPlay(); return; }
    if (this.live) { this.end = Date.now() - (this.span ?? 30 * 86400e3) * 4; }
    this.playBtn.textContent = '❚❚';
    this.playing = setInterval(() => {
      const step = (this.span ?? 30 * 86400e3) / 4;
      this.end += step;
      if (this.end >= Date.now()) { this.goLive(); return; }
      this.sync(); this.emit();
    }, 1500);
  }

  stopPlay() { clearInterval(this.playing); this.playing = null; this.playBtn.textContent = '▶'; }

  sync() {
    for (const b of this.buttons) b.setAttribute('aria-pressed', String(b.dataset.win === this.win));
    const now = Date.now();
    if (this.live) { this.slider.value = STEPS; this.label.textContent = 'LIVE'; }
    else {
      this.slider.value = Math.round(STEPS * (this.end - this.min) / Math.max(1, now - this.min));
      this.label.textContent = `to ${fmtTime(new Date(this.end).toISOString(), true)}`;
    }
    this.liveBtn.classList.toggle('on', this.live);
    document.body.dataset.timeWindow = this.win;
    document.body.dataset.live = String(this.live);
  }

  emit() { this.onChange(this.current()); }
}
