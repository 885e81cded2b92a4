// How the map is shown: a dark theme for the RTCC room and a light one for daylight and print;
// and a wall-display mode for the video wall (large type, panels hidden, the map pans to each new
// P1 incident by itself: nobody sits at a wall to click). Both are remembered on this machine, and
// `?wall=1` in the URL starts a wall screen directly.
import { applyTheme } from './maplayers.js';

export class Display {
  constructor({ map, themeBtn, wallBtn }) {
    Object.assign(this, { map, themeBtn, wallBtn });
    this.theme = localStorage.getItem('rtcc.theme') || 'dark';
    const q = new URLSearchParams(location.search);
    this.wall = q.has('wall') ? q.get('wall') !== '0' : localStorage.getItem('rtcc.wall') === '1';
    themeBtn.addEventListener('click', () => this.setTheme(this.theme === 'dark' ? 'light' : 'dark'));
    wallBtn.addEventListener('click', () => this.setWall(!this.wall));
    document.addEventListener('keydown', e => { if (e.key === 'Escape' && this.wall && !document.querySelector('dialog[open]')) this.setWall(false); });
  }

  /** Apply the remembered choices once the map's layers exist. */
  apply() { this.setTheme(this.theme); this.setWall(this.wall); }

  setTheme(name) {
    this.theme = name;
    localStorage.setItem('rtcc.theme', name);
    document.body.classList.toggle('light', name === 'light');
    document.documentElement.style.colorScheme = name;
    this.themeBtn.textContent = name === 'light' ? '☾' : '☀';
    this.themeBtn.title = name === 'light' ? 'Dark theme' : 'Light theme';
    applyTheme(this.map, name);
  }

  setWall(on) {
    this.wall = on;
    localStorage.setItem('rtcc.wall', on ? '1' : '0');
    document.body.classList.toggle('wall', on);
    this.wallBtn.setAttribute('aria-pressed', String(on));
    setTimeout(() => this.map.resize(), 50);
  }

  /** A new urgent incident: on a wall screen the map goes to it (the banner says what it is). */
  urgent(ev) {
    if (this.wall && ev.lon != null) this.map.flyTo({ center: [ev.lon, ev.lat], zoom: Math.max(this.map.getZoom(), 15), duration: 1500 });
  }
}
