// The map's layers, all derived from the layer catalog (GET /api/layers): the basemap is our own
// streets / districts / beats tiles (no internet), every other catalog layer is a vector-tile layer
// styled from its catalog Style, and time-aware layers follow the time window through `datetime=`.

const DRAW_ORDER = ['reference', 'analysis', 'assets', 'events'];
// Layers shown on first visit (later visits remember the analyst's choice).
const DEFAULT_ON = new Set(['districts', 'beats', 'streets', 'cad_incidents', 'calls', 'gunshots', 'cameras',
  'units', 'stations', 'tasks', 'water', 'parks', 'neighborhoods']);
const BASEMAP = new Set(['districts', 'beats', 'streets', 'neighborhoods', 'water', 'parks']);
// Basemap colours per theme (the catalog colour is the dark theme's); the page's theme switch picks one.
export const THEMES = {
  dark: { background: '#0a0f15', water: '#123a5e', parks: '#16351f', streets: '#adb5bd', label: '#ced4da', halo: '#0a0f15' },
  light: { background: '#f1f3f5', water: '#a5d8ff', parks: '#b2f2bb', streets: '#868e96', label: '#212529', halo: '#ffffff' },
};
// Street names: main roads (state highway classes) from the layer's label zoom less one, the rest from it.
const MAJOR = ['FWY', 'INT', 'PART', 'MART'];

// The fonts of the labels (glyphs built at setup from Debian's DejaVu, served by /glyphs).
const LABEL_FONTS = { regular: 'DejaVu Sans', bold: 'DejaVu Sans Bold' };

export const mlId = (id, part = '') => `cat:${id}${part ? ':' + part : ''}`;

/** The catalog colour, or a match on the style's `by` property (units by status, incidents by priority). */
export function colorExpr(st) {
  if (!st.by || !st.categories || !st.categories.length) return st.color;
  const m = ['match', ['to-string', ['get', st.by]]];
  for (const [value, colour] of st.categories) m.push(value, colour);
  return [...m, st.color];
}

/** A canvas-drawn marker for "symbol" layers: no sprite or glyph server is needed offline. */
function markerImage(color, shape) {
  const s = 40, c = document.createElement('canvas');
  c.width = c.height = s;
  const g = c.getContext('2d');
  g.fillStyle = color; g.strokeStyle = '#0b1016'; g.lineWidth = 4;
  g.beginPath();
  if (shape === 'arrow') { g.moveTo(20, 3); g.lineTo(35, 35); g.lineTo(20, 27); g.lineTo(5, 35); g.closePath(); }
  else if (shape === 'diamond') { g.moveTo(20, 3); g.lineTo(37, 20); g.lineTo(20, 37); g.lineTo(3, 20); g.closePath(); }
  else { g.roundRect(5, 5, 30, 30, 7); }
  g.fill(); g.stroke();
  g.fillStyle = '#ffffff'; g.beginPath(); g.arc(20, shape === 'arrow' ? 22 : 20, 4.5, 0, 2 * Math.PI); g.fill();
  return { width: s, height: s, data: new Uint8Array(g.getImageData(0, 0, s, s).data.buffer) };
}

/** The hexbin colour ramp as [ln(1 + count), colour] stops: the paint and the legend's scale share it. */
export function heatRamp(st) { return [[0, '#1c3d5a'], [1.5, '#1971c2'], [3, '#fab005'], [5, st.color]]; }

function countProp(layer) {
  const p = layer.properties.find(p => ['count', 'n', 'events'].includes(p.name));
  return p ? p.name : null;
}

/** The label layer of a catalog layer whose style names a `label` property (needs the glyph server). */
function labelLayers(layer, base) {
  const st = layer.style;
  if (!st.label || !labelLayers.glyphs) return [];
  const line = layer.geometry_type.endsWith('LineString');
  const street = layer.id === 'streets';
  const bold = layer.id === 'districts';
  return [{ ...base, id: mlId(layer.id, 'label'), type: 'symbol',
    minzoom: Math.max(layer.minzoom, street ? st.label_minzoom - 1 : st.label_minzoom),
    maxzoom: line ? 24 : 15.5, // area names repeat once per tile: past z15 the street names say where you are
    filter: street ? ['any', ['>=', ['zoom'], st.label_minzoom], ['in', ['get', 'sha_class'], ['literal', MAJOR]]] : true,
    layout: { ...base.layout, 'text-field': ['get', st.label], 'text-font': [bold ? LABEL_FONTS.bold : LABEL_FONTS.regular],
      'symbol-placement': line ? 'line' : 'point', 'text-max-width': 8,
      'text-size': street ? ['interpolate', ['linear'], ['zoom'], 13, 10, 18, 14] : (bold ? 14 : 12),
      'text-transform': bold ? 'uppercase' : 'none', 'text-letter-spacing': bold ? 0.1 : 0,
      ...(line ? { 'symbol-spacing': 300 } : { 'text-padding': 6 }) },
    paint: { 'text-color': THEMES.dark.label, 'text-halo-color': THEMES.dark.halo, 'text-halo-width': 1.5,
      'text-opacity': bold ? 0.55 : 0.9 } }];
}

