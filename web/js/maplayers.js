// The map's layers, all derived from the layer catalog (GET /api/layers): the basemap is our own
// streets / districts / beats tiles (no internet), every other catalog layer is a vector-tile layer
// styled from its catalog Style, and time-aware layers follow the time window through `datetime=`.

const DRAW_ORDER = ['reference', 'analysis', 'assets', 'events'];
// Layers shown on first visit (later visits remember the analyst's choice).
const DEFAULT_ON = new Set(['districts', 'beats', 'streets', 'cad_incidents', 'calls', 'gunshots', 'cameras',
  'units', 'stations', 'tasks']);
const BASEMAP = new Set(['districts', 'beats', 'streets', 'neighborhoods']);

export const mlId = (id, part = '') => `cat:${id}${part ? ':' + part : ''}`;

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

function countProp(layer) {
  const p = layer.properties.find(p => ['count', 'n', 'events'].includes(p.name));
  return p ? p.name : null;
}

/** MapLibre style layers for one catalog layer (one or two: fills get an outline). */
export function styleLayers(layer, sourceLayer, visible) {
  const st = layer.style, src = mlId(layer.id), vis = visible ? 'visible' : 'none';
  const base = { source: src, 'source-layer': sourceLayer, minzoom: layer.minzoom, maxzoom: layer.maxzoom + 1,
    layout: { visibility: vis }, metadata: { catalog: layer.id } };
  const cnt = countProp(layer);
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
    return [{ ...base, id: mlId(layer.id), type: 'line', layout: { ...base.layout, 'line-join': 'round' }, paint }];
  }
  if (st.kind === 'heatmap' && layer.geometry_type !== 'Point') {
    // Aggregates (H3 hexbins): a colour ramp over ln(count), dark blue → yellow → the catalog colour.
    const v = ['ln', ['+', 1, ['to-number', ['get', cnt || 'count'], 0]]];
    return [
      { ...base, id: mlId(layer.id), type: 'fill', paint: {
        'fill-color': ['interpolate', ['linear'], v, 0, '#1c3d5a', 1.5, '#1971c2', 3, '#fab005', 5, st.color],
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
      layout: { ...base.layout, 'icon-image': `marker:${layer.id}`, 'icon-allow-overlap': true,
        'icon-size': ['interpolate', ['linear'], ['zoom'], 10, 0.55, 16, 1],
        ...(heading ? { 'icon-rotate': ['coalesce', ['to-number', ['get', 'heading_deg']], 0],
          'icon-rotation-alignment': 'map' } : {}) } }];
  }
  // circle: events and assets; thinned at low zoom by the tile server, so radius grows with zoom.
  // Thinned low-zoom tiles carry `count` (points merged into one): the radius grows with ln(count).
  const events = layer.group === 'events';
  const k = ['+', 1, ['*', 0.4, ['ln', ['max', 1, ['to-number', ['get', 'count'], 1]]]]];
  return [{ ...base, id: mlId(layer.id), type: 'circle', paint: {
    'circle-color': st.color,
    'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, ['*', k, events ? 2 : 1.5], 14, ['*', k, events ? 4.5 : 3.5], 17, 8],
    'circle-opacity': 0.9, 'circle-stroke-color': '#0b1016', 'circle-stroke-width': 0.8 } }];
}

export class CatalogLayers {
  constructor(map, catalog) {
    this.map = map;
    this.catalog = catalog;
    this.layers = [...catalog.layers].sort((a, b) =>
      DRAW_ORDER.indexOf(a.group) - DRAW_ORDER.indexOf(b.group));
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

  /** Add every catalog layer's source and style layers below the overlays (beforeId). */
  async addAll(beforeId) {
    if (!this.tilesOk) return;
    // TileJSON names the MVT layer inside each tile; fetched in parallel, never blocking the map.
    const names = await Promise.all(this.layers.map(async l => {
      if (!this.catalog.services.tilejson) return l.id;
      try {
        const r = await fetch(l.tilejson);
        if (!r.ok) return l.id;
        const tj = await r.json();
        return (tj.vector_layers && tj.vector_layers[0] && tj.vector_layers[0].id) || l.id;
      } catch { return l.id; }
    }));
    this.layers.forEach((l, i) => {
      if (l.style.kind === 'symbol' && !this.map.hasImage(`marker:${l.id}`)) {
        const shape = l.properties.some(p => p.name === 'heading_deg') ? 'arrow' : (l.id === 'tasks' ? 'diamond' : 'square');
        this.map.addImage(`marker:${l.id}`, markerImage(l.style.color, shape), { pixelRatio: 2 });
      }
      this.map.addSource(mlId(l.id), { type: 'vector', tiles: [this.tileUrl(l)], minzoom: 0, maxzoom: 16,
        attribution: BASEMAP.has(l.id) ? 'City of Baltimore / Open Baltimore' : undefined });
      for (const sl of styleLayers(l, names[i], this.visible.get(l.id))) this.map.addLayer(sl, beforeId);
    });
  }

  setVisible(id, on) {
    this.visible.set(id, on);
    localStorage.setItem('rtcc.layers', JSON.stringify(Object.fromEntries(this.visible)));
    for (const part of ['', 'outline']) {
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
