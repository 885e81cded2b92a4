// The layer panel and legend, generated from the catalog: one row per layer, its catalog
// colour/kind/icon as the swatch, a toggle, and a hint when the current zoom hides it.
import { h } from './util.js';
import { heatRamp } from './maplayers.js';

const GROUPS = { events: 'Events', assets: 'Assets', analysis: 'Analysis', reference: 'Basemap & reference' };

function swatch(style) {
  const el = h(`span.swatch.${style.kind}`, { 'aria-hidden': 'true' });
  el.style.setProperty('--c', style.color);
  el.style.setProperty('--o', style.outline || style.color);
  if (style.icon && document.documentElement.dataset.emoji === 'yes') el.append(h('span.glyph', style.icon));
  return el;
}

/** The legend of a layer coloured by a property: one chip per value. */
function categories(l) {
  const cats = l.style.categories || [];
  if (!cats.length) return null;
  return h('ul.legend-cats', { 'aria-label': `${l.title} by ${l.style.by}` }, cats.map(([value, colour, label]) => {
    const dot = h('span.cat-dot', { 'aria-hidden': 'true' });
    dot.style.setProperty('--c', colour);
    return h('li', { 'data-value': value }, dot, label);
  }));
}

/** A heat layer's colour scale: the ramp as a gradient bar with the event counts at its stops. */
function colourScale(l) {
  if (l.style.kind !== 'heatmap' || l.geometry_type === 'Point') return null;
  const ramp = heatRamp(l.style);
  const bar = h('span.scale-bar', { 'aria-hidden': 'true' });
  const last = ramp[ramp.length - 1][0];
  bar.style.background = `linear-gradient(90deg, ${ramp.map(([v, c]) => `${c} ${(100 * v / last).toFixed(0)}%`).join(', ')})`;
  return h('div.colour-scale', { 'aria-label': `${l.title}: events per cell` }, bar,
    h('span.scale-ticks', ramp.map(([v]) => h('span', String(Math.round(Math.expm1(v)))))), h('span.scale-unit', 'events per cell'));
}

export function buildLayerPanel(root, catalog, layers, map) {
  root.replaceChildren();
  if (!catalog.services.tiles) {
    root.append(h('p.notice', 'Tile service not running on this server: layers are listed, the live overlay still works.'));
  }
  for (const [group, title] of Object.entries(GROUPS)) {
    const items = catalog.layers.filter(l => l.group === group);
    if (!items.length) continue;
    const list = h('ul.layer-list');
    for (const l of items) {
      const id = `lyr-${l.id}`;
      const box = h('input', { type: 'checkbox', id, checked: layers.visible.get(l.id), 'data-layer': l.id,
        onchange: e => layers.setVisible(l.id, e.target.checked) });
      const zoomHint = h('span.zoomhint', { title: `visible from zoom ${l.minzoom}` }, `z${l.minzoom}+`);
      list.append(h('li.layer', { 'data-layer': l.id, 'data-minzoom': l.minzoom, title: l.description },
        box, h('label', { for: id }, swatch(l.style), h('span.lname', l.title)),
        l.minzoom > 0 ? zoomHint : null,
        l.time_column && l.group !== 'assets' ? h('span.timed', { title: 'follows the time window' }, '◷') : null,
        categories(l), colourScale(l)));
    }
    root.append(h('section.layer-group', h('h3', title), list));
  }
  const updateZoom = () => {
    const z = map.getZoom();
    for (const li of root.querySelectorAll('li.layer')) li.classList.toggle('outzoom', z < +li.dataset.minzoom);
  };
  map.on('zoomend', updateZoom);
  updateZoom();
}