/** MapLibre style layers for one catalog layer (one or two: fills get an outline). */
export function styleLayers(layer, sourceLayer, visible) {
  const st = layer.style, src = mlId(layer.id), vis = visible ? 'visible' : 'none';
  const base = { source: src, 'source-layer': sourceLayer, minzoom: layer.minzoom, maxzoom: layer.maxzoom + 1,
    layout: { visibility: vis }, metadata: { catalog: layer.id } };
  const cnt = countProp(layer);
  if (layer.id === 'water' || layer.id === 'parks') {  // basemap areas: flat fill, no outline
    return [{ ...base, id: mlId(layer.id), type: 'fill', paint: { 'fill-color': THEMES.dark[layer.id], 'fill-opacity': 0.9 } },
      ...labelLayers(layer, base)];
  }
  if (st.kind === 'fill') {
    const fillOpacity = cnt ? ['interpolate', ['linear'], ['ln', ['+', 1, ['to-number', ['get', cnt], 0]]], 0, 0.05, 6, 0.75]
      : (BASEMAP.has(layer.id) ? 0.35 : 0.07);
    return [
      { ...base, id: mlId(layer.id), type: 'fill', paint: { 'fill-color': st.color, 'fill-opacity': fillOpacity } },
      { ...base, id: mlId(layer.id, 'outline'), type: 'line',
        paint: { 'line-color': st.outline || st.color, 'line-width': 1, 'line-opacity': BASEMAP.has(layer.id) ? 0.8 : 0.4 } },
    ];
  }
  if (st.kind === 'line') {
    const street = layer.id === 'streets';
    const width = street
      ? ['interpolate', ['exponential', 1.6], ['zoom'], 10, 0.3, 14, 1.4, 17, 6]
      : ['interpolate', ['linear'], ['zoom'], 9, 1, 15, 2.5];
    const paint = { 'line-color': st.color, 'line-width': width,
      'line-opacity': street ? ['interpolate', ['linear'], ['zoom'], 10, 0.25, 15, 0.55] : 0.9 };
    if (layer.id === 'beats') paint['line-dasharray'] = [3, 2];
    if (layer.id === 'districts') { paint['line-color'] = '#5c7cfa'; paint['line-width'] = 2; paint['line-opacity'] = 0.7; }
    return [{ ...base, id: mlId(layer.id), type: 'line', layout: { ...base.layout, 'line-join': 'round' }, paint },
      ...labelLayers(layer, base)];
  }
  if (st.kind === 'heatmap' && layer.geometry_type !== 'Point') {
    // Aggregates (H3 hexbins): a colour ramp over ln(count), dark blue → yellow → the catalog colour.
    const v = ['ln', ['+', 1, ['to-number', ['get', cnt || 'count'], 0]]];
    return [
      { ...base, id: mlId(layer.id), type: 'fill', paint: {
        'fill-color': ['interpolate', ['linear'], v, ...heatRamp(st).flat()],
        'fill-opacity': ['interpolate', ['linear'], v, 0, 0.25, 4, 0.7] } },
      { ...base, id: mlId(layer.id, 'outline'), type: 'line', paint: { 'line-color': '#0a0f15', 'line-width': 0.5, 'line-opacity': 0.6 } },
    ];
  }
  if (st.kind === 'heatmap') {
    return [{ ...base, id: mlId(layer.id), type: 'heatmap', paint: { 'heatmap-radius': 18, 'heatmap-opacity': 0.8 } }];
  }
  if (st.kind === 'symbol') {
    const heading = layer.properties.some(p => p.name === 'heading_deg');
    return [{ ...base, id: mlId(layer.id), type: 'symbol',
      layout: { ...base.layout, 'icon-allow-overlap': true,
        'icon-image': st.by && st.categories?.length
          ? ['coalesce', ['image', ['concat', `marker:${layer.id}:`, ['to-string', ['get', st.by]]]], ['image', `marker:${layer.id}`]]
          : `marker:${layer.id}`,
        'icon-size': ['interpolate', ['linear'], ['zoom'], 10, 0.55, 16, 1],
        ...(heading ? { 'icon-rotate': ['coalesce', ['to-number', ['get', 'heading_deg']], 0],
          'icon-rotation-alignment': 'map' } : {}) } }];
  }
  // circle: events and assets; thinned at low zoom by the tile server, so radius grows with zoom.
  // Thinned low-zoom tiles carry `count` (points merged into one): the radius grows with ln(count).
  const events = layer.group === 'events';
  const k = ['+', 1, ['*', 0.4, ['ln', ['max', 1, ['to-number', ['get', 'count'], 1]]]]];
  const f = st.by === 'priority' ? ['match', ['to-string', ['get', 'priority']], '1', 1.35, 1] : 1;
  return [{ ...base, id: mlId(layer.id), type: 'circle', paint: {
    'circle-color': colorExpr(st),
    // P1 incidents draw a third larger, so they stand out of a dense cluster at any zoom (zoom must
    // stay the top-level interpolation: the factor goes inside each stop)
    'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, ['*', f, k, events ? 2 : 1.5], 14, ['*', f, k, events ? 4.5 : 3.5], 17, ['*', f, 8]],
    'circle-opacity': 0.9, 'circle-stroke-color': '#0b1016', 'circle-stroke-width': 0.8 } }];
}

