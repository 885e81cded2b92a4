// The layer panel and legend, generated from the catalog: one row per layer, its catalog
// colour/kind/icon as the swatch, a toggle, and a hint when the current zoom hides it.
import { h } from './util.js';

const GROUPS = { events: 'Events', assets: 'Assets', analysis: 'Analysis', reference: 'Basemap & reference' };

function swatch(style) {
  const el = h(`span.swatch.${style.kind}`, { 'aria-hidden': 'true' });
  el.style.setProperty('--c', style.color);
  el.style.setProperty('--o', style.outline || style.color);
  if (style.icon && document.documentElement.dataset.emoji === 'yes') el.append(h('span.glyph', style.icon));
  return el;
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
        l.time_column && l.group !== 'assets' ? h('span.timed', { title: 'follows the time window' }, '◷') : null));
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
