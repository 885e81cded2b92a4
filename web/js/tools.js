// The analyst's map tools, from maintained MapLibre plugins (loaded after the first render, so
// they never delay it): measure distance and area (maplibre-gl-measures) and export or print the
// current view to PNG / PDF (@watergis/maplibre-gl-export) with a title, the time window and the
// legend written on the page (as the export's attribution lines).
import { h } from './util.js';

function script(src) {
  return new Promise((ok, fail) => {
    const s = h('script', { src });
    s.onload = ok; s.onerror = () => fail(new Error(`cannot load ${src}`));
    document.head.append(s);
  });
}

/** The title, time window and legend of an export, as the text lines the plugin prints. */
export function printInfo({ catalog, layers, timeWindow }) {
  const shown = catalog.layers.filter(l => layers.visible.get(l.id) && l.group !== 'reference');
  const legend = shown.map(l => (l.style.categories && l.style.categories.length
    ? `${l.title} (${l.style.categories.map(c => c[2]).join(', ')})` : l.title)).join(' · ');
  const win = timeWindow?.describe ? timeWindow.describe() : '';
  return `RTCC map · ${catalog.agency} · printed ${new Date().toLocaleString()}${win ? ' · ' + win : ''} · ${legend}`;
}

export async function addTools(map, ctx) {
  document.head.append(h('link', { rel: 'stylesheet', href: '/vendor/maplibre-gl-export/maplibre-gl-export.css' }));
  await Promise.all([script('/vendor/maplibre-gl-export/maplibre-gl-export.umd.js'),
    script('/vendor/maplibre-gl-measures/maplibre-gl-measures.js')]);
  const Measures = window.maplibreGLMeasures?.default || window.maplibreGLMeasures;
  map.addControl(new Measures({
    units: 'metric',
    lang: { lengthMeasurementButtonTitle: 'Measure length', areaMeasurementButtonTitle: 'Measure area',
      clearMeasurementsButtonTitle: 'Clear measurements' },
    style: { text: { font: 'DejaVu Sans Bold', color: '#fff3bf', haloColor: '#000000', haloWidth: 1.5 } },
  }), 'top-right');
  // The export prints every source's attribution: one source carries the title, window and legend.
  map.addSource('print-info', { type: 'geojson', data: { type: 'FeatureCollection', features: [] }, attribution: printInfo(ctx) });
  const { MaplibreExportControl, Size, PageOrientation, Format, DPI } = window.MaplibreExportControl;
  const exporter = new MaplibreExportControl({
    PageSize: Size.LETTER, PageOrientation: PageOrientation.Landscape, Format: Format.PNG, DPI: DPI[96],
    Crosshair: false, PrintableArea: true, Filename: 'rtcc-map',
    attributionOptions: { style: { textSize: 14, textHaloColor: '#ffffff', textHaloWidth: 1, textColor: '#000000',
      fallbackTextFont: ['DejaVu Sans'] }, visibility: 'visible', position: 'bottom-right' },
    northIconOptions: { visibility: 'none' },
  });
  map.addControl(exporter, 'top-right');
  // Keep the printed text current: it says what the analyst sees when they press export.
  const refresh = () => { const src = map.getSource('print-info'); if (src) src.attribution = printInfo(ctx); };
  map.getContainer().addEventListener('pointerdown', e => { if (e.target.closest('.maplibregl-export-control, .maplibregl-ctrl')) refresh(); }, true);
  document.body.dataset.tools = 'ready';
  return exporter;
}