export class CatalogLayers {
  constructor(map, catalog) {
    this.map = map;
    this.catalog = catalog;
    const ground = l => (l.id === 'water' || l.id === 'parks' ? 0 : 1); // areas under the streets
    this.layers = [...catalog.layers].sort((a, b) =>
      DRAW_ORDER.indexOf(a.group) - DRAW_ORDER.indexOf(b.group) || ground(a) - ground(b));
    this.tilesOk = !!catalog.services.tiles;
    this.datetime = null;
    this.version = {};
    const saved = JSON.parse(localStorage.getItem('rtcc.layers') || 'null');
    this.visible = new Map(this.layers.map(l => [l.id, saved && l.id in saved ? saved[l.id] : DEFAULT_ON.has(l.id)]));
  }

  timeAware(layer) { return !!layer.time_column && layer.group !== 'assets'; }

  tileUrl(layer) {
    const q = new URLSearchParams();
    if (this.datetime && this.timeAware(layer)) q.set('datetime', this.datetime);
    if (this.version[layer.id]) q.set('v', this.version[layer.id]);
    const qs = q.toString();
    return `${location.origin}${layer.tiles}${qs ? '?' + qs : ''}`;
  }

  /** Add every catalog layer's source and style layers below the overlays (beforeId). The catalog
   * names the layer inside each tile (`source_layer`, as its TileJSON does): no TileJSON round trip
   * stands between the page and its first tiles. */
  addAll(beforeId) {
    if (!this.tilesOk) return;
    labelLayers.glyphs = !!this.catalog.services.glyphs;
    for (const l of this.layers) {
      if (l.style.kind === 'symbol' && !this.map.hasImage(`marker:${l.id}`)) {
        const shape = l.properties.some(p => p.name === 'heading_deg') ? 'arrow' : (l.id === 'tasks' ? 'diamond' : 'square');
        this.map.addImage(`marker:${l.id}`, markerImage(l.style.color, shape), { pixelRatio: 2 });
        for (const [value, colour] of l.style.categories || []) {
          this.map.addImage(`marker:${l.id}:${value}`, markerImage(colour, shape), { pixelRatio: 2 });
        }
      }
      this.map.addSource(mlId(l.id), { type: 'vector', tiles: [this.tileUrl(l)], minzoom: 0, maxzoom: 16,
        attribution: BASEMAP.has(l.id) ? 'City of Baltimore / Open Baltimore' : undefined });
      for (const sl of styleLayers(l, l.source_layer || l.id, this.visible.get(l.id))) this.map.addLayer(sl, beforeId);
    }
  }

  setVisible(id, on) {
    this.visible.set(id, on);
    localStorage.setItem('rtcc.layers', JSON.stringify(Object.fromEntries(this.visible)));
    for (const part of ['', 'outline', 'label']) {
      const lid = mlId(id, part);
      if (this.map.getLayer(lid)) this.map.setLayoutProperty(lid, 'visibility', on ? 'visible' : 'none');
    }
  }

  /** The time window changed: point every time-aware source at the new datetime= interval. */
  setDatetime(dt) {
    if (dt === this.datetime) return;
    this.datetime = dt;
    for (const l of this.layers) if (this.timeAware(l)) this.refresh(l.id, false);
  }

  /** Re-request a layer's tiles (after live changes); bump=false only re-applies the URL. */
  refresh(id, bump = true) {
    const l = this.layers.find(x => x.id === id);
    const src = l && this.map.getSource(mlId(id));
    if (!src) return;
    if (bump) this.version[id] = Date.now().toString(36);
    src.setTiles([this.tileUrl(l)]);
  }

  /** Style layer ids of visible, clickable point layers of a group (events, analysis). */
  clickable(groups) {
    return this.layers.filter(l => groups.includes(l.group) && l.geometry_type === 'Point')
      .map(l => mlId(l.id)).filter(id => this.map.getLayer(id));
  }
}

/** Switch the basemap's colours (dark for the RTCC room, light for daylight and print). */
export function applyTheme(map, name) {
  const t = THEMES[name] || THEMES.dark;
  const set = (id, prop, v) => { if (map.getLayer(id)) map.setPaintProperty(id, prop, v); };
  set('background', 'background-color', t.background);
  set(mlId('water'), 'fill-color', t.water);
  set(mlId('parks'), 'fill-color', t.parks);
  set(mlId('streets'), 'line-color', t.streets);
  for (const l of map.getStyle().layers) {
    if (l.type === 'symbol' && l.id.endsWith(':label')) { set(l.id, 'text-color', t.label); set(l.id, 'text-halo-color', t.halo); }
  }
}
