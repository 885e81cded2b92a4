// Drawing a geofence on the map with terra-draw (its MapLibre adapter), loaded on first use; the
// polygon is saved with POST /api/geofences, which answers a bad shape with a sentence.
import { getJSON, toast } from './util.js';

function script(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src; s.onload = resolve; s.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.append(s);
  });
}

export class GeofenceDrawer {
  constructor({ map, button, onSaved }) {
    Object.assign(this, { map, button, onSaved });
    this.draw = null;
    button.addEventListener('click', () => (this.active ? this.stop() : this.start()));
  }

  async ensure() {
    if (this.draw) return this.draw;
    if (!window.terraDraw) await script('/vendor/terra-draw/terra-draw.umd.js');
    if (!window.terraDrawMaplibreGlAdapter) await script('/vendor/terra-draw-maplibre-gl-adapter/terra-draw-maplibre-gl-adapter.umd.js');
    const { TerraDraw, TerraDrawPolygonMode } = window.terraDraw;
    this.draw = new TerraDraw({
      adapter: new window.terraDrawMaplibreGlAdapter.TerraDrawMapLibreGLAdapter({ map: this.map }),
      modes: [new TerraDrawPolygonMode({ styles: { fillColor: '#e8590c', outlineColor: '#d9480f', fillOpacity: 0.25 } })],
    });
    this.draw.on('finish', id => this.finished(id));
    return this.draw;
  }

  async start() {
    try { await this.ensure(); } catch (e) { toast(String(e.message || e), 'error'); return; }
    this.draw.start();
    this.draw.setMode('polygon');
    this.active = true;
    this.button.setAttribute('aria-pressed', 'true');
    toast('Click the corners of the geofence; click the first corner again to finish.', 'info', 6000);
  }

  stop() {
    this.draw?.clear();
    this.draw?.stop();
    this.active = false;
    this.button.setAttribute('aria-pressed', 'false');
  }

  /** Save a finished polygon (also callable with a GeoJSON geometry, e.g. from tests or an upload). */
  async save(geometry, name, props = {}) {
    const r = await getJSON('/api/geofences', { method: 'POST', body: JSON.stringify({ name, geometry, ...props }) });
    if (!r.ok) { toast(`Geofence not saved: ${r.error}`, 'error', 8000); return null; }
    toast(`Geofence "${name}" saved`, 'info');
    this.onSaved?.(r.data);
    return r.data;
  }

  async finished(id) {
    const f = this.draw.getSnapshot().find(x => x.id === id);
    const name = f && window.prompt('Name of the geofence (rules refer to it by name):');
    if (f && name) {
      const hours = window.prompt('Active hours, local time (e.g. 22:00-06:00); empty = always:', '') || null;
      await this.save(f.geometry, name, { active_hours: hours });
    }
    this.stop();
  }
}
